"""INSTRUCTOR ONLY: the reference loops of 06_training, with switchable known mistakes, for the judge.

``epoch``, ``evaluate`` and ``overfit`` follow docs/contract.md; ``mistake`` ('a+b' for several)
switches on the lecture's known mistakes so that the judge can name the one a student made. The
messages are the self-checks' tables (adl4cv_utils.checks.training). Models and data are built from
the same plain specs the worker's probes use (adl4cv_utils.worker.probes.training.build_model).
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from adl4cv_judge.registry import Context
from adl4cv_utils.checks.result import CheckFailed
from adl4cv_utils.checks.training import OVERFIT_MISTAKES, TRAIN_MISTAKES
from adl4cv_utils.worker.probes.training import build_model

__all__ = ["OVERFIT_MISTAKES", "TRAIN_MISTAKES", "Case", "epoch", "evaluate", "overfit", "eval_variants"]


class Case:
    """A model spec, its weights and a data set, drawn from the run's secret seed."""

    def __init__(self, ctx: Context, salt: str, n: int, classes: int | None = None, **spec):
        gen = ctx.generator("case:" + salt)
        self.spec = {
            "in_features": int(torch.randint(6, 17, (1,), generator=gen)),
            "hidden": int(torch.randint(12, 33, (1,), generator=gen)),
            "classes": classes or int(torch.randint(3, 7, (1,), generator=gen)),
            **spec,
        }
        with torch.random.fork_rng():
            torch.manual_seed(int(torch.randint(0, 2**31 - 1, (1,), generator=gen)))
            model = build_model(self.spec)
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.x = torch.randn(n, self.spec["in_features"], generator=gen)
        self.y = torch.randint(0, self.spec["classes"], (n,), generator=gen)

    def model(self, train: bool = True) -> nn.Sequential:
        model = build_model(self.spec)
        model.load_state_dict(self.state)
        return model.train(train)

    def loader(self, batch_size: int) -> DataLoader:
        return DataLoader(TensorDataset(self.x, self.y), batch_size=batch_size, shuffle=False)


def as_float(what: str, value) -> float:
    """``value`` when it is a Python float (the contract's return type), else CheckFailed naming what it is."""
    if type(value) is float:
        return value
    if torch.is_tensor(value):
        raise CheckFailed(f"{what}: expected a float, got a tensor of shape {tuple(value.shape)}: use .item()")
    raise CheckFailed(f"{what}: expected a float, got {type(value).__name__}", got=repr(value)[:100])


def epoch(model, loader, optimizer, loss_fn, mistake: str = "") -> float:
    """One epoch as the contract says, or with the known mistakes in ``mistake``."""
    ms = set(mistake.split("+"))
    if "no_train" not in ms:
        model.train()
    total, count, means, sizes = 0.0, 0, [], []
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
        means.append(loss.item())
        sizes.append(len(y))
    if "equal_weight" in ms:
        return sum(means) / len(means)
    if "nominal" in ms:
        return total / (loader.batch_size * len(means))
    if "drop_last" in ms:
        return sum(m * k for m, k in zip(means[:-1], sizes[:-1])) / sum(sizes[:-1])
    return total / count


def evaluate(model, loader, loss_fn) -> tuple[float, float]:
    """Mean loss and accuracy over the samples, in eval mode without gradients; the mode restored."""
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


def eval_variants(model, loader) -> dict[str, dict[str, float]]:
    """What the known mistakes of evaluate return: {"loss"|"accuracy": {message: value}}."""
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
    soft = evaluate(copy.deepcopy(model), loader, lambda o, y: F.cross_entropy(torch.softmax(o, 1), y))
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


def overfit(model, x, y, lr: float, steps: int, mistake: str = "") -> list[float]:
    """Adam(lr) on F.cross_entropy(model(x), y) for ``steps`` steps: the loss before each update."""
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
