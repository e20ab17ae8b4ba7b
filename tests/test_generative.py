"""Tests of adl4cv_utils.generative (chapters 11 and 12: autoencoders, GANs)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import pytest
import torch

from adl4cv_utils.generative import (
    StackedMLP,
    frechet_distance,
    interpolate,
    mode_coverage,
    plot_points,
    ring_centres,
    ring_of_gaussians,
)


def test_ring_centres_lie_on_the_circle_evenly():
    """Are the centres on the circle of the given radius, evenly spaced?"""
    c = ring_centres(8, radius=2.0)
    assert c.shape == (8, 2)
    assert torch.allclose(c.norm(dim=1), torch.full((8,), 2.0), atol=1e-6)
    gaps = (c - c.roll(1, dims=0)).norm(dim=1)
    assert torch.allclose(gaps, gaps[0].expand(8), atol=1e-5)


def test_ring_of_gaussians_samples_are_near_their_mode_and_reproducible():
    """Is each point within a few std of its own mode, are all modes used, and does the seed fix the data?"""
    x, mode = ring_of_gaussians(2000, modes=8, std=0.05, seed=0)
    assert x.shape == (2000, 2) and mode.shape == (2000,)
    assert (x - ring_centres(8)[mode]).norm(dim=1).max() < 0.05 * 6
    assert torch.bincount(mode, minlength=8).min() > 150
    assert torch.equal(ring_of_gaussians(50, seed=3)[0], ring_of_gaussians(50, seed=3)[0])


def test_mode_coverage_of_data_collapse_and_junk():
    """Does the data cover all modes, a collapsed generator one, and points off the ring none?"""
    centres = ring_centres(8)
    x, _ = ring_of_gaussians(1000, std=0.05, seed=1)
    full = mode_coverage(x, centres, std=0.05)
    assert full.covered == 8 and full.quality > 0.95
    collapsed = centres[2] + 0.05 * torch.randn(1000, 2)
    one = mode_coverage(collapsed, centres, std=0.05)
    assert one.covered == 1 and one.counts[2] > 900
    junk = mode_coverage(torch.zeros(100, 2), centres, std=0.05)  # all at the centre of the ring
    assert junk.covered == 0 and junk.quality == 0.0
    assert "modes covered" in str(one)


def test_interpolate_endpoints_and_linearity():
    """Does the path start at z0, end at z1, and move in equal steps?"""
    z0, z1 = torch.zeros(3), torch.tensor([1.0, 2.0, 3.0])
    path = interpolate(z0, z1, steps=5)
    assert path.shape == (5, 3)
    assert torch.equal(path[0], z0) and torch.allclose(path[-1], z1)
    assert torch.allclose(path[2], 0.5 * z1)
    with pytest.raises(ValueError):
        interpolate(z0, torch.zeros(4))


def test_plot_points_draws_both_sets():
    """Does plot_points draw one scatter for the data and one for the generated points?"""
    ax = plot_points(torch.randn(10, 2), torch.randn(5, 2), title="t")
    assert len(ax.collections) == 2 and ax.get_title() == "t"


def test_stacked_mlp_equals_separate_mlps_with_the_same_weights():
    """Does each stacked model compute exactly what a plain Linear-ReLU MLP with its weights computes?"""
    torch.manual_seed(0)
    model = StackedMLP(3, 2, 4, hidden=5, depth=2)
    x = torch.randn(3, 7, 2)
    out = model(x)
    assert out.shape == (3, 7, 4)
    for m in range(3):
        h = x[m]
        for i, (w, b) in enumerate(zip(model.weights, model.biases, strict=True)):
            h = h @ w[m] + b[m, 0]
            h = torch.relu(h) if i < 2 else h
        assert torch.allclose(out[m], h, atol=1e-6)
    with pytest.raises(ValueError):
        model(torch.randn(2, 7, 2))


def test_stacked_mlp_models_do_not_share_gradients():
    """Does a loss on model 0 leave the gradients of the other models at zero?"""
    model = StackedMLP(3, 2, 1, hidden=4, depth=1)
    model(torch.randn(3, 5, 2))[0].sum().backward()
    for w in model.weights:
        assert w.grad[0].abs().sum() > 0 and w.grad[1:].abs().sum() == 0


def test_frechet_distance_matches_the_closed_form():
    """Is the distance 0 for the same features, and does it match scipy's matrix square root?"""
    import numpy as np
    from scipy.linalg import sqrtm

    gen = torch.Generator().manual_seed(0)
    x = torch.randn(500, 4, generator=gen, dtype=torch.float64)
    mix = torch.rand(4, 4, generator=gen, dtype=torch.float64)
    y = torch.randn(400, 4, generator=gen, dtype=torch.float64) @ mix + 1  # correlated, shifted
    assert abs(frechet_distance(x, x)) < 1e-8
    cx, cy = np.cov(x.numpy().T), np.cov(y.numpy().T)
    expected = ((x.mean(0) - y.mean(0)) ** 2).sum().item() + np.trace(cx + cy - 2 * sqrtm(cx @ cy).real)
    assert frechet_distance(x, y) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(y, x) == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_of_one_dimensional_gaussians():
    """In 1-D, is the distance (mu1 - mu2)^2 + (s1 - s2)^2 of the fitted Gaussians?"""
    x = torch.tensor([[-1.0], [1.0]])  # mean 0, std sqrt(2) (ddof = 1)
    y = torch.tensor([[2.0], [4.0], [6.0]])  # mean 4, std 2
    assert frechet_distance(x, y) == pytest.approx(16 + (2**0.5 - 2) ** 2, rel=1e-9)
    with pytest.raises(ValueError):
        frechet_distance(torch.zeros(1, 3), torch.zeros(5, 3))
