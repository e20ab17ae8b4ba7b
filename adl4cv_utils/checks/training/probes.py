"""Probes of 06_training: run the student's Dropout and loops on the judge's models and data, and record.

Models are built from a plain spec (``build_model``) and the judge's weights, so the judge can build
the same model on its side. A ``ModeRecorder`` layer inside the model records, at every forward call,
whether the model was in train mode and whether gradients were enabled; a recording loss function
records what it was given. Nothing here trains, evaluates or decides: the judge does that.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from adl4cv_utils.checks.fixtures import ModeProbe
from adl4cv_utils.probing import probe, student


def own_rng(fn):
    """Run probe ``fn`` on a forked RNG: in the grading kernel the notebook's random state stays as it was."""

    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        with torch.random.fork_rng():
            return fn(*args, **kwargs)

    return wrapped


ModeRecorder = ModeProbe  # the self-checks' mode-recording layer, under the name the probes use


def build_model(spec: dict) -> nn.Sequential:
    """Linear - [BatchNorm1d] - ReLU - ModeRecorder - [Dropout(0.5)] - Linear, sized by ``spec``."""
    for key in ("in_features", "hidden", "classes"):
        if type(spec.get(key)) is not int or spec[key] < 1:
            raise ValueError(f"spec: {key!r} must be a positive int, got {spec.get(key)!r}")
    hidden = spec["hidden"]
    layers = [nn.Linear(spec["in_features"], hidden)]
    layers += [nn.BatchNorm1d(hidden)] if spec.get("bn") else []
    layers += [nn.ReLU(), ModeRecorder()]
    layers += [nn.Dropout(0.5)] if spec.get("dropout") else []
    layers += [nn.Linear(hidden, spec["classes"])]
    return nn.Sequential(*layers)


def _model(spec: dict, state: dict, train: bool) -> tuple[nn.Sequential, ModeRecorder]:
    model = build_model(spec)
    model.load_state_dict(state)
    model.train(train)
    return model, next(m for m in model.modules() if isinstance(m, ModeRecorder))


def _state(model: nn.Module) -> dict:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _raw(value):
    """``value`` as it is when it is plain data; a tensor without its graph; otherwise its type's name."""
    if torch.is_tensor(value):
        return value.detach().clone()
    if isinstance(value, tuple):
        return tuple(_raw(v) for v in value)
    if isinstance(value, list):
        return [_raw(v) for v in value]
    if value is None or type(value) in (bool, int, float, str):
        return value
    return f"<{type(value).__name__}>"


@probe("training.dropout")
@own_rng
def dropout(ns: dict, p: float, x, grad_out, seed: int, train: bool = True) -> dict:
    """Dropout(p) in train/eval mode called twice on ``x`` (the RNG seeded), backward of the first output."""
    torch.manual_seed(seed)
    layer = student(ns, "Dropout")(p)
    info = {"module": isinstance(layer, nn.Module)}
    if not info["module"]:
        return info
    layer.train(train)
    x = x.clone().requires_grad_()
    out = layer(x)
    info["out"] = _raw(out)
    info["requires_grad"] = bool(torch.is_tensor(out) and out.requires_grad)
    info["again"] = _raw(layer(x.detach().clone()))
    if info["requires_grad"] and tuple(out.shape) == tuple(grad_out.shape):
        out.backward(grad_out)
        info["grad"] = None if x.grad is None else x.grad.detach().clone()
    return info


@probe("training.dropout_construct")
@own_rng
def dropout_construct(ns: dict, ps: list) -> list:
    """For every p: "ok" when Dropout(p) returned, else the name of the exception it raised."""
    klass = student(ns, "Dropout")
    out = []
    for p in ps:
        try:
            klass(p)
            out.append("ok")
        except Exception as error:  # noqa: BLE001 - the judge wants to know which exception
            out.append(type(error).__name__)
    return out


@probe("training.overfit")
@own_rng
def overfit(ns: dict, spec: dict, state: dict, x, y, lr=None, steps=None, train: bool = True) -> dict:
    """overfit_one_batch(model, (x, y)[, lr=lr, steps=steps]): its return value, the weights after, the modes."""
    model, recorder = _model(spec, state, train)
    kwargs = {k: v for k, v in (("lr", lr), ("steps", steps)) if v is not None}
    losses = student(ns, "overfit_one_batch")(model, (x.clone(), y.clone()), **kwargs)
    return {"losses": _raw(losses), "state": _state(model), "calls": recorder.calls}


def _loader(x, y, batch_size: int) -> DataLoader:
    return DataLoader(TensorDataset(x.clone(), y.clone()), batch_size=batch_size, shuffle=False)


@probe("training.train_epoch")
@own_rng
def train_epoch(
    ns: dict, spec: dict, state: dict, x, y, batch_size: int, lr: float, prefill=None, train: bool = True
) -> dict:
    """train_one_epoch with SGD(lr): return value, weights after, modes, what the loss got, the model's outputs."""
    model, recorder = _model(spec, state, train)
    if prefill is not None:  # leftover gradients from earlier code
        for p in model.parameters():
            p.grad = torch.full_like(p, float(prefill))
    outputs, given = [], []
    model.register_forward_hook(lambda module, args, out: outputs.append(out.detach().clone()))

    def loss_fn(pred, target):
        given.append(pred.detach().clone() if torch.is_tensor(pred) else f"<{type(pred).__name__}>")
        return F.cross_entropy(pred, target)

    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    value = student(ns, "train_one_epoch")(model, _loader(x, y, batch_size), optimizer, loss_fn)
    return {
        "value": _raw(value),
        "state": _state(model),
        "calls": recorder.calls,
        "mode": model.training,
        "loss_inputs": given,
        "outputs": outputs,
    }


@probe("training.evaluate")
@own_rng
def evaluate(ns: dict, spec: dict, state: dict, x, y, batch_size: int, train: bool = False) -> dict:
    """evaluate called twice: both return values, the weights and mode after the first, the modes seen."""
    model, recorder = _model(spec, state, train)
    loader = _loader(x, y, batch_size)
    fn = student(ns, "evaluate")
    first = fn(model, loader, F.cross_entropy)
    info = {"first": _raw(first), "state": _state(model), "mode": model.training, "calls": list(recorder.calls)}
    info["second"] = _raw(fn(model, loader, F.cross_entropy))
    return info
