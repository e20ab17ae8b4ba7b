"""Toy 2-D data for diffusion models, how close two point sets are, and plots of point snapshots (chapter 13).

* ``two_moons``, ``spiral`` -- 2-D point clouds, centred and scaled to about unit variance, the
  scale a diffusion model's noise expects;
* ``sliced_wasserstein`` -- a distance between two point sets, to say how close generated samples
  are to the data (compare it with the distance between two samples of the data itself);
* ``plot_snapshots`` -- a row of scatter plots, for example a denoising trajectory.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch


def _standardise(x: torch.Tensor) -> torch.Tensor:
    """Centre ``(n, 2)`` points and scale them to unit standard deviation (one scale for both axes)."""
    x = x - x.mean(dim=0)
    return x / x.std()


def two_moons(n: int = 2000, noise: float = 0.05, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's two interleaving half circles: points ``(n, 2)`` float32 and moon labels ``(n,)`` 0/1."""
    from sklearn.datasets import make_moons

    if n < 2:
        raise ValueError(f"n: expected at least 2 points, got {n!r}")
    x, y = make_moons(n_samples=n, noise=noise, random_state=seed)
    return _standardise(torch.tensor(x, dtype=torch.float32)), torch.tensor(y, dtype=torch.int64)


def spiral(n: int = 2000, noise: float = 0.03, turns: float = 1.5, seed: int = 0) -> torch.Tensor:
    """Points ``(n, 2)`` on an Archimedean spiral of ``turns`` turns, with Gaussian noise, standardised."""
    if n < 2:
        raise ValueError(f"n: expected at least 2 points, got {n!r}")
    generator = torch.Generator().manual_seed(seed)
    s = torch.rand(n, generator=generator).sqrt()  # sqrt: uniform along the curve's length, roughly
    angle = 2 * math.pi * turns * s + 0.5
    x = torch.stack([s * torch.cos(angle), s * torch.sin(angle)], dim=1)  # (n, 2), radius grows with angle
    x = _standardise(x)
    return x + noise * torch.randn(n, 2, generator=generator)


def sliced_wasserstein(a: torch.Tensor, b: torch.Tensor, n_projections: int = 256, seed: int = 0) -> float:
    """Sliced 1-Wasserstein distance between point sets ``(n, d)`` and ``(m, d)``: mean over random directions.

    Along each direction the 1-D distance compares sorted projections (quantiles), so ``n`` and
    ``m`` may differ. It is 0 for identical sets and grows with any difference in shape or place.
    """
    a, b = torch.as_tensor(a, dtype=torch.float64), torch.as_tensor(b, dtype=torch.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise ValueError(f"a, b: expected (n, d) and (m, d) point sets, got {tuple(a.shape)} and {tuple(b.shape)}")
    generator = torch.Generator().manual_seed(seed)
    directions = torch.randn(a.shape[1], n_projections, generator=generator, dtype=torch.float64)
    directions = directions / directions.norm(dim=0, keepdim=True)  # (d, P) unit vectors
    qs = torch.linspace(0.005, 0.995, 200, dtype=torch.float64)
    pa = torch.quantile(a @ directions, qs, dim=0)  # (200, P): quantiles of each projection
    pb = torch.quantile(b @ directions, qs, dim=0)
    return (pa - pb).abs().mean().item()


def plot_snapshots(
    snapshots: Sequence[torch.Tensor],
    titles: Sequence[str] | None = None,
    colours: torch.Tensor | None = None,
    lim: float = 3.0,
    size: float = 2.2,
    reference: torch.Tensor | None = None,
):
    """One square scatter plot of ``(n, 2)`` points per snapshot, in a row; returns the figure.

    ``colours`` ``(n,)`` colours every snapshot's points the same way (follow the points through
    time); ``reference`` points are drawn in light grey behind each snapshot.
    """
    if titles is not None and len(titles) != len(snapshots):
        raise ValueError(f"titles: expected {len(snapshots)} titles, got {len(titles)}")
    fig, axes = plt.subplots(1, len(snapshots), figsize=(size * len(snapshots), size), squeeze=False)
    for i, (ax, points) in enumerate(zip(axes[0], snapshots)):
        points = torch.as_tensor(points).detach().cpu().numpy()
        if reference is not None:
            ref = torch.as_tensor(reference).detach().cpu().numpy()
            ax.scatter(ref[:, 0], ref[:, 1], s=1, color="0.85")
        c = None if colours is None else np.asarray(colours)
        ax.scatter(points[:, 0], points[:, 1], s=1.5, c=c, cmap="viridis" if c is not None else None)
        ax.set(xlim=(-lim, lim), ylim=(-lim, lim), xticks=[], yticks=[], aspect="equal")
        if titles is not None:
            ax.set_title(titles[i], fontsize=9)
    fig.tight_layout()
    return fig
