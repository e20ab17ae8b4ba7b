"""Inputs, known mistakes and the comparison of exercise 08_similarity (chapter 10, similarity learning).

The self-checks (``__init__.py``) and the judge draw their inputs from the builders here (the self-checks
with fixed seeds, the judge with its secret seed) and rule with ``rule``: the loss and the gradients of
the student's function against a reference outcome ``{"loss", "grads", "mistakes"}``. For the self-checks
that outcome is stored in ``checks/expected/similarity.pt`` (written by the instructor's references with
``python -m adl4cv_grading.expected``); the judge computes it itself. Nothing here computes a loss.
"""

from __future__ import annotations

import torch

from adl4cv_utils.checks.result import CheckFailed, compare

ATOL, RTOL = 1e-6, 1e-5  # float64 inputs: every known mistake is off by far more
F32 = {"atol": 1e-3, "rtol": 1e-4}  # float32 inputs with logits in the hundreds

GRADED = ("contrastive_loss", "triplet_loss", "batch_hard_triplet_loss", "info_nce")

MISTAKES: dict[str, dict[str, str]] = {
    "contrastive_loss": {
        "no_clamp": "the hinge is missing: a dissimilar pair costs max(0, margin - d)**2 / 2, which is 0 once it is "
        "farther apart than the margin",
        "reversed_hinge": "the hinge is reversed: dissimilar pairs cost max(0, margin - d)**2 / 2 (penalised while "
        "closer than the margin), not max(0, d - margin)**2 / 2",
        "margin_fixed": "the margin is hard-coded to 1: use the margin argument",
        "squared_in_hinge": "the squared distance is used inside the hinge: it is max(0, margin - d)**2 with the "
        "Euclidean distance d, not max(0, margin - d**2)**2",
        "not_squared": "the terms are not squared: a similar pair costs d**2 / 2 and a dissimilar one "
        "max(0, margin - d)**2 / 2",
        "labels_swapped": "same and different are swapped: pairs with same=True are pulled together (d**2 / 2), "
        "pairs with same=False pushed beyond the margin",
        "sum": "the loss is summed over the pairs instead of averaged (divide by the number of pairs)",
        "no_half": "the factor 1/2 of Hadsell et al. is missing (the loss is twice the expected one)",
    },
    "triplet_loss": {
        "no_clamp": "the hinge is missing: each triplet costs max(0, d(a, p) - d(a, n) + margin), never less than 0",
        "margin_sign": "the margin has the wrong sign: max(0, d(a, p) - d(a, n) + margin)",
        "swapped": "positive and negative are swapped: the anchor must be closer to the positive, "
        "max(0, d(a, p) - d(a, n) + margin)",
        "squared": "squared distances are used: d is the Euclidean distance ||a - p||_2, not its square",
        "margin_fixed": "the margin is hard-coded to 0.2: use the margin argument",
        "sum": "the loss is summed over the triplets instead of averaged (divide by the number of triplets)",
    },
    "batch_hard_triplet_loss": {
        "swapped_minmax": "the hardest positive and negative are swapped (min vs max): take the farthest positive "
        "(max) and the closest negative (min), not the easiest ones",
        "batch_all": "there is no hard mining: the loss averages over every (positive, negative) of each anchor; "
        "batch-hard takes only the hardest positive and the hardest negative per anchor",
        "negatives_include_positives": "the hardest negative is searched among all other samples, positives "
        "included: a negative has a different label",
        "anchor_is_negative": "the anchor is its own hardest negative (distance 0): negatives are the samples "
        "with a different label",
        "squared": "squared distances are used: d is the Euclidean distance, not its square",
        "no_clamp": "the hinge is missing: each anchor costs max(0, hardest d(a, p) - hardest d(a, n) + margin)",
        "margin_fixed": "the margin is hard-coded to 0.2: use the margin argument",
        "sum": "the loss is summed over the anchors instead of averaged (divide by the batch size)",
    },
    "info_nce": {
        "no_self_mask": "the self-similarity is not masked: a view is no candidate for itself (set the diagonal "
        "of the (2N, 2N) logits to -inf before the softmax)",
        "self_zero": "the diagonal is set to 0 instead of -inf: exp(0) still adds to the denominator",
        "positive_excluded": "the positive is left out of the denominator: the softmax runs over all 2N - 1 "
        "other views, the positive among them",
        "tau_twice": "the temperature is applied twice (the similarities are divided by tau**2)",
        "no_tau": "the temperature is not applied: divide the cosine similarities by tau",
        "tau_times": "the similarities are multiplied by the temperature: divide them by tau",
        "unnormalised": "the embeddings are not normalised: s is the cosine similarity, so L2-normalise each "
        "embedding first (dot products of raw embeddings are not cosines)",
        "one_direction": "only the first view's N anchors are counted: NT-Xent averages over all 2N views, "
        "each with its partner as the positive",
        "sum": "the loss is summed over the 2N anchors instead of averaged",
    },
}
NOT_FINITE = {
    "info_nce": "exp overflows for large logits: subtract each row's maximum before exp (log-sum-exp), "
    "or logits s / tau of several hundred give inf / inf",
    "batch_hard_triplet_loss": "the distance of a sample to itself is sqrt(0), whose derivative is infinite "
    "(0 * inf = NaN even where it is masked out): take sqrt(clamp(d2, min=1e-12)) or mask before the sqrt",
}


def _randn(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


def pairs(gen: torch.Generator, n: int, dim: int, spread: float = 1.0):
    """``(z1, z2, same)``: n pairs whose distances spread over (0.1, 2) * ``spread``, both labels present."""
    z1 = _randn(gen, n, dim)
    step = _randn(gen, n, dim)
    length = (0.1 + 1.9 * torch.rand(n, 1, generator=gen, dtype=torch.float64)) * spread
    z2 = z1 + step / step.norm(dim=1, keepdim=True) * length  # (n, dim): |z1 - z2| = length
    same = torch.rand(n, generator=gen) < 0.5
    same[0], same[1] = True, False
    return z1, z2, same


def triplets(gen: torch.Generator, n: int, dim: int, scale: float = 0.5):
    """``(anchor, positive, negative)``: n random triplets, about half of them inside the margin 0.2."""
    return tuple(_randn(gen, n, dim) * scale for _ in range(3))


def batch(gen: torch.Generator, classes: int, per_class: int, dim: int, spread: float = 0.7):
    """``(embeddings, labels)``: a shuffled P x K batch (every label at least twice, at least two labels)."""
    labels = torch.arange(classes).repeat_interleave(per_class)[torch.randperm(classes * per_class, generator=gen)]
    centres = _randn(gen, classes, dim) * spread  # 0.7: about 60 % of the anchors inside the margin 0.2
    return centres[labels] + _randn(gen, len(labels), dim) * 0.5, labels


def views(gen: torch.Generator, n: int, dim: int, noise: float = 0.5, dtype=torch.float64):
    """``(z1, z2)``: two views of n embeddings, the second a noisy copy of the first (not normalised)."""
    z1 = _randn(gen, n, dim) * 2.0
    return z1.to(dtype), (z1 + _randn(gen, n, dim) * noise).to(dtype)


def _plain(value):
    """A tensor without its graph, a number or None; anything else as its type's name (plain data for the judge)."""
    if torch.is_tensor(value):
        return value.detach().clone()
    return value if value is None or type(value) in (bool, int, float) else f"<{type(value).__name__}>"


def outcome(fn, inputs: tuple, kwargs: dict) -> dict:
    """Call ``fn(*inputs, **kwargs)`` on fresh leaves: its raw loss, whether a graph connects it to the float
    inputs, and their gradients after ``loss.backward()`` (the judge's probe and the self-checks alike)."""
    leaves = [t.detach().clone().requires_grad_(t.is_floating_point()) for t in inputs]
    loss = fn(*leaves, **kwargs)
    reply = {"loss": _plain(loss), "connected": False, "grads": None}
    if torch.is_tensor(loss) and loss.numel() == 1 and loss.requires_grad:
        reply["connected"] = True
        loss.backward()
        reply["grads"] = [_plain(t.grad) for t in leaves if t.is_floating_point()]
    return reply


def where(inputs: tuple, kwargs: dict) -> str:
    """Which case: the input shapes and the keyword arguments (e.g. "inputs (9, 5), (9, 5), (9,), margin=2")."""
    shapes = ", ".join(str(tuple(t.shape)) for t in inputs)
    options = "".join(f", {k}={v:g}" for k, v in kwargs.items())
    return f"inputs {shapes}{options}" + (", float32" if inputs[0].dtype == torch.float32 else "")


def _hint(name: str, expected: dict, got) -> str:
    if torch.is_tensor(got) and not torch.isfinite(got).all():
        return NOT_FINITE.get(name, "")
    hints = [  # several mistakes can give the same value (0 when every hinge is inactive): name them all
        MISTAKES[name][key]
        for key, value in expected.get("mistakes", {}).items()
        if torch.is_tensor(got) and got.shape == value.shape and torch.allclose(got.double(), value, ATOL, RTOL)
    ]
    return "; or ".join(hints)


def rule(name: str, where: str, expected: dict, got: dict, grads: bool = True, atol=ATOL, rtol=RTOL) -> float:
    """CheckFailed naming the mistake unless ``got`` (an ``outcome``) has ``expected``'s loss (and gradients)."""
    loss = got.get("loss") if isinstance(got, dict) else got
    if torch.is_tensor(loss) and loss.ndim != 0:
        raise CheckFailed(f"{name} ({where}) must return a 0-dim tensor (the mean), got shape {tuple(loss.shape)}")
    try:
        diff = compare(f"{name} loss ({where})", expected["loss"], loss, atol, rtol)
    except CheckFailed as fail:
        hint = _hint(name, expected, loss)
        fail.message += f"; looks like {hint}" if hint else ""
        raise
    if not got.get("connected"):
        raise CheckFailed(
            f"{name} ({where}): the loss is not connected to the embeddings, so no gradient reaches them: do not "
            "detach, call .item(), build a new tensor from numbers or compute under torch.no_grad()"
        )
    if not grads:
        return diff
    for i, (want, have) in enumerate(zip(expected["grads"], got.get("grads") or [None] * len(expected["grads"]))):
        try:
            diff = max(diff, compare(f"{name} gradient of input {i + 1} ({where})", want, have, atol, rtol))
        except CheckFailed as fail:
            hint = NOT_FINITE.get(name, "") if torch.is_tensor(have) and not torch.isfinite(have).all() else ""
            fail.message += f"; looks like {hint}" if hint else ""
            raise
    return diff
