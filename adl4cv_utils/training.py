"""How do I train a model and keep its curves? (chapter 1; used in every chapter that trains)

``fit`` is the course's one training loop: tqdm progress, optional validation after every
epoch, and a ``History`` of per-step and per-epoch numbers that ``plotting.plot_history`` draws.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import torch
from torch import nn
from tqdm.auto import tqdm

from adl4cv_utils.device import get_device


@dataclass(frozen=True)
class Metrics:
    """Mean loss and accuracy of an evaluation, read by name (``m.loss``, ``m.accuracy``): it does not unpack."""

    loss: float
    accuracy: float

    def __str__(self) -> str:
        return f"loss {self.loss:.4f}, accuracy {self.accuracy:.3f}"


@dataclass
class History:
    """What happened during training: losses per step, losses and accuracies per epoch."""

    step_loss: list[float] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def epochs(self) -> int:
        return len(self.train_loss)

    def summary(self) -> str:
        parts = [f"{self.epochs} epochs, {len(self.step_loss)} steps in {self.seconds:.1f} s"]
        if self.train_loss:
            parts.append(f"train loss {self.train_loss[-1]:.4f} acc {self.train_acc[-1]:.3f}")
        if self.val_loss:
            parts.append(f"val loss {self.val_loss[-1]:.4f} acc {self.val_acc[-1]:.3f}")
        return "; ".join(parts)

    def __str__(self) -> str:
        return self.summary()


@torch.no_grad()
def evaluate(
    model: nn.Module, loader: Iterable, loss_fn: Callable | None = None, device: torch.device | str | None = None
) -> Metrics:
    """Mean loss and accuracy of ``model`` over ``loader`` as ``Metrics``, in eval mode (restores the mode after)."""
    loss_fn = loss_fn or nn.functional.cross_entropy
    device = torch.device(device) if device is not None else _model_device(model)
    was_training = model.training
    model.eval()
    total_loss, correct, count = 0.0, 0, 0
    for x, y in loader:
        x, y = x.to(device), y.to(device)
        logits = model(x)  # (B, classes)
        total_loss += loss_fn(logits, y).item() * len(y)  # loss_fn averages over the batch
        correct += (logits.argmax(dim=1) == y).sum().item()
        count += len(y)
    model.train(was_training)
    if count == 0:
        raise ValueError("loader: it yielded no samples")
    return Metrics(total_loss / count, correct / count)


def fit(
    model: nn.Module,
    train_loader: Iterable,
    optimizer: torch.optim.Optimizer,
    num_epochs: int = 1,
    loss_fn: Callable | None = None,
    val_loader: Iterable | None = None,
    device: torch.device | str | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    history: History | None = None,
) -> History:
    """Train ``model`` for ``num_epochs`` (or until ``max_steps`` steps) and return its History.

    Pass ``history`` to continue a run. Raises ``FloatingPointError`` if the loss becomes NaN/inf.
    """
    if num_epochs < 1:
        raise ValueError(f"num_epochs: expected a positive int, got {num_epochs!r}")
    if max_steps is not None and max_steps < 1:
        raise ValueError(f"max_steps: expected a positive int or None, got {max_steps!r}")
    loss_fn = loss_fn or nn.functional.cross_entropy
    device = torch.device(device) if device is not None else get_device()
    model.to(device)
    history = history if history is not None else History()
    start, steps = time.perf_counter(), 0
    bar = tqdm(
        total=num_epochs * _len_or_none(train_loader, max_steps),
        disable=not progress,
        desc="training",
        unit="step",
        leave=False,
    )
    for _ in range(num_epochs):
        model.train()
        epoch_loss, correct, count = 0.0, 0, 0
        for x, y in train_loader:
            x, y = x.to(device), y.to(device)
            optimizer.zero_grad()  # gradients accumulate otherwise (chapter 8: common mistakes)
            logits = model(x)
            loss = loss_fn(logits, y)
            if not math.isfinite(loss.item()):
                raise FloatingPointError(f"loss became {loss.item()} at step {steps}: lower the learning rate")
            loss.backward()
            optimizer.step()
            history.step_loss.append(loss.item())
            epoch_loss += loss.item() * len(y)
            correct += (logits.argmax(dim=1) == y).sum().item()
            count += len(y)
            steps += 1
            bar.update(1)
            bar.set_postfix(loss=f"{loss.item():.4f}")
            if max_steps is not None and steps >= max_steps:
                break
        history.train_loss.append(epoch_loss / max(count, 1))
        history.train_acc.append(correct / max(count, 1))
        if val_loader is not None:
            metrics = evaluate(model, val_loader, loss_fn, device)
            history.val_loss.append(metrics.loss)
            history.val_acc.append(metrics.accuracy)
        if max_steps is not None and steps >= max_steps:
            break
    bar.close()
    history.seconds += time.perf_counter() - start
    return history


def _len_or_none(loader: Iterable, max_steps: int | None) -> int | None:
    try:
        n = len(loader)  # type: ignore[arg-type]
    except TypeError:
        return max_steps
    return min(n, max_steps) if max_steps is not None else n


def _model_device(model: nn.Module) -> torch.device:
    param = next(model.parameters(), None)
    return param.device if param is not None else torch.device("cpu")
