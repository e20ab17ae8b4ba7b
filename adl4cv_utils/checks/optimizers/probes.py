"""Probes of 02_optimizers: construct the student's optimizer and record what it does to parameters."""

from __future__ import annotations

import inspect

import torch
from torch import nn

from adl4cv_utils.probing import probe, student


def _default(value):
    return None if value is inspect.Parameter.empty else value


@probe("optimizers.interface")
def interface(ns: dict, cls: str, hyper: dict) -> dict:
    """What the class looks like: its base, its constructor's arguments and defaults, its param_groups."""
    klass = student(ns, cls)
    info = {"is_class": isinstance(klass, type), "is_optimizer": False, "arguments": {}, "group": None, "error": ""}
    if not info["is_class"]:
        return info
    info["is_optimizer"] = issubclass(klass, torch.optim.Optimizer)
    try:
        params = inspect.signature(klass.__init__).parameters
        info["arguments"] = {k: _default(p.default) for k, p in params.items() if k != "self"}
        info["has_default"] = {k: p.default is not inspect.Parameter.empty for k, p in params.items() if k != "self"}
    except (TypeError, ValueError) as error:
        info["error"] = f"no signature: {error}"
    try:
        opt = klass([nn.Parameter(torch.zeros(2))], **hyper)
        info["group"] = {k: v for k, v in opt.param_groups[0].items() if k != "params"}
    except Exception as error:  # noqa: BLE001 - reported to the judge as text
        info["error"] = f"{klass.__name__}(params, **{hyper}) raised {type(error).__name__}: {error}"
    return info


@probe("optimizers.trajectory")
def trajectory(ns: dict, cls: str, hyper: dict, start: list, grads: list, group_lrs: list | None = None) -> list:
    """Parameters after every step, when step k sets ``p.grad = grads[k][i]`` (None: no gradient)."""
    params = [nn.Parameter(t.clone()) for t in start]
    arg = params if group_lrs is None else [{"params": [p], "lr": lr} for p, lr in zip(params, group_lrs)]
    opt = student(ns, cls)(arg, **hyper)
    path = []
    for step_grads in grads:
        for p, g in zip(params, step_grads):
            p.grad = None if g is None else g.clone()
        opt.step()
        path.append([p.detach().clone() for p in params])
    return path


@probe("optimizers.training")
def training(ns: dict, cls: str, hyper: dict, state: dict, x, y, batches: list) -> list:
    """Loss before each step of training ``Linear-ReLU-Linear`` (weights ``state``) on the given batches."""
    model = nn.Sequential(
        nn.Linear(x.shape[1], state["0.weight"].shape[0]),
        nn.ReLU(),
        nn.Linear(state["2.weight"].shape[1], state["2.weight"].shape[0]),
    )
    model.load_state_dict(state)
    return train_losses(model, student(ns, cls)(model.parameters(), **hyper), x, y, batches)


def train_losses(model: nn.Module, opt, x: torch.Tensor, y: torch.Tensor, batches) -> list[float]:
    """The cross-entropy loss of each mini-batch (indices into x, y) before ``opt`` steps on it."""
    losses = []
    for idx in batches:
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses
