"""Tests for adl4cv_utils.diffusion_data (toy 2-D data, sliced Wasserstein distance, snapshot plots)."""

import matplotlib
import pytest
import torch

from adl4cv_utils.diffusion_data import plot_snapshots, sliced_wasserstein, spiral, two_moons

matplotlib.use("Agg")


def test_toy_data_is_standardised_and_repeatable():
    """Are the point sets (n, 2), centred, of unit scale, and the same for the same seed?"""
    x, y = two_moons(500, seed=1)
    assert x.shape == (500, 2) and x.dtype == torch.float32 and set(y.tolist()) == {0, 1}
    assert x.mean(0).abs().max() < 1e-5 and x.std().item() == pytest.approx(1.0, abs=1e-4)
    assert torch.equal(x, two_moons(500, seed=1)[0]) and not torch.equal(x, two_moons(500, seed=2)[0])
    s = spiral(800, seed=0)
    assert s.shape == (800, 2) and s.std().item() == pytest.approx(1.0, abs=0.05)
    assert torch.equal(s, spiral(800, seed=0))
    with pytest.raises(ValueError, match="n"):
        spiral(1)


def test_sliced_wasserstein_measures_a_shift():
    """Is the distance ~0 between two samples of one distribution and about the size of a shift otherwise?"""
    g = torch.Generator().manual_seed(0)
    a, b = torch.randn(4000, 2, generator=g), torch.randn(3000, 2, generator=g)
    same = sliced_wasserstein(a, b)
    shifted = sliced_wasserstein(a, b + torch.tensor([2.0, 0.0]))
    assert same < 0.05
    assert 1.0 < shifted < 2.0  # a shift of 2 along x projects to 2 |cos(angle)|, mean 4/pi ~ 1.27
    assert sliced_wasserstein(a, a) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="point sets"):
        sliced_wasserstein(a, torch.randn(10, 3))


def test_plot_snapshots_draws_one_panel_per_snapshot():
    """Does plot_snapshots draw one titled axes per snapshot, and refuse a wrong number of titles?"""
    fig = plot_snapshots([torch.randn(50, 2)] * 3, titles=["a", "b", "c"], colours=torch.arange(50))
    assert [ax.get_title() for ax in fig.axes] == ["a", "b", "c"]
    with pytest.raises(ValueError, match="titles"):
        plot_snapshots([torch.randn(5, 2)] * 2, titles=["a"])
