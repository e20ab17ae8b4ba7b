"""Are a student's similarity losses right? (chapter 10, exercise 08_similarity)

``contrastive_loss`` (Hadsell et al. 2006), ``triplet_loss`` (FaceNet's hinge on Euclidean distances),
``batch_hard_triplet_loss`` (Hermans et al. 2017) and ``info_nce`` (SimCLR's NT-Xent, Chen et al. 2020)
are called on fixed seeded cases (``CASES``); their loss and its autograd gradients are compared with
the values the instructor's references stored in ``checks/expected/similarity.pt``, and a wrong loss
with the stored values of the known mistakes (``cases.MISTAKES``), so that the message names it.
"""

from __future__ import annotations

import torch

from adl4cv_utils.checks import fixtures
from adl4cv_utils.checks.result import CheckArgumentError, run_check
from adl4cv_utils.checks.similarity.cases import (  # noqa: F401
    F32,
    GRADED,
    MISTAKES,
    NOT_FINITE,
    batch,
    outcome,
    pairs,
    rule,
    triplets,
    views,
    where,
)


def _gen(seed: int, salt: int) -> torch.Generator:
    return torch.Generator().manual_seed(1000 * seed + salt)


def _declare() -> dict[str, tuple[str, tuple, dict]]:
    """{case key: (graded name, inputs, kwargs)}: every input the self-checks use."""
    cases: dict[str, tuple[str, tuple, dict]] = {}
    for seed in (0, 1):
        for i, (n, dim) in enumerate(((9, 5), (7, 3), (13, 8))):
            cases[f"contrastive/seed={seed}/{i}"] = ("contrastive_loss", pairs(_gen(seed, i), n, dim), {})
        for i, (n, dim) in enumerate(((10, 4), (6, 3), (15, 8))):
            cases[f"triplet/seed={seed}/{i}"] = ("triplet_loss", triplets(_gen(seed, 10 + i), n, dim), {})
        for i, (k, p, dim, margin) in enumerate(((3, 3, 4, None), (4, 2, 3, None), (2, 5, 6, 0.5))):
            kwargs = {} if margin is None else {"margin": margin}
            cases[f"batch_hard/seed={seed}/{i}"] = (
                "batch_hard_triplet_loss",
                batch(_gen(seed, 20 + i), k, p, dim),
                kwargs,
            )
        for i, (n, dim) in enumerate(((8, 5), (5, 3), (12, 16))):
            cases[f"info_nce/seed={seed}/{i}"] = ("info_nce", views(_gen(seed, 30 + i), n, dim), {})
    for i, margin in enumerate((0.5, 2.0)):
        cases[f"contrastive/margin={margin}"] = (
            "contrastive_loss",
            pairs(_gen(5, i), 11, 4, margin),
            {"margin": margin},
        )
    for i, margin in enumerate((0.05, 1.0)):
        cases[f"triplet/margin={margin}"] = ("triplet_loss", triplets(_gen(5, 10 + i), 12, 5), {"margin": margin})
    cases["batch_hard/gradients"] = ("batch_hard_triplet_loss", batch(_gen(5, 20), 4, 4, 5), {"margin": 0.3})
    for i, tau in enumerate((0.1, 1.0, 0.07)):
        cases[f"info_nce/tau={tau}"] = ("info_nce", views(_gen(5, 30 + i), 7, 6), {"temperature": tau})
    cases["info_nce/large/float64"] = ("info_nce", views(_gen(5, 40), 6, 4, noise=2.5), {"temperature": 3e-4})
    cases["info_nce/large/float32"] = (
        "info_nce",
        views(_gen(5, 41), 6, 4, noise=2.5, dtype=torch.float32),
        {"temperature": 3e-3},
    )
    return cases


CASES = _declare()


def _run(fn, keys, grads: bool = True, tolerances: dict | None = None) -> float:
    diff = 0.0
    for key in keys:
        name, inputs, kwargs = CASES[key]
        got = outcome(fn, inputs, kwargs)
        expected = fixtures.expected("similarity", key)
        diff = max(diff, rule(name, where(inputs, kwargs), expected, got, grads, **(tolerances or {})))
    return diff


def _seeded(prefix: str, seed: int) -> list[str]:
    keys = [k for k in CASES if k.startswith(f"{prefix}/seed={seed}/")]
    if not keys:
        raise CheckArgumentError(f"seed: expected 0 or 1 (the seeds with stored values), got {seed!r}")
    return keys


@run_check("contrastive loss")
def check_contrastive_loss(contrastive_loss, seed: int = 0):
    """Do the loss and its gradients match Hadsell et al.'s contrastive loss (margin 1) on 3 batches of pairs?"""
    return "loss and gradients right on 3 batches of pairs", _run(contrastive_loss, _seeded("contrastive", seed))


@run_check("contrastive loss, margin")
def check_contrastive_margin(contrastive_loss):
    """Is the margin argument used (margins 0.5 and 2, pairs on both sides of it)?"""
    return "right for margins 0.5 and 2", _run(contrastive_loss, ["contrastive/margin=0.5", "contrastive/margin=2.0"])


@run_check("triplet loss")
def check_triplet_loss(triplet_loss, seed: int = 0):
    """Do the loss and its gradients match max(0, d(a,p) - d(a,n) + 0.2), averaged, on 3 batches of triplets?"""
    return "loss and gradients right on 3 batches of triplets", _run(triplet_loss, _seeded("triplet", seed))


@run_check("triplet loss, margin")
def check_triplet_margin(triplet_loss):
    """Is the margin argument used (margins 0.05 and 1)?"""
    return "right for margins 0.05 and 1", _run(triplet_loss, ["triplet/margin=0.05", "triplet/margin=1.0"])


@run_check("batch-hard triplet loss")
def check_batch_hard_loss(batch_hard_triplet_loss, seed: int = 0):
    """Does the loss take the hardest positive and negative of each anchor (3 labelled batches, one margin 0.5)?"""
    return "loss right on 3 labelled batches", _run(batch_hard_triplet_loss, _seeded("batch_hard", seed), grads=False)


@run_check("batch-hard triplet loss, gradients")
def check_batch_hard_gradients(batch_hard_triplet_loss):
    """Are the gradients finite and right (the distance of a sample to itself must not give NaN)?"""
    return "gradients finite and right", _run(batch_hard_triplet_loss, ["batch_hard/gradients"])


@run_check("InfoNCE (NT-Xent)")
def check_info_nce(info_nce, seed: int = 0):
    """Do the loss and its gradients match SimCLR's NT-Xent (temperature 0.5) on 3 pairs of views?"""
    return "loss and gradients right on 3 pairs of views", _run(info_nce, _seeded("info_nce", seed))


@run_check("InfoNCE, temperature")
def check_info_nce_temperature(info_nce):
    """Is the temperature argument used, once and as a divisor (0.1, 1 and 0.07)?"""
    return "right for temperatures 0.1, 1 and 0.07", _run(info_nce, [f"info_nce/tau={t}" for t in (0.1, 1.0, 0.07)])


@run_check("InfoNCE, large logits")
def check_info_nce_stability(info_nce):
    """Is the loss finite and right for logits in the thousands (tau 0.0003, float64) and hundreds (float32)?"""
    diff = _run(info_nce, ["info_nce/large/float64"])
    diff = max(diff, _run(info_nce, ["info_nce/large/float32"], grads=False, tolerances=F32))
    return "finite and right at temperature 0.0003 (float64) and 0.003 (float32)", diff
