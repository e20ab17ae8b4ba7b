"""Inputs, torch's reference and the known mistakes of attention (exercise 05_attention).

Shared by the scaled dot-product attention checks (``attention.py``) and the multi-head attention
checks (``mha.py``). The reference is torch's own ``F.scaled_dot_product_attention`` (for the
weights too: with the identity as values it returns the attention weights); the mistake
simulators refuse an empty mistake, so nothing here is an answer.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare, hinted

ATOL, RTOL = 1e-10, 1e-8  # float64: only real mistakes exceed this


def _randn(*shape, seed: int) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def causal_mask(length: int) -> torch.Tensor:
    """``(L, L)`` boolean mask, True on and below the diagonal: query i may attend to keys 0..i."""
    return torch.ones(length, length, dtype=torch.bool).tril()


def padding_mask(lengths: list[int], max_length: int) -> torch.Tensor:
    """``(B, 1, 1, Lk)`` boolean mask, True for the first ``lengths[b]`` keys of sequence b."""
    return (torch.arange(max_length)[None, :] < torch.tensor(lengths)[:, None])[:, None, None, :]


# ---------------------------------------------------------------------------------------------
# Scaled dot-product attention: the reference and the known mistakes.
# ---------------------------------------------------------------------------------------------


def attention_variant(q, k, v, mask=None, *, variant: str):
    """One known mistake (``variant``, a key of SDPA_MISTAKES) of masked scaled dot-product attention."""
    if variant not in SDPA_MISTAKES:
        raise ValueError(f"variant: expected one of {sorted(SDPA_MISTAKES)}, got {variant!r}")
    scale = {"no_scale": 1.0, "scale_dk": q.shape[-1], "scale_dv": v.shape[-1] ** 0.5}.get(variant, q.shape[-1] ** 0.5)
    scores = q @ k.transpose(-2, -1) / scale  # (..., Lq, Lk)
    if mask is not None and variant != "mask_ignored":
        if variant == "mask_inverted":
            scores = scores.masked_fill(mask, float("-inf"))
        elif variant == "mask_zero":
            scores = scores.masked_fill(~mask, 0.0)
        elif variant != "mask_after_softmax":
            scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-2 if variant == "softmax_axis" else -1)
    if mask is not None and variant == "mask_after_softmax":
        weights = weights * mask
    return weights @ v, weights


@dataclass(frozen=True)
class Reference:
    """torch's attention, read by name (``.output``, ``.weights``): it does not unpack like an answer."""

    output: torch.Tensor
    weights: torch.Tensor


def reference_attention(q, k, v, mask=None) -> Reference:
    """Output and weights both from torch's F.scaled_dot_product_attention (weights: the values are I)."""
    eye = torch.eye(k.shape[-2], dtype=v.dtype).expand(*k.shape[:-1], k.shape[-2])  # (..., Lk, Lk)
    output = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return Reference(output, F.scaled_dot_product_attention(q, k, eye, attn_mask=mask))


SDPA_MISTAKES = {
    "no_scale": "the scores are not scaled: divide q k^T by sqrt(d_k)",
    "scale_dk": "the scores are divided by d_k instead of sqrt(d_k)",
    "scale_dv": "the scores are divided by sqrt(d_v), the size of the values; use sqrt(d_k), the size of q and k",
    "softmax_axis": "the softmax runs over the wrong axis (the queries); each query's weights over the keys "
    "(the last axis, dim=-1) must sum to one",
    "mask_inverted": "the mask is inverted: True means 'may attend', so fill the scores where the mask is False",
    "mask_after_softmax": "the mask is applied after the softmax (weights zeroed without renormalising): "
    "fill the masked scores with -inf before the softmax",
    "mask_zero": "masked scores are set to 0 instead of -inf, so masked keys still get weight",
    "mask_ignored": "the mask is ignored: keys where the mask is False must get weight 0 (fill their scores with "
    "-inf before the softmax)",
}


def _matches(a, b) -> bool:
    return (
        torch.is_tensor(a)
        and tuple(a.shape) == tuple(b.shape)
        and torch.allclose(a.detach().double(), b, atol=1e-8, rtol=1e-6, equal_nan=True)
    )


def diagnose_sdpa(q, k, v, mask, got_out, got_w) -> str:
    for variant, hint in SDPA_MISTAKES.items():
        if variant.startswith("mask") and mask is None:
            continue
        out, w = attention_variant(q, k, v, mask, variant=variant)
        if _matches(got_w, w) or _matches(got_out, out):
            return hint
    return ""


def _unpack(result, what: str):
    if not (isinstance(result, tuple | list) and len(result) == 2):
        raise CheckFailed(f"{what} should return a tuple (output, weights), got {type(result).__name__}")
    return result


def _compare_sdpa(fn, q, k, v, mask, case: str) -> float:
    args = (q.clone(), k.clone(), v.clone()) + ((mask.clone(),) if mask is not None else ())
    got_out, got_w = _unpack(fn(*args), "scaled_dot_product_attention")
    ref = reference_attention(q, k, v, mask)
    hint = functools.partial(diagnose_sdpa, q, k, v, mask, got_out, got_w)  # runs only on a mismatch
    return compare_attention(case, (ref.output, ref.weights), (got_out, got_w), hint)


def compare_attention(where: str, expected: tuple, got: tuple, hint, shapes: tuple = ("", "")) -> float:
    """The largest difference of (output, weights) ``got`` from ``expected``, the weights compared first;
    a mismatch ends with "looks like <hint()>" (``shapes``: the (output, weights) shapes named in it)."""
    (exp_out, exp_w), (got_out, got_w) = expected, got
    with hinted(hint):
        diff = compare(f"{where}: weights{shapes[1]}", exp_w, got_w, ATOL, RTOL)
        return max(diff, compare(f"{where}: output{shapes[0]}", exp_out, got_out, ATOL, RTOL))


def _check_fn(fn) -> None:
    if not callable(fn):
        raise CheckArgumentError(f"fn: expected the scaled_dot_product_attention function, got {type(fn).__name__}")
