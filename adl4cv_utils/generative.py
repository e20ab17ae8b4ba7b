"""What does a generative model have to reproduce? (chapters 11 and 12: autoencoders, GANs)

Toy data and measurements for generative models, small enough for a laptop CPU:

* ``ring_of_gaussians`` -- 2-D points from ``modes`` Gaussians on a circle, the classic GAN toy data
  (a generator that covers only some of the blobs shows *mode collapse*);
* ``mode_coverage`` -- how many of those modes a set of samples covers, and the share of samples
  that lie close to any mode ("quality");
* ``interpolate`` -- points on the straight line between two latent codes;
* ``plot_points`` -- real vs generated 2-D points in one scatter plot.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch


def ring_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    """The ``(modes, 2)`` centres of the ring of Gaussians, evenly spaced on a circle of ``radius``."""
    if modes < 1:
        raise ValueError(f"modes: expected a positive int, got {modes!r}")
    angle = torch.arange(modes) * 2 * math.pi / modes  # (modes,)
    return radius * torch.stack([angle.cos(), angle.sin()], dim=1)  # (modes, 2)


def ring_of_gaussians(
    n: int, modes: int = 8, radius: float = 2.0, std: float = 0.05, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` points ``(n, 2)`` from an equal mixture of ``modes`` Gaussians on a circle, and their mode ``(n,)``."""
    if n < 1 or std <= 0:
        raise ValueError(f"n, std: expected a positive count and std, got {n!r}, {std!r}")
    gen = torch.Generator().manual_seed(seed)
    mode = torch.randint(modes, (n,), generator=gen)  # (n,)
    x = ring_centres(modes, radius)[mode] + std * torch.randn(n, 2, generator=gen)  # (n, 2)
    return x, mode


@dataclass
class Coverage:
    """Result of ``mode_coverage``: modes covered (of ``modes``), share of good samples, samples per mode."""

    covered: int
    modes: int
    quality: float
    counts: torch.Tensor

    def __str__(self) -> str:
        return f"{self.covered}/{self.modes} modes covered, {self.quality:.0%} of samples near a mode"


@torch.no_grad()
def mode_coverage(samples: torch.Tensor, centres: torch.Tensor, std: float, min_share: float = 0.25) -> Coverage:
    """Which ``centres`` ``(K, 2)`` the ``samples`` ``(N, 2)`` cover (within 3 std).

    A mode counts as covered when it receives at least ``min_share`` of the ``N / K`` samples a
    perfect generator would put there; ``quality`` is the share of samples within 3 std of a centre.
    """
    if samples.ndim != 2 or centres.ndim != 2 or samples.shape[1] != centres.shape[1]:
        raise ValueError(
            f"samples, centres: expected (N, D), (K, D), got {tuple(samples.shape)}, {tuple(centres.shape)}"
        )
    dist = torch.cdist(samples.float(), centres.float())  # (N, K)
    nearest_dist, nearest = dist.min(dim=1)  # (N,)
    good = nearest_dist < 3 * std  # (N,)
    counts = torch.bincount(nearest[good], minlength=len(centres))  # (K,)
    covered = int((counts >= min_share * len(samples) / len(centres)).sum())
    return Coverage(covered, len(centres), good.float().mean().item(), counts)


def interpolate(z0: torch.Tensor, z1: torch.Tensor, steps: int = 8) -> torch.Tensor:
    """``steps`` points ``(steps, D)`` on the line from ``z0`` ``(D,)`` to ``z1`` ``(D,)``, both ends included."""
    if z0.shape != z1.shape or z0.ndim != 1:
        raise ValueError(f"z0, z1: expected two (D,) vectors, got {tuple(z0.shape)} and {tuple(z1.shape)}")
    if steps < 2:
        raise ValueError(f"steps: expected at least 2, got {steps!r}")
    t = torch.linspace(0, 1, steps, dtype=z0.dtype, device=z0.device)[:, None]  # (steps, 1)
    return (1 - t) * z0 + t * z1  # (steps, D)


def plot_points(real: torch.Tensor, fake: torch.Tensor | None = None, ax=None, title: str | None = None, lim=3.0):
    """Scatter real ``(N, 2)`` points (grey) and generated ones (red) on square axes; return the Axes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 4))
    real = torch.as_tensor(real).detach().cpu()
    ax.scatter(real[:, 0], real[:, 1], s=4, color="0.6", label="data")
    if fake is not None:
        fake = torch.as_tensor(fake).detach().cpu()
        ax.scatter(fake[:, 0], fake[:, 1], s=4, color="tab:red", alpha=0.6, label="generated")
    ax.set(xlim=(-lim, lim), ylim=(-lim, lim), aspect="equal")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=9)
    return ax
