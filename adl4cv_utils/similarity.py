"""How do I measure and sample similarity? (chapter 10: similarity learning)

Helpers for metric learning that are not the chapter's losses themselves (those are written out
in the chapter, and the graded versions are an exercise):

* ``pairwise_distances`` -- Euclidean distance between every row of two embedding matrices;
* ``recall_at_k`` -- retrieval accuracy: does one of a query's k nearest neighbours share its label?
* ``sample_pairs`` -- balanced random (same class, different class) index pairs for a Siamese network;
* ``sample_triplets`` -- random (anchor, positive, negative) index triplets;
* ``random_views`` -- two cheap random augmentations of small grey images (shift, contrast, noise),
  the "two views of one image" of SimCLR.
"""

from __future__ import annotations

import torch

from adl4cv_utils.augment import random_crop


def _check_labels(labels: torch.Tensor) -> torch.Tensor:
    labels = torch.as_tensor(labels)
    if labels.ndim != 1 or len(labels) < 2:
        raise ValueError(f"labels: expected a 1-D tensor of at least 2 labels, got shape {tuple(labels.shape)}")
    return labels


def pairwise_distances(x: torch.Tensor, y: torch.Tensor | None = None, squared: bool = False) -> torch.Tensor:
    """Euclidean distances ``(N, M)`` between the rows of ``x`` ``(N, D)`` and ``y`` ``(M, D)`` (default: x)."""
    y = x if y is None else y
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise ValueError(f"x, y: expected (N, D) and (M, D), got {tuple(x.shape)} and {tuple(y.shape)}")
    sq = (x * x).sum(1)[:, None] + (y * y).sum(1)[None, :] - 2 * x @ y.T  # (N, M): |x|^2 + |y|^2 - 2 x.y
    sq = sq.clamp(min=0.0)  # rounding can make it slightly negative
    if squared:
        return sq
    # sqrt has an infinite gradient at 0: add a tiny epsilon where the distance is exactly zero
    zero = sq == 0
    return torch.where(zero, torch.zeros_like(sq), (sq + zero.float() * 1e-16).sqrt())


@torch.no_grad()
def recall_at_k(embeddings: torch.Tensor, labels: torch.Tensor, k: int = 1) -> float:
    """Share of items whose ``k`` nearest other items (Euclidean) include one of the same label."""
    labels = _check_labels(labels)
    if embeddings.ndim != 2 or len(embeddings) != len(labels):
        raise ValueError(f"embeddings: expected ({len(labels)}, D), got {tuple(embeddings.shape)}")
    if not 1 <= k < len(labels):
        raise ValueError(f"k: expected 1 <= k < {len(labels)}, got {k!r}")
    dist = pairwise_distances(embeddings.float(), squared=True)  # (N, N)
    dist.fill_diagonal_(float("inf"))  # a query must not retrieve itself
    nearest = dist.topk(k, dim=1, largest=False).indices  # (N, k)
    hit = (labels[nearest] == labels[:, None]).any(dim=1)  # (N,)
    return hit.float().mean().item()


def sample_pairs(
    labels: torch.Tensor, n_pairs: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n_pairs`` index pairs ``(i, j, same)``: half from one class (same=1), half from two classes (same=0)."""
    labels = _check_labels(labels)
    if n_pairs < 2:
        raise ValueError(f"n_pairs: expected at least 2, got {n_pairs!r}")
    n_pos = n_pairs // 2
    i = torch.randint(len(labels), (n_pairs,), generator=generator)  # (P,)
    j = torch.empty_like(i)
    for p in range(n_pairs):
        same = labels == labels[i[p]] if p < n_pos else labels != labels[i[p]]
        same[i[p]] = False  # never pair an item with itself
        candidates = same.nonzero().flatten()
        if len(candidates) == 0:
            raise ValueError("labels: a class has a single item or only one class exists; cannot form the pairs")
        j[p] = candidates[torch.randint(len(candidates), (1,), generator=generator)]
    target = (torch.arange(n_pairs) < n_pos).float()  # (P,): 1 = same class
    return i, j, target


def sample_triplets(
    labels: torch.Tensor, n_triplets: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``n_triplets`` random index triplets ``(anchor, positive, negative)``: label[a] == label[p] != label[n]."""
    labels = _check_labels(labels)
    i, j, target = sample_pairs(labels, 2 * n_triplets, generator)
    anchor, positive = i[:n_triplets], j[:n_triplets]  # the same-class half of the pairs
    negative = torch.empty_like(anchor)
    for t in range(n_triplets):
        others = (labels != labels[anchor[t]]).nonzero().flatten()
        negative[t] = others[torch.randint(len(others), (1,), generator=generator)]
    return anchor, positive, negative


def random_views(
    x: torch.Tensor, shift: int = 1, noise: float = 0.1, generator: torch.Generator | None = None
) -> torch.Tensor:
    """A random view of each image of ``x`` ``(B, 1, H, W)`` in [0, 1]: shift by up to ``shift`` px, contrast, noise."""
    if x.ndim != 4:
        raise ValueError(f"x: expected a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    b = len(x)
    out = random_crop(x, padding=shift, generator=generator) if shift > 0 else x  # (B, C, H, W): shifted
    contrast = 0.6 + 0.8 * torch.rand(b, 1, 1, 1, generator=generator)  # (B, 1, 1, 1) in [0.6, 1.4]
    out = out * contrast.to(x.device)
    out = out + noise * torch.randn(out.shape, generator=generator).to(x.device)
    return out.clamp(0.0, 1.0)
