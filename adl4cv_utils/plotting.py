"""How do I look at curves, images and trajectories? (chapter 1 on)

Every helper draws into a matplotlib ``Axes`` (a new figure when ``ax`` is None) and returns it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch

from adl4cv_utils.surfaces import Surface
from adl4cv_utils.training import History


def _axes(ax=None, figsize=(6, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _label(ax, xlabel: str, ylabel: str, log: bool):
    """Name the axes, use a log scale for y when ``log``, add the legend; return ``ax``."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if log:
        ax.set_yscale("log")
    ax.legend()
    return ax


def plot_history(history: History | Mapping[str, History], ax=None, metric: str = "loss", log: bool = False):
    """Per-epoch train (solid) and validation (dashed) ``metric`` ('loss' or 'acc') of one or more runs."""
    if metric not in {"loss", "acc"}:
        raise ValueError(f"metric: expected 'loss' or 'acc', got {metric!r}")
    runs = history if isinstance(history, Mapping) else {"": history}
    ax = _axes(ax)
    for i, (name, h) in enumerate(runs.items()):
        colour = f"C{i}"
        train, val = getattr(h, f"train_{metric}"), getattr(h, f"val_{metric}")
        epochs = np.arange(1, len(train) + 1)
        ax.plot(epochs, train, color=colour, label=f"{name} train".strip())
        if val:
            ax.plot(epochs, val, color=colour, linestyle="--", label=f"{name} val".strip())
    return _label(ax, "epoch", metric, log)


def plot_curves(
    curves: Mapping[str, Sequence[float]],
    ax=None,
    xlabel: str = "step",
    ylabel: str = "loss",
    log: bool = False,
    smooth: int = 1,
):
    """One line per named sequence, optionally smoothed with a running mean of ``smooth`` points."""
    if smooth < 1:
        raise ValueError(f"smooth: expected a positive int, got {smooth!r}")
    ax = _axes(ax)
    for name, values in curves.items():
        values = np.asarray(values, dtype=float)
        if smooth > 1 and len(values) >= smooth:
            values = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
        ax.plot(values, label=name)
    return _label(ax, xlabel, ylabel, log)


def plot_surface_paths(
    surface: Surface,
    paths: Mapping[str, torch.Tensor],
    ax=None,
    xlim=(-5.0, 5.0),
    ylim=(-3.0, 3.0),
    levels: int = 30,
    log_levels: bool = True,
):
    """Contour plot of a 2-D ``surface`` with optimizer trajectories ``(steps, 2)`` drawn on top."""
    ax = _axes(ax, figsize=(7, 4.5))
    xs, ys = np.linspace(*xlim, 200), np.linspace(*ylim, 200)
    grid = torch.tensor(np.stack(np.meshgrid(xs, ys), axis=-1))  # (200, 200, 2)
    z = surface(grid).numpy()
    if log_levels:
        z = np.log1p(z - z.min())
    ax.contour(xs, ys, z, levels=levels, cmap="Greys", linewidths=0.6)
    for i, (name, path) in enumerate(paths.items()):
        path = torch.as_tensor(path).detach().numpy()
        ax.plot(path[:, 0], path[:, 1], "-", color=f"C{i}", lw=1.5, label=name)
        ax.plot(path[-1, 0], path[-1, 1], "o", color=f"C{i}", ms=5)
    ax.plot(*path[0], "k*", ms=10) if paths else None
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.set_xlabel("$\\theta_1$")
    ax.set_ylabel("$\\theta_2$")
    ax.legend(loc="upper right", fontsize=8)
    return ax


def show_images(
    images: torch.Tensor,
    labels: Sequence | None = None,
    ncols: int = 8,
    class_names: Sequence[str] | None = None,
    size: float = 1.4,
):
    """A grid of ``(N, C, H, W)`` or ``(N, H, W)`` images in [0, 1] with optional titles; returns the figure."""
    images = torch.as_tensor(images).detach().cpu()
    if images.ndim == 3:
        images = images.unsqueeze(1)
    if images.ndim != 4 or images.shape[1] not in (1, 3):
        raise ValueError(f"images: expected (N, C, H, W) with C in 1 or 3, got shape {tuple(images.shape)}")
    if ncols < 1:
        raise ValueError(f"ncols: expected a positive int, got {ncols!r}")
    n = len(images)
    nrows = max(1, -(-n // ncols))
    fig, axes = plt.subplots(nrows, min(ncols, n), figsize=(size * min(ncols, n), size * nrows), squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.axis("off")
        if i >= n:
            continue
        img = images[i].permute(1, 2, 0).clamp(0, 1).numpy()
        ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None)
        if labels is not None:
            label = labels[i].item() if torch.is_tensor(labels[i]) else labels[i]
            ax.set_title(class_names[label] if class_names is not None else str(label), fontsize=8)
    fig.tight_layout()
    return fig
