"""Inputs and probes shared by the 06_training and 07_visualization checks, and their stored expected values.

The checks of these exercises compare the student's answer with values computed once by the
instructor's references (outside this package) and stored in ``checks/expected/<topic>.pt``:
a dict from a case key (which says exactly which input it is) to tensors. This module makes
the seeded inputs (models, loaders, batches, images), the probe layer that records the mode, and
loads the stored values with ``torch.load(weights_only=True)``. No answer to any exercise is here.
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed

EXPECTED_DIR = Path(__file__).with_name("expected")


class ModeProbe(nn.Module):
    """Identity layer that records (training, grad enabled) at each forward call."""

    def __init__(self):
        super().__init__()
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, x):
        self.calls.append((self.training, torch.is_grad_enabled()))
        return x


def probe_of(model: nn.Module) -> ModeProbe:
    """The ModeProbe inside ``model``."""
    return next(m for m in model.modules() if isinstance(m, ModeProbe))


# ---------------------------------------------------------------------------------------------
# 06_training inputs
# ---------------------------------------------------------------------------------------------


def mlp(seed: int, in_features=8, classes=3, hidden=16, dropout=False, bn=False) -> nn.Sequential:
    """A seeded MLP with a ModeProbe after the hidden activation (optionally BatchNorm and Dropout)."""
    torch.manual_seed(seed)
    layers = [nn.Linear(in_features, hidden)] + ([nn.BatchNorm1d(hidden)] if bn else []) + [nn.ReLU(), ModeProbe()]
    layers += ([nn.Dropout(0.5)] if dropout else []) + [nn.Linear(hidden, classes)]
    return nn.Sequential(*layers)


def loader(seed: int, n: int, batch_size: int, in_features=8, classes=3) -> DataLoader:
    """n seeded samples with random labels, in order, in batches of ``batch_size`` (the last may be partial)."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, in_features, generator=gen)
    y = torch.randint(0, classes, (n,), generator=gen)
    return DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=False)


def overfit_batch(seed: int, n: int):
    """n random 64-dimensional inputs with random labels out of 10: memorisable, nothing to generalise."""
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 64, generator=gen), torch.randint(0, 10, (n,), generator=gen)


def overfit_model(seed: int) -> nn.Sequential:
    """A small seeded MLP for overfit_one_batch, with a ModeProbe (identity) after the ReLU."""
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), ModeProbe(), nn.Linear(32, 10))


# ---------------------------------------------------------------------------------------------
# 07_visualization inputs
# ---------------------------------------------------------------------------------------------


def cnn(seed: int = 0, classes: int = 4) -> nn.Sequential:
    """A small CNN for (3, H, W) images, in train mode, with BatchNorm statistics that differ from batch ones."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        ModeProbe(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(24, classes),
    )
    with torch.no_grad():
        for bn in (model[1], model[5]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
        model[-1].weight.mul_(4)  # confident enough that occlusion moves the probability visibly
    return model.train()


def image(seed: int, h: int, w: int) -> torch.Tensor:
    """A seeded random image (3, h, w) in [0, 1)."""
    return torch.rand(3, h, w, generator=torch.Generator().manual_seed(seed))


def images(seed: int, h: int = 16, w: int = 16, n: int = 6) -> torch.Tensor:
    """n seeded random images (n, 3, h, w) in [0, 1)."""
    return torch.rand(n, 3, h, w, generator=torch.Generator().manual_seed(seed + 7))


# ---------------------------------------------------------------------------------------------
# Numbers and stored expected values
# ---------------------------------------------------------------------------------------------


def as_float(what: str, value, strict: bool = False) -> float:
    """``value`` as a float; CheckFailed unless it is a number (``strict``: a python float, no tensor)."""
    if torch.is_tensor(value):
        if strict:
            raise CheckFailed(
                f"{what}: expected a python float, got a tensor: return loss.item() (or float(...)), "
                "not a tensor that keeps the graph or the device",
                got=value,
            )
        if value.numel() != 1:
            raise CheckFailed(f"{what}: expected a number, got a tensor of shape {tuple(value.shape)}")
        value = value.detach().item()
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (strict and not isinstance(value, float)):
        raise CheckFailed(f"{what}: expected a float, got {type(value).__name__}")
    return float(value)


def close(a: float, b: float, tol: float = 1e-5) -> bool:
    """|a - b| within ``tol * (1 + |b|)``."""
    return abs(a - b) <= tol * (1 + abs(b))


@functools.cache
def _stored(topic: str) -> dict:
    return torch.load(EXPECTED_DIR / f"{topic}.pt", weights_only=True)


def expected(topic: str, key: str, argument: str = "seed"):
    """The stored expected value of case ``key``; CheckArgumentError naming ``argument`` if none is stored."""
    table = _stored(topic)
    if key not in table:
        raise CheckArgumentError(f"{argument}: no stored expected values for the case {key!r} (see checks/expected/)")
    return table[key]
