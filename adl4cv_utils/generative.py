"""What does a generative model have to reproduce? (chapters 11 and 12: autoencoders, GANs)

Toy data and measurements for generative models, small enough for a laptop CPU:

* ``ring_of_gaussians`` -- 2-D points from ``modes`` Gaussians on a circle, the classic GAN toy data
  (a generator that covers only some of the blobs shows *mode collapse*);
* ``mode_coverage`` -- how many of those modes a set of samples covers, and the share of samples
  that lie close to any mode ("quality");
* ``interpolate`` -- points on the straight line between two latent codes;
* ``plot_points`` -- real vs generated 2-D points in one scatter plot;
* ``StackedMLP`` -- several independent MLPs evaluated as one batched model, to train a small GAN
  for several seeds at once (chapter 12);
* ``frechet_distance`` -- the Fréchet distance between Gaussian fits of two feature sets, the
  quantity behind FID (chapter 12).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import matplotlib.pyplot as plt
import torch
from torch import nn


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


class StackedMLP(nn.Module):
    """``models`` independent ReLU MLPs ``in_features -> hidden x depth -> out_features``, run as one.

    Input ``(models, B, in_features)``, output ``(models, B, out_features)``: model ``m`` sees only
    ``x[m]`` and has its own weights, so a loss summed over models trains each one as if alone (Adam's
    update is per parameter). Initialised like ``nn.Linear``. Chapter 12 trains a GAN per seed this way.
    """

    def __init__(self, models: int, in_features: int, out_features: int, hidden: int = 64, depth: int = 1):
        super().__init__()
        if models < 1 or depth < 0:
            raise ValueError(f"models, depth: expected a positive and a non-negative int, got {models!r}, {depth!r}")
        sizes = [in_features] + [hidden] * depth + [out_features]
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in zip(sizes[:-1], sizes[1:], strict=True):
            bound = 1 / math.sqrt(fan_in)  # nn.Linear's default uniform initialisation
            self.weights.append(nn.Parameter(torch.empty(models, fan_in, fan_out).uniform_(-bound, bound)))
            self.biases.append(nn.Parameter(torch.empty(models, 1, fan_out).uniform_(-bound, bound)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[0] != len(self.weights[0]):
            raise ValueError(f"x: expected (models={len(self.weights[0])}, B, D), got {tuple(x.shape)}")
        for i, (w, b) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(b, x, w)  # (models, B, fan_out) = b + x @ w, one matrix product per model
            if i < len(self.weights) - 1:
                x = torch.relu(x)
        return x


def _psd_sqrt(matrix: torch.Tensor) -> torch.Tensor:
    """The symmetric square root of a symmetric positive semi-definite matrix (via its eigenvalues)."""
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


@torch.no_grad()
def frechet_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Fréchet distance between Gaussian fits of features ``x`` ``(N, D)`` and ``y`` ``(M, D)``.

    ``||mu_x - mu_y||^2 + Tr(S_x + S_y - 2 (S_x S_y)^(1/2))`` (Dowson and Landau 1982), the formula of
    FID (Heusel et al. 2017) when the features come from an Inception network. Computed in float64;
    ``Tr((S_x S_y)^(1/2))`` as ``Tr((A S_y A)^(1/2))`` with ``A = S_x^(1/2)`` (same eigenvalues).
    """
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1] or min(len(x), len(y)) < 2:
        raise ValueError(f"x, y: expected (N, D), (M, D) with N, M >= 2, got {tuple(x.shape)}, {tuple(y.shape)}")
    x, y = x.detach().cpu().double(), y.detach().cpu().double()  # to the CPU first: MPS has no float64
    mu_x, mu_y = x.mean(0), y.mean(0)  # (D,)
    cov_x, cov_y = torch.atleast_2d(torch.cov(x.T)), torch.atleast_2d(torch.cov(y.T))  # (D, D), ddof = 1
    root = _psd_sqrt(cov_x)
    cross = torch.linalg.eigvalsh(root @ cov_y @ root).clamp(min=0).sqrt().sum()  # Tr((S_x S_y)^(1/2))
    return float((mu_x - mu_y).square().sum() + cov_x.trace() + cov_y.trace() - 2 * cross)
