"""Judge of 08_similarity: the four losses and their gradients on secret inputs.

The probe (adl4cv_utils.checks.similarity.probes) returns what the student's loss computed on inputs
drawn here (with the self-checks' builders, at secret sizes, margins and temperatures), whether it is
connected to the embeddings and their gradients; the reference (reference.py, float64 autograd) and
its known mistakes are computed here, and the self-checks' ``rule`` decides and names the mistake.
"""

from __future__ import annotations

import torch

from adl4cv_grading.exercises.similarity.reference import outcome
from adl4cv_grading.judge_tests import Context, judge_test
from adl4cv_utils.checks.similarity import cases as S


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return round(low + (high - low) * float(torch.rand((), generator=gen)), 4)


def _size(gen: torch.Generator, low: int, high: int) -> int:
    return int(torch.randint(low, high, (1,), generator=gen))


def _judge(ctx: Context, name: str, salt: str, options, grads: bool = True, tolerances=None, **build) -> float:
    """Rule on ``name`` for one case per entry of ``options`` (a margin or temperature; None: the default)."""
    gen = ctx.generator(f"{name}:{salt}")
    keyword, builder = BUILDERS[name]
    diff = 0.0
    for value in options:
        inputs, kwargs = builder(gen, value, **build), ({} if value is None else {keyword: value})
        got = ctx.probe("similarity.loss", fn=name, inputs=list(inputs), kwargs=kwargs)
        expected = outcome(name, inputs, kwargs)
        diff = max(diff, S.rule(name, S.where(inputs, kwargs), expected, got, grads, **(tolerances or {})))
    return diff


BUILDERS = {  # graded name -> (its keyword, builder(gen, value) of secret inputs)
    "contrastive_loss": (
        "margin",
        lambda gen, m: S.pairs(gen, _size(gen, 3, 16), _size(gen, 2, 9), 1.0 if m is None else m),
    ),
    "triplet_loss": ("margin", lambda gen, m: S.triplets(gen, _size(gen, 3, 16), _size(gen, 2, 9))),
    "batch_hard_triplet_loss": (
        "margin",
        lambda gen, m, classes=(2, 5), spread=0.7: S.batch(
            gen, _size(gen, *classes), _size(gen, 2, 5), _size(gen, 2, 8), spread
        ),
    ),
    "info_nce": (
        "temperature",
        lambda gen, t, noise=0.5, dtype=torch.float64, sizes=(3, 12): S.views(
            gen, _size(gen, *sizes), _size(gen, 3, 17), noise=noise, dtype=dtype
        ),
    ),
}
DEFAULTS = [None] * 3


def _register_margin_tests(name: str, prefix: str, noun: str, small: tuple, large: tuple) -> None:
    """The three judge tests of a pair or triplet loss: default margin, two secret margins, hidden cases."""

    def values(ctx: Context):
        return f"loss and gradients right on 3 batches of {noun}", _judge(ctx, name, "values", DEFAULTS)

    def margin(ctx: Context):
        gen = ctx.generator("margins")
        margins = [_uniform(gen, *small), _uniform(gen, *large)]
        return f"right for margins {margins}", _judge(ctx, name, "margin", margins)

    def hidden(ctx: Context):
        return f"right on other random {noun}", _judge(ctx, name, "hidden", DEFAULTS)

    for suffix, fn in (("values", values), ("margin", margin), ("hidden", hidden)):
        judge_test(f"{prefix}_{suffix}", name)(fn)


_register_margin_tests("contrastive_loss", "contrastive", "pairs", (0.3, 0.8), (1.5, 3.0))
_register_margin_tests("triplet_loss", "triplet", "triplets", (0.02, 0.1), (0.6, 1.5))


def _batch_margins(ctx: Context) -> list:
    """The default, and two secret margins (two: a batch may have every anchor inactive even at 0.8)."""
    gen = ctx.generator("margin")
    return [None, _uniform(gen, 0.3, 0.8), _uniform(gen, 0.3, 0.8)]


@judge_test("batch_hard_values", "batch_hard_triplet_loss")
def batch_hard_values(ctx: Context):
    margins = _batch_margins(ctx)
    diff = _judge(ctx, "batch_hard_triplet_loss", "values", margins, grads=False)
    return f"loss right on 3 labelled batches (margins 0.2, {margins[1]}, {margins[2]})", diff


@judge_test("batch_hard_gradients", "batch_hard_triplet_loss")
def batch_hard_gradients(ctx: Context):
    gen = ctx.generator("margin")
    margins = [_uniform(gen, 0.1, 0.5), _uniform(gen, 0.1, 0.5)]
    # wider-spread classes: some anchors inside the margin, some not (a hinge that is never 0 shows here too)
    diff = _judge(ctx, "batch_hard_triplet_loss", "gradients", margins, classes=(3, 6), spread=1.0)
    return "gradients finite and right on 2 labelled batches", diff


@judge_test("batch_hard_hidden", "batch_hard_triplet_loss")
def batch_hard_hidden(ctx: Context):
    diff = _judge(ctx, "batch_hard_triplet_loss", "hidden", _batch_margins(ctx), grads=False)
    return "loss right on other labelled batches", diff


@judge_test("info_nce_values", "info_nce")
def info_nce_values(ctx: Context):
    return "loss and gradients right on 3 pairs of views", _judge(ctx, "info_nce", "values", DEFAULTS)


@judge_test("info_nce_temperature", "info_nce")
def info_nce_temperature(ctx: Context):
    gen = ctx.generator("temperatures")
    taus = [_uniform(gen, 0.05, 0.15), 1.0, _uniform(gen, 0.2, 0.4)]
    return f"right for temperatures {taus}", _judge(ctx, "info_nce", "temperature", taus)


@judge_test("info_nce_stability", "info_nce")
def info_nce_stability(ctx: Context):
    gen = ctx.generator("temperatures")
    # max logits near 1/tau: thousands (float64) and hundreds (float32), far beyond the range of exp; noisy
    # views of 8-11 images, so that some negative beats a positive (else the loss is ~0 for any temperature)
    tau64, tau32 = _uniform(gen, 2e-4, 5e-4), _uniform(gen, 2e-3, 4e-3)
    hard = {"noise": 5.0, "sizes": (8, 12)}
    diff = _judge(ctx, "info_nce", "large64", [tau64], **hard)
    large32 = _judge(ctx, "info_nce", "large32", [tau32], False, S.F32, dtype=torch.float32, **hard)
    return f"finite and right at temperature {tau64:g} (float64) and {tau32:g} (float32)", max(diff, large32)


@judge_test("info_nce_hidden", "info_nce")
def info_nce_hidden(ctx: Context):
    return "right on other random views", _judge(ctx, "info_nce", "hidden", DEFAULTS)
