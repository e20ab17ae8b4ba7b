"""Tests of adl4cv_utils.similarity (chapter 10: similarity learning)."""

from __future__ import annotations

import pytest
import torch

from adl4cv_utils.similarity import pairwise_distances, random_views, recall_at_k, sample_pairs, sample_triplets


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_pairwise_distances_match_torch_cdist():
    """Do the distances (and squared distances) agree with torch.cdist within a tolerance?"""
    x, y = torch.randn(7, 5, generator=_gen()), torch.randn(4, 5, generator=_gen(1))
    assert torch.allclose(pairwise_distances(x, y), torch.cdist(x, y), atol=1e-5)
    assert torch.allclose(pairwise_distances(x, y, squared=True), torch.cdist(x, y) ** 2, atol=1e-4)
    assert pairwise_distances(x).shape == (7, 7)


def test_pairwise_distances_gradient_is_finite_at_zero():
    """Is the gradient finite (no NaN from sqrt at 0) when two embeddings coincide, e.g. on the diagonal?"""
    x = torch.randn(4, 3, generator=_gen()).requires_grad_()
    pairwise_distances(x).sum().backward()
    assert torch.isfinite(x.grad).all()
    assert torch.all(torch.diagonal(pairwise_distances(x)) == 0)


def test_pairwise_distances_rejects_mismatched_dims():
    """Does a feature-size mismatch raise a ValueError instead of a cryptic matmul error?"""
    with pytest.raises(ValueError):
        pairwise_distances(torch.zeros(3, 2), torch.zeros(3, 4))


def test_recall_at_k_perfect_random_and_self_excluded():
    """Is recall@1 1 for separated clusters, ~chance for noise, and is a query never its own neighbour?"""
    labels = torch.arange(5).repeat_interleave(20)  # (100,)
    clusters = 10.0 * torch.eye(5)[labels] + 0.01 * torch.randn(100, 5, generator=_gen())
    assert recall_at_k(clusters, labels, k=1) == 1.0
    noise = torch.randn(100, 5, generator=_gen(2))
    assert recall_at_k(noise, labels, k=1) < 0.5
    unique = torch.arange(4)  # every label once: the only same-label item is the query itself
    assert recall_at_k(torch.randn(4, 2), unique, k=1) == 0.0
    assert recall_at_k(noise, labels, k=5) >= recall_at_k(noise, labels, k=1)


def test_sample_pairs_labels_are_right():
    """Are the first half same-class pairs, the second half different-class pairs, never an item with itself?"""
    labels = torch.tensor([0, 0, 1, 1, 2, 2, 2])
    i, j, same = sample_pairs(labels, 40, generator=_gen())
    assert same.tolist() == [1.0] * 20 + [0.0] * 20
    assert torch.equal((labels[i] == labels[j]).float(), same)
    assert torch.all(i != j)


def test_sample_triplets_are_valid():
    """Does every triplet have label[a] == label[p] != label[n] with a != p?"""
    labels = torch.arange(4).repeat(5)
    a, p, n = sample_triplets(labels, 30, generator=_gen())
    assert len(a) == len(p) == len(n) == 30
    assert torch.all(labels[a] == labels[p]) and torch.all(labels[a] != labels[n]) and torch.all(a != p)


def test_random_views_shape_range_and_randomness():
    """Are views in [0, 1], of the input's shape, different from each other yet close to the image?"""
    x = torch.rand(16, 1, 8, 8, generator=_gen())
    v1, v2 = random_views(x, generator=_gen(1)), random_views(x, generator=_gen(2))
    assert v1.shape == x.shape and v1.min() >= 0 and v1.max() <= 1
    assert not torch.allclose(v1, v2)
    assert torch.equal(random_views(x, generator=_gen(1)), v1)  # same seed, same views
    same = random_views(x, shift=0, noise=0.0, generator=_gen(3))  # only contrast: proportional to x
    ratio = same.flatten(1).sum(1) / x.flatten(1).sum(1)
    assert torch.all((ratio > 0.5) & (ratio < 1.5))
