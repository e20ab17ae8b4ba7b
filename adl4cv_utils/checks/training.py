"""Are a student's Dropout, overfit_one_batch, train_one_epoch and evaluate right? (chapters 5 and 8, 06_training)

The references are plain torch loops written here (``torch.optim.Adam``/``SGD``, ``F.cross_entropy``),
run on copies of the same seeded model and data; nothing is imported from
``adl4cv_utils.training``. Behaviour is checked where it matters: a probe module records whether
the model was in train or eval mode and whether gradients were enabled at each forward call, the
loss function records what it was given, and the mean loss of an epoch with a partial last batch is
compared with the per-sample mean. Dropout is checked statistically on a seeded run with
tolerances of several standard deviations. When an answer differs, the known mistakes of the
lecture ("you forgot to .zero_grad()", "you forgot to toggle train/eval mode", "you passed softmaxed
outputs to a loss that expects raw logits", "people mess up the last batch") are simulated and
named when one matches.
"""

from __future__ import annotations

import copy
import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare, run_check

# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


def _dropout(Dropout, p: float) -> nn.Module:
    layer = Dropout(p)
    if not isinstance(layer, nn.Module):
        raise CheckFailed(f"Dropout({p}) must be an nn.Module, got {type(layer).__name__}")
    return layer


@run_check("dropout in training mode")
def check_dropout_train(Dropout, p: float = 0.3, shape=(100, 200)):
    """In training mode, is a fraction p dropped, the rest scaled by 1/(1-p), fresh each call, with that gradient?"""
    if not 0.0 < p < 1.0:
        raise CheckArgumentError(f"p: expected a probability in (0, 1), got {p!r}")
    torch.manual_seed(0)
    layer = _dropout(Dropout, p).train()
    x = (torch.rand(shape) + 0.5).requires_grad_()  # positive: a zero in the output is a dropped element
    out = layer(x)
    if not torch.is_tensor(out) or tuple(out.shape) != tuple(shape):
        got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise CheckFailed(f"the output must be a tensor of the input's shape {tuple(shape)}", got=got)
    dropped = out.detach() == 0
    frac = float(dropped.float().mean())
    n = dropped.numel()
    tol = 6 * math.sqrt(p * (1 - p) / n) + 1e-3  # six standard deviations of the dropped fraction
    if abs(frac - p) > tol:
        if frac == 0.0:
            hint = "nothing is dropped in training mode: zero each element with probability p"
        elif abs(frac - (1 - p)) <= tol:
            hint = "p is the probability to DROP an element; your layer keeps elements with probability p"
        elif frac == 1.0:
            hint = "everything is dropped"
        else:
            hint = "draw an independent Bernoulli mask per element (torch.rand(x.shape) < p drops)"
        raise CheckFailed(f"with p={p} a fraction {frac:.3f} of the elements is zero; {hint}", expected=p, got=frac)
    rows = dropped.reshape(shape[0], -1)
    if bool((rows == rows[0]).all()):
        raise CheckFailed("every sample gets the same mask: draw one Bernoulli per element, not per feature")
    kept = ~dropped
    ratio = out.detach()[kept] / x.detach()[kept]
    scale = 1 / (1 - p)
    if not torch.allclose(ratio, torch.full_like(ratio, scale), rtol=1e-5, atol=1e-6):
        mean = float(ratio.mean())
        hints = {
            1.0: "kept elements are not scaled: inverted dropout divides them by (1 - p) in training",
            1 / p: "kept elements are divided by p; divide by (1 - p), the probability to keep",
            1 - p: "kept elements are multiplied by (1 - p); inverted dropout divides by (1 - p)",
            p: "kept elements are multiplied by p; inverted dropout divides by (1 - p)",
        }
        hint = next((h for v, h in hints.items() if abs(mean - v) < 1e-4), "")
        raise CheckFailed(
            f"kept elements must be scaled by 1/(1-p) = {scale:.4f}" + (f"; looks like {hint}" if hint else ""),
            expected=scale,
            got=mean,
        )
    again = layer(x.detach()) == 0
    if torch.equal(again, dropped):
        raise CheckFailed("the second call drops exactly the same elements: draw a new mask at every forward call")
    if not out.requires_grad:
        raise CheckFailed("the output is detached from x: no gradient flows back through your Dropout")
    out.sum().backward()
    expected_grad = kept.float() * scale
    diff = compare("the gradient d(out.sum())/dx (mask / (1 - p))", expected_grad, x.grad, 1e-6, 1e-5)
    return f"dropped {frac:.3f} of {n} elements (p={p}), kept ones scaled by {scale:.4f}, right gradient", diff


@run_check("dropout in eval mode and with p=0")
def check_dropout_eval(Dropout):
    """Is Dropout the identity in eval mode (p=0.5) and in training mode with p=0?"""
    torch.manual_seed(1)
    x = torch.rand(50, 40) + 0.5
    layer = _dropout(Dropout, 0.5).eval()
    out = layer(x)
    try:
        compare("output in eval mode", x, out, 0.0, 0.0)
    except CheckFailed as fail:
        if torch.is_tensor(out) and out.shape == x.shape:
            if torch.allclose(out, x * 0.5):
                fail.message += (
                    "; looks like eval mode scales by (1 - p) (the old, non-inverted dropout): "
                    "inverted dropout already scaled in training, so eval is the identity"
                )
            elif bool((out == 0).any()):
                fail.message += "; elements are dropped in eval mode: only drop when self.training is True"
        raise
    layer = _dropout(Dropout, 0.0).train()
    out = layer(x)
    try:
        compare("output in training mode with p=0", x, out, 0.0, 0.0)
    except CheckFailed as fail:
        fail.message += "; with p=0 nothing may be dropped or scaled"
        raise
    return "identity in eval mode and with p=0"


@run_check("dropout rejects bad p")
def check_dropout_p(Dropout):
    """Does Dropout(p) raise ValueError for p outside [0, 1) and accept 0 and 0.99?"""
    for p in (-0.1, 1.0, 1.5):
        try:
            Dropout(p)
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001 - the student's code may raise anything
            raise CheckFailed(f"Dropout({p}) raised {type(error).__name__}; it must raise ValueError") from error
        raise CheckFailed(f"Dropout({p}) must raise ValueError: p is a probability in [0, 1) (p=1 drops everything)")
    for p in (0.0, 0.99):
        _dropout(Dropout, p)
    return "ValueError for p = -0.1, 1 and 1.5; p = 0 and 0.99 accepted"


# ---------------------------------------------------------------------------------------------
# Models, data and the probe that records the mode
# ---------------------------------------------------------------------------------------------


class ModeProbe(nn.Module):
    """Identity layer that records (training, grad enabled) at each forward call."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return x


def _model(seed: int, in_features=8, classes=3, hidden=16, dropout=False, bn=False) -> nn.Sequential:
    torch.manual_seed(seed)
    layers = [nn.Linear(in_features, hidden)] + ([nn.BatchNorm1d(hidden)] if bn else []) + [nn.ReLU(), ModeProbe()]
    layers += ([nn.Dropout(0.5)] if dropout else []) + [nn.Linear(hidden, classes)]
    return nn.Sequential(*layers)


def _probe(model) -> ModeProbe:
    return next(m for m in model.modules() if isinstance(m, ModeProbe))


def _loader(seed: int, n: int, batch_size: int, in_features=8, classes=3) -> DataLoader:
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_features, generator=gen)
    y = torch.randint(0, classes, (n,), generator=gen)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)


def _float(what: str, value) -> float:
    if torch.is_tensor(value):
        if value.numel() != 1:
            raise CheckFailed(f"{what}: expected a number, got a tensor of shape {tuple(value.shape)}")
        value = value.detach().item()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CheckFailed(f"{what}: expected a float, got {type(value).__name__}")
    return float(value)


def _close(a: float, b: float, tol: float = 1e-5) -> bool:
    return abs(a - b) <= tol * (1 + abs(b))


# ---------------------------------------------------------------------------------------------
# Reference training loops with switchable known mistakes
# ---------------------------------------------------------------------------------------------


def reference_epoch(model, loader, optimizer, loss_fn, mistake: str = "") -> float:
    """One epoch as the contract says; ``mistake`` ('a+b' for several) switches on known mistakes."""
    ms = set(mistake.split("+"))
    if "no_train" not in ms:
        model.train()
    total, count, batch_means, sizes = 0.0, 0, [], []
    for x, y in loader:
        if "no_zero_grad" not in ms:
            optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(torch.softmax(out, dim=1) if "softmax" in ms else out, y)
        loss.backward()
        if "no_step" not in ms:
            optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
        batch_means.append(loss.item())
        sizes.append(len(y))
    if "equal_weight" in ms:
        return sum(batch_means) / len(batch_means)
    if "nominal" in ms:
        return total / (loader.batch_size * len(batch_means))
    if "drop_last" in ms:
        return sum(m * k for m, k in zip(batch_means[:-1], sizes[:-1])) / sum(sizes[:-1])
    return total / count


TRAIN_MISTAKES = {
    "no_zero_grad": "gradients accumulate over the batches: call optimizer.zero_grad() before loss.backward()",
    "softmax": "softmax is applied before a loss that takes logits (F.cross_entropy): pass the raw model output",
    "no_step": "the parameters do not change: call optimizer.step() after loss.backward()",
    "equal_weight": "the batch means are averaged with equal weight; the partial last batch has fewer samples: "
    "sum loss * batch size and divide by the number of samples",
    "nominal": "the total is divided by the nominal batch size times the number of batches; the last batch "
    "is partial: divide by the number of samples seen",
    "drop_last": "the partial last batch is left out of the mean",
}


def _train_case(seed: int, n: int, batch_size: int, lr: float, **model_kwargs):
    model = _model(seed, **model_kwargs)
    return model, _loader(seed + 100, n, batch_size), lambda m: torch.optim.SGD(m.parameters(), lr=lr)


def _diagnose_train(model0, loader, make_opt, got_loss, got_params, mistakes) -> str:
    """The known mistake (or pair of mistakes) whose loss and parameters match the student's, or ''."""
    pairs = [f"{a}+{b}" for i, a in enumerate(mistakes) for b in mistakes[i + 1 :]]
    for mistake in list(mistakes) + pairs:
        m = copy.deepcopy(model0)
        loss = reference_epoch(m, loader, make_opt(m), F.cross_entropy, mistake)
        same_params = all(torch.allclose(a, b, atol=1e-5, rtol=1e-4) for a, b in zip(m.parameters(), got_params))
        if _close(loss, got_loss, 1e-4) and same_params:
            return " and ".join(TRAIN_MISTAKES[m] for m in mistake.split("+"))
    return ""


def _run_train(train_one_epoch, seed, n, batch_size, lr, mistakes, prefill_grad=False, **model_kwargs):
    model0, loader, make_opt = _train_case(seed, n, batch_size, lr, **model_kwargs)
    ref, mine = copy.deepcopy(model0), copy.deepcopy(model0)
    expected = reference_epoch(ref, loader, make_opt(ref), F.cross_entropy)
    if prefill_grad:  # leftover gradients from earlier code, as after an evaluation with backward
        for p in mine.parameters():
            p.grad = torch.full_like(p, 3.0)
    got = _float("train_one_epoch's return value", train_one_epoch(mine, loader, make_opt(mine), F.cross_entropy))
    hint = ""
    wrong_params = not all(
        torch.allclose(a, b, atol=1e-5, rtol=1e-4) for a, b in zip(mine.parameters(), ref.parameters())
    )
    if wrong_params or not _close(got, expected):
        hint = _diagnose_train(model0, loader, make_opt, got, list(mine.parameters()), mistakes)
        if prefill_grad and not hint and wrong_params:
            hint = (
                "the model arrived with leftover gradients in .grad and they were added to the first step: "
                "call optimizer.zero_grad() before every loss.backward()"
            )
    where = f"{n} samples in batches of {batch_size}"
    if wrong_params:
        name, a, b = next(
            (name, a, b)
            for (name, a), b in zip(mine.named_parameters(), ref.parameters())
            if not torch.allclose(a, b, atol=1e-5, rtol=1e-4)
        )
        raise CheckFailed(
            f"after one epoch ({where}) parameter {name} differs from the reference"
            + (f"; looks like {hint}" if hint else ""),
            expected=b.detach(),
            got=a.detach(),
            max_diff=float((a - b).detach().abs().max()),
        )
    if not _close(got, expected):
        raise CheckFailed(
            f"the returned mean loss ({where}) differs" + (f"; looks like {hint}" if hint else ""), expected, got
        )
    return abs(got - expected)


# ---------------------------------------------------------------------------------------------
# train_one_epoch checks
# ---------------------------------------------------------------------------------------------


@run_check("train_one_epoch: loss and parameters")
def check_train_epoch(train_one_epoch, seed: int = 0):
    """Do one epoch's mean loss and the parameters after it match a plain torch loop (SGD, same seed)?"""
    diff = _run_train(train_one_epoch, seed, 40, 8, 0.1, ("no_zero_grad", "softmax", "no_step"))
    return "mean loss and parameters match the reference loop", diff


@run_check("train_one_epoch: gradients do not accumulate")
def check_train_zero_grad(train_one_epoch):
    """With leftover gradients in .grad at the start, is every step taken with that batch's gradient only?"""
    diff = _run_train(train_one_epoch, 1, 24, 6, 0.1, ("no_zero_grad",), prefill_grad=True)
    return "every step uses only its own batch's gradient", diff


@run_check("train_one_epoch: partial last batch")
def check_train_partial_batch(train_one_epoch):
    """With 10 samples in batches of 4 (4, 4, 2), is the returned loss the mean over the 10 samples?"""
    diff = _run_train(train_one_epoch, 2, 10, 4, 0.0, ("equal_weight", "nominal", "drop_last"))
    return "the partial last batch is weighted by its 2 samples", diff


@run_check("train_one_epoch: train mode")
def check_train_mode(train_one_epoch):
    """Is a model that arrives in eval mode (dropout off) switched to train mode for every step, and left there?"""
    model0, loader, make_opt = _train_case(3, 12, 4, 0.1, dropout=True)
    model = copy.deepcopy(model0).eval()
    train_one_epoch(model, loader, make_opt(model), F.cross_entropy)
    calls = _probe(model).calls
    if not calls:
        raise CheckFailed("the model was never called")
    if not all(training for training, _ in calls):
        raise CheckFailed(
            "the model was in eval mode during training (dropout and BatchNorm behave as at test time): "
            "call model.train() at the start of train_one_epoch",
            expected="training=True at every forward call",
            got=[training for training, _ in calls],
        )
    if not model.training:
        raise CheckFailed("after train_one_epoch the model must be in train mode (it was switched back to eval)")
    return f"train mode at all {len(calls)} forward calls"


@run_check("train_one_epoch: logits into the loss")
def check_train_logits(train_one_epoch):
    """Does the loss function receive the model's raw output (logits), not softmax probabilities?"""
    model0, loader, make_opt = _train_case(4, 12, 4, 0.1)
    model = copy.deepcopy(model0)
    outputs, inputs = [], []
    model.register_forward_hook(lambda module, args, out: outputs.append(out.detach().clone()))

    def loss_fn(pred, target):
        inputs.append(pred.detach().clone())
        return F.cross_entropy(pred, target)

    train_one_epoch(model, loader, make_opt(model), loss_fn)
    if len(inputs) != len(loader) or len(outputs) < len(inputs):
        raise CheckFailed(f"expected loss_fn to be called once per batch ({len(loader)} times), got {len(inputs)}")
    for i, (out, given) in enumerate(zip(outputs, inputs)):
        if given.shape == out.shape and torch.allclose(given, out, atol=1e-6):
            continue
        hint = ""
        if given.shape == out.shape and torch.allclose(given, torch.softmax(out, dim=1), atol=1e-6):
            hint = "; looks like softmax is applied before a loss that takes logits: pass the raw model output"
        elif given.shape == out.shape and torch.allclose(given, torch.log_softmax(out, dim=1), atol=1e-6):
            hint = "; looks like log_softmax is applied before F.cross_entropy, which applies it itself"
        raise CheckFailed(f"batch {i}: loss_fn did not get the model's output{hint}", expected=out, got=given)
    return f"loss_fn got the raw logits in all {len(inputs)} batches"


# ---------------------------------------------------------------------------------------------
# evaluate checks
# ---------------------------------------------------------------------------------------------


def reference_evaluate(model, loader, loss_fn):
    was = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            total += loss_fn(out, y).item() * len(y)
            correct += int((out.argmax(dim=1) == y).sum())
            count += len(y)
    model.train(was)
    return total / count, correct / count


def _eval_variants(model, loader):
    model = copy.deepcopy(model).eval()
    means, accs, sizes, correct = [], [], [], 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            means.append(F.cross_entropy(out, y).item())
            accs.append(float((out.argmax(1) == y).float().mean()))
            sizes.append(len(y))
            correct += int((out.argmax(1) == y).sum())
    nominal = loader.batch_size * len(sizes)
    soft = reference_evaluate(copy.deepcopy(model), loader, lambda o, y: F.cross_entropy(torch.softmax(o, 1), y))
    return {
        "loss": {
            TRAIN_MISTAKES["equal_weight"]: sum(means) / len(means),
            TRAIN_MISTAKES["nominal"]: sum(m * s for m, s in zip(means, sizes)) / nominal,
            TRAIN_MISTAKES["softmax"]: soft[0],
        },
        "accuracy": {
            "the accuracy is the number of right answers; return the fraction (right / number of samples)": correct,
            "the accuracy divides by the nominal batch size times the number of batches; divide by the number "
            "of samples": correct / nominal,
            "the per-batch accuracies are averaged with equal weight; the partial last batch has fewer samples": sum(
                accs
            )
            / len(accs),
        },
    }


@run_check("evaluate: loss and accuracy")
def check_evaluate_values(evaluate, seed: int = 0):
    """On 10 samples in batches of 4 (4, 4, 2), are the mean loss and the accuracy over the samples right?"""
    model = _model(seed + 10)
    loader = _loader(seed + 110, 10, 4)
    expected = reference_evaluate(copy.deepcopy(model), loader, F.cross_entropy)
    out = evaluate(copy.deepcopy(model), loader, F.cross_entropy)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"evaluate must return (mean loss, accuracy), got {type(out).__name__}")
    got = (_float("mean loss", out[0]), _float("accuracy", out[1]))
    variants = _eval_variants(model, loader)
    for i, what in enumerate(("loss", "accuracy")):
        if not _close(got[i], expected[i]):
            hint = next((h for h, v in variants[what].items() if _close(got[i], v, 1e-4)), "")
            raise CheckFailed(
                f"the {'mean loss' if i == 0 else 'accuracy'} over 10 samples in batches of 4 differs"
                + (f"; looks like {hint}" if hint else ""),
                expected[i],
                got[i],
            )
    return f"loss {got[0]:.4f} and accuracy {got[1]:.2f} as the reference", max(
        abs(a - b) for a, b in zip(got, expected)
    )


@run_check("evaluate: eval mode, no gradients, mode restored")
def check_evaluate_mode(evaluate):
    """Does evaluate run in eval mode without gradients, leave BatchNorm's statistics alone and restore the mode?"""
    loader = _loader(20, 12, 4)
    for start_training in (True, False):
        model = _model(20, dropout=True, bn=True).train(start_training)
        before = copy.deepcopy(model.state_dict())
        first = evaluate(model, loader, F.cross_entropy)
        calls = _probe(model).calls
        if not calls:
            raise CheckFailed("the model was never called")
        if any(training for training, _ in calls):
            raise CheckFailed(
                "the model was in train mode during evaluation (dropout drops, BatchNorm uses batch statistics): "
                "call model.eval() first",
                expected="training=False at every forward call",
                got=[training for training, _ in calls],
            )
        if any(grad for _, grad in calls):
            raise CheckFailed("gradients were enabled during evaluation: wrap the loop in torch.no_grad()")
        for name, value in model.state_dict().items():
            if not torch.equal(value, before[name]):
                raise CheckFailed(f"evaluate changed {name}: evaluation must not change the model")
        if model.training != start_training:
            raise CheckFailed(
                f"the model came in {'train' if start_training else 'eval'} mode and left in "
                f"{'train' if model.training else 'eval'} mode: remember model.training and restore it "
                "with model.train(was_training)"
            )
        if evaluate(model, loader, F.cross_entropy) != first:
            raise CheckFailed("two evaluations of the same model give different results (is dropout still on?)")
    return "eval mode and no gradients at every call, model unchanged, mode restored"


# ---------------------------------------------------------------------------------------------
# overfit_one_batch(model, batch, lr=1e-2, steps=200) -> list of losses
# ---------------------------------------------------------------------------------------------


def reference_overfit(model, batch, lr=1e-2, steps=200, mistake: str = "") -> list[float]:
    x, y = batch
    model.train()
    opt = (torch.optim.SGD if mistake == "sgd" else torch.optim.Adam)(
        model.parameters(), lr=1e-3 if mistake == "default_lr" else lr
    )
    losses = []
    for _ in range(steps):
        if mistake != "no_zero_grad":
            opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(torch.softmax(out, 1) if mistake == "softmax" else out, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    if mistake == "after_step":
        with torch.no_grad():
            losses = losses[1:] + [F.cross_entropy(model(x), y).item()]
    return losses


OVERFIT_MISTAKES = {
    "no_zero_grad": "gradients accumulate over the steps: call optimizer.zero_grad() before loss.backward()",
    "softmax": "softmax is applied before F.cross_entropy, which takes logits",
    "sgd": "the optimizer is SGD; the contract uses torch.optim.Adam(model.parameters(), lr=lr)",
    "default_lr": "lr is not passed to the optimizer (Adam's default 1e-3 is used)",
    "after_step": "losses[t] is measured after the update; record the loss computed before optimizer.step()",
}


def _batch(seed: int, n: int):
    """n random 64-dimensional inputs with random labels out of 10: memorisable, nothing to generalise."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 64, generator=gen), torch.randint(0, 10, (n,), generator=gen)


def _overfit_model(seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def _losses(out, steps) -> torch.Tensor:
    if not isinstance(out, (list, tuple)):
        raise CheckFailed(f"overfit_one_batch must return a list of losses, got {type(out).__name__}")
    if len(out) != steps:
        raise CheckFailed(f"expected one loss per step ({steps}), got {len(out)}")
    if any(torch.is_tensor(v) and v.requires_grad for v in out):
        raise CheckFailed("the losses are tensors with their graphs: store loss.item() (a float) instead")
    return torch.tensor([_float(f"losses[{i}]", v) for i, v in enumerate(out)], dtype=torch.float64)


@run_check("overfit_one_batch: loss curve")
def check_overfit_curve(overfit_one_batch, lr: float = 1e-2, steps: int = 25):
    """Does the loss curve match Adam(lr) + F.cross_entropy on the same batch, and is the model itself trained?"""
    if steps < 2:
        raise CheckArgumentError(f"steps: expected at least 2, got {steps!r}")
    batch = _batch(0, 8)
    model0 = _overfit_model(0)
    ref, mine = copy.deepcopy(model0), copy.deepcopy(model0)
    expected = torch.tensor(reference_overfit(ref, batch, lr, steps), dtype=torch.float64)
    got = _losses(overfit_one_batch(mine, (batch[0].clone(), batch[1].clone()), lr=lr, steps=steps), steps)
    try:
        diff = compare("loss curve", expected, got, atol=1e-5, rtol=1e-4)
    except CheckFailed as fail:
        first = int(((got - expected).abs() > 1e-5 + 1e-4 * expected.abs()).float().argmax())
        fail.message = (
            f"the loss curve leaves the reference at step {first} ({got[first]:.5f} vs {expected[first]:.5f})"
        )
        for mistake, hint in OVERFIT_MISTAKES.items():
            variant = torch.tensor(reference_overfit(copy.deepcopy(model0), batch, lr, steps, mistake), dtype=got.dtype)
            if torch.allclose(variant, got, atol=1e-5, rtol=1e-4):
                fail.message += f"; looks like {hint}"
                break
        raise
    if any(torch.equal(a, b) for a, b in zip(mine.parameters(), model0.parameters())):
        raise CheckFailed("the model passed in was not trained: train `model` itself, not a copy")
    return f"{steps} steps, loss {got[0]:.3f} -> {got[-1]:.4f} as the reference", diff


@run_check("overfit_one_batch: reaches near-zero loss")
def check_overfit_reaches_zero(overfit_one_batch):
    """With the defaults, does a small MLP memorise 16 random samples (final loss below 0.01)?"""
    batch = _batch(1, 16)
    got = _losses(overfit_one_batch(_overfit_model(1), batch), 200)
    if not got[-1] < 0.01:
        raise CheckFailed(
            "the final loss after 200 steps should be below 0.01: one batch can be memorised", "< 0.01", float(got[-1])
        )
    return f"loss {got[0]:.3f} -> {got[-1]:.2e} in 200 steps"
