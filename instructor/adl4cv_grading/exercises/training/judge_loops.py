"""INSTRUCTOR ONLY: the reference loops of 06_training, with switchable known mistakes, for the judge.

``epoch``, ``evaluate`` and ``overfit`` follow docs/contract.md; ``mistake`` ('a+b' for several)
switches on the lecture's known mistakes so that the judge can name the one a student made. The
messages are the self-checks' tables (adl4cv_utils.checks.training). Models and data are built from
the same plain specs the kernel's probes use (adl4cv_utils.checks.training.probes.build_model).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from adl4cv_grading.exercises.training.reference import (
    evaluate_variants,
    reference_epoch,
    reference_evaluate,
    reference_overfit,
)
from adl4cv_grading.judge_tests import Context
from adl4cv_utils.checks.result import CheckFailed
from adl4cv_utils.checks.training import OVERFIT_MISTAKES, TRAIN_MISTAKES
from adl4cv_utils.checks.training.probes import build_model
from adl4cv_utils.checks.training.train_loop import EVAL_MISTAKES

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


# The loops themselves are the instructor's references (instructor/adl4cv_grading/exercises/training/reference.py).
epoch = reference_epoch
evaluate = reference_evaluate


def eval_variants(model, loader) -> dict[str, dict[str, float]]:
    """What the known mistakes of evaluate return: {"loss"|"accuracy": {message: value}}."""
    values = evaluate_variants(model, loader)
    return {
        what: {message: values[f"{what}_variants"][name] for name, message in EVAL_MISTAKES[what].items()}
        for what in ("loss", "accuracy")
    }


def overfit(model, x, y, lr: float, steps: int, mistake: str = "") -> list[float]:
    """Adam(lr) on F.cross_entropy(model(x), y) for ``steps`` steps: the loss before each update."""
    return reference_overfit(model, (x, y), lr, steps, mistake)
