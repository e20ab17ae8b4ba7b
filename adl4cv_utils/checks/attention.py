"""Are a student's scaled dot-product attention and multi-head attention right? (chapter 7, exercise 05_attention)

The references are torch's own: ``torch.nn.functional.scaled_dot_product_attention`` for the
output (its boolean mask has the course's meaning, True = may attend), a softmax of the masked,
scaled scores for the weights, and ``torch.nn.MultiheadAttention(batch_first=True)`` loaded with the
student's projection weights (its ``in_proj_weight`` is the concatenation of the q, k and v
weights; its boolean ``attn_mask`` means the opposite, True = may NOT attend; per-head weights
with ``average_attn_weights=False``). Everything runs in float64.

The contract (DESIGN.md): ``scaled_dot_product_attention(q, k, v, mask=None) -> (output, weights)``
for ``q (..., Lq, d_k)``, ``k (..., Lk, d_k)``, ``v (..., Lk, d_v)`` and a boolean ``mask``
broadcastable to ``(..., Lq, Lk)``; ``MultiHeadAttention(embed_dim, num_heads)`` with ``q_proj``,
``k_proj``, ``v_proj``, ``out_proj`` (``nn.Linear(embed_dim, embed_dim)`` with bias) and
``forward(query, key, value, mask=None) -> (output (B, Lq, E), weights (B, num_heads, Lq, Lk))``,
batch first, ``mask`` broadcastable to ``(B, num_heads, Lq, Lk)``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare, run_check

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
    if mask is not None:
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
}


def _matches(a, b) -> bool:
    return (
        torch.is_tensor(a)
        and tuple(a.shape) == tuple(b.shape)
        and torch.allclose(a.detach().double(), b, atol=1e-8, rtol=1e-6, equal_nan=True)
    )


def _diagnose_sdpa(q, k, v, mask, got_out, got_w) -> str:
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
    exp_out, exp_w = ref.output, ref.weights
    try:
        diff = compare(f"{case}: weights", exp_w, got_w, ATOL, RTOL)
        diff = max(diff, compare(f"{case}: output", exp_out, got_out, ATOL, RTOL))
    except CheckFailed as fail:
        hint = _diagnose_sdpa(q, k, v, mask, got_out, got_w)
        fail.message += f"; looks like {hint}" if hint else ""
        raise
    return diff


def _check_fn(fn) -> None:
    if not callable(fn):
        raise CheckArgumentError(f"fn: expected the scaled_dot_product_attention function, got {type(fn).__name__}")


# ---------------------------------------------------------------------------------------------
# Checks of scaled_dot_product_attention.
# ---------------------------------------------------------------------------------------------


@run_check("attention output")
def check_sdpa_output(fn):
    """Without a mask, is the output that of F.scaled_dot_product_attention (Lq != Lk, d_v != d_k, 2 batch dims)?"""
    _check_fn(fn)
    q, k, v = _randn(2, 3, 5, 4, seed=0), _randn(2, 3, 7, 4, seed=1), _randn(2, 3, 7, 6, seed=2)
    got_out, got_w = _unpack(fn(q.clone(), k.clone(), v.clone()), "scaled_dot_product_attention")
    exp_out = reference_attention(q, k, v).output
    try:
        diff = compare("q (2, 3, 5, 4), k (2, 3, 7, 4), v (2, 3, 7, 6): output", exp_out, got_out, ATOL, RTOL)
    except CheckFailed as fail:
        hint = _diagnose_sdpa(q, k, v, None, got_out, got_w)
        fail.message += f"; looks like {hint}" if hint else ""
        raise
    return "matches torch's F.scaled_dot_product_attention", diff


@run_check("attention weights")
def check_sdpa_weights(fn):
    """Are the weights softmax(q k^T / sqrt(d_k)) of shape (..., Lq, Lk), each query's row summing to one?"""
    _check_fn(fn)
    q, k, v = 2 * _randn(3, 6, 8, seed=3), 2 * _randn(3, 4, 8, seed=4), _randn(3, 4, 5, seed=5)
    got_out, got_w = _unpack(fn(q.clone(), k.clone(), v.clone()), "scaled_dot_product_attention")
    exp_w = reference_attention(q, k, v).weights
    try:
        compare("q (3, 6, 8), k (3, 4, 8): weights", exp_w, got_w, 1.0, 1.0)  # shape and finiteness first
        sums = got_w.detach().double().sum(dim=-1)
        if not torch.allclose(sums, torch.ones_like(sums), atol=1e-8):
            raise CheckFailed(
                "the weights of each query (a row over the keys) should sum to one",
                "all ones",
                sums,
                float((sums - 1).abs().max()),
            )
        diff = compare("q (3, 6, 8), k (3, 4, 8): weights", exp_w, got_w, ATOL, RTOL)
    except CheckFailed as fail:
        hint = _diagnose_sdpa(q, k, v, None, got_out, got_w)
        fail.message += f"; looks like {hint}" if hint else ""
        raise
    return "weights right, each row sums to one", diff


@run_check("causal mask")
def check_sdpa_causal_mask(fn):
    """With a causal (L, L) mask broadcast over the batch, do masked keys get weight exactly 0 and the rest match?"""
    _check_fn(fn)
    q, k, v = _randn(2, 6, 4, seed=6), _randn(2, 6, 4, seed=7), _randn(2, 6, 3, seed=8)
    diff = _compare_sdpa(fn, q, k, v, causal_mask(6), "causal mask (6, 6), q (2, 6, 4)")
    return "causal mask right", diff


@run_check("padding mask")
def check_sdpa_padding_mask(fn):
    """With a padding mask (B, 1, 1, Lk) that hides the last keys of each sequence, is everything right?"""
    _check_fn(fn)
    q, k, v = _randn(3, 2, 4, 5, seed=9), _randn(3, 2, 6, 5, seed=10), _randn(3, 2, 6, 5, seed=11)
    diff = _compare_sdpa(fn, q, k, v, padding_mask([6, 3, 1], 6), "padding mask (3, 1, 1, 6), q (3, 2, 4, 5)")
    return "padding mask right", diff


@run_check("leading batch dimensions")
def check_sdpa_batch_dims(fn):
    """Does it work with no batch dimension, one, and three (with a mask broadcast over some of them)?"""
    _check_fn(fn)
    diff = _compare_sdpa(fn, _randn(5, 3, seed=12), _randn(4, 3, seed=13), _randn(4, 2, seed=14), None, "q (5, 3)")
    diff = max(
        diff,
        _compare_sdpa(
            fn, _randn(1, 1, 3, seed=15), _randn(1, 2, 3, seed=16), _randn(1, 2, 3, seed=17), None, "q (1, 1, 3)"
        ),
    )
    mask = torch.rand(2, 1, 3, 4, 5, generator=torch.Generator().manual_seed(18)) < 0.6
    mask[..., 0] = True  # every query may attend to at least one key
    q, k, v = _randn(2, 3, 3, 4, 6, seed=19), _randn(2, 3, 3, 5, 6, seed=20), _randn(2, 3, 3, 5, 2, seed=21)
    diff = max(diff, _compare_sdpa(fn, q, k, v, mask, "q (2, 3, 3, 4, 6) with a random mask (2, 1, 3, 4, 5)"))
    return "right for 0, 1 and 3 leading dimensions", diff


@run_check("attention gradients")
def check_sdpa_gradients(fn):
    """Are the gradients of q, k and v (through output and weights, with a mask) the same as the reference's?"""
    _check_fn(fn)
    q, k, v = _randn(2, 5, 4, seed=22), _randn(2, 5, 4, seed=23), _randn(2, 5, 3, seed=24)
    mask, g_out, g_w = causal_mask(5), _randn(2, 5, 3, seed=25), _randn(2, 5, 5, seed=26)
    grads = []
    for f in (lambda *a: (reference_attention(*a).output, reference_attention(*a).weights), fn):
        leaves = [t.clone().requires_grad_() for t in (q, k, v)]
        out, w = _unpack(f(*leaves, mask.clone()), "scaled_dot_product_attention")
        loss = (out * g_out).sum() + (w * g_w).sum()
        if not loss.requires_grad:
            raise CheckFailed(
                "q, k and v get no gradient: compute the attention with torch operations "
                "(no .detach(), .numpy() or torch.no_grad())"
            )
        loss.backward()
        grads.append([t.grad for t in leaves])
    diff = 0.0
    for name, exp, got in zip("qkv", *grads):
        if got is None:
            raise CheckFailed(f"{name} gets no gradient: compute the attention with torch operations on q, k, v")
        diff = max(diff, compare(f"gradient of {name}", exp, got, 1e-9, 1e-7))
    return "gradients of q, k and v right", diff


# ---------------------------------------------------------------------------------------------
# Multi-head attention: the reference, the known mistakes and the side-by-side harness.
# ---------------------------------------------------------------------------------------------

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")


def reference_mha(embed_dim: int, num_heads: int, seed: int = 0) -> nn.MultiheadAttention:
    """torch's nn.MultiheadAttention (batch first, float64) with random weights and biases."""
    mha = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        mha.in_proj_weight.copy_(_randn(3 * embed_dim, embed_dim, seed=seed) / embed_dim**0.5)
        mha.in_proj_bias.copy_(0.2 * _randn(3 * embed_dim, seed=seed + 1))
        mha.out_proj.weight.copy_(_randn(embed_dim, embed_dim, seed=seed + 2) / embed_dim**0.5)
        mha.out_proj.bias.copy_(0.2 * _randn(embed_dim, seed=seed + 3))
    return mha


def _ref_weights(ref: nn.MultiheadAttention) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of q_proj, k_proj, v_proj, out_proj under the contract's names."""
    w, b = ref.in_proj_weight.detach().chunk(3), ref.in_proj_bias.detach().chunk(3)
    out = (ref.out_proj.weight.detach(), ref.out_proj.bias.detach())
    return {"q_proj": (w[0], b[0]), "k_proj": (w[1], b[1]), "v_proj": (w[2], b[2]), "out_proj": out}


def run_reference_mha(ref: nn.MultiheadAttention, query, key, value, mask=None):
    """torch's MHA with the course's mask (True = may attend, broadcastable to (B, h, Lq, Lk)); per-head weights."""
    attn_mask = None
    if mask is not None:
        b, lq, lk, h = query.shape[0], query.shape[1], key.shape[1], ref.num_heads
        attn_mask = ~mask.expand(b, h, lq, lk).reshape(b * h, lq, lk)  # torch: True = may NOT attend
    with torch.no_grad():
        return ref(query, key, value, attn_mask=attn_mask, need_weights=True, average_attn_weights=False)


def mha_variant(params, num_heads, query, key, value, mask=None, variant: str = "", attn: str = ""):
    """One known mistake of multi-head attention from (weight, bias) pairs (``variant`` or ``attn``: not both empty)."""
    if not variant and not attn:
        raise ValueError("variant, attn: expected a known mistake in one of them (the reference is torch's MHA)")
    (b, lq, e), h = query.shape, num_heads
    d = e // h

    def lin(x, name):
        w, bias = params[name]
        return x @ w.T + bias

    q = lin(query, "q_proj")
    k = lin(query if variant == "from_query" else key, "k_proj")
    v = lin(query if variant == "from_query" else value, "v_proj")
    if variant == "kv_swapped":
        k, v = lin(key, "v_proj"), lin(value, "k_proj")

    def split(x):  # (B, L, E) -> (B, h, L, d)
        if variant in ("view_split", "view_both"):
            return x.reshape(b, h, x.shape[1], d)
        return x.reshape(b, x.shape[1], h, d).transpose(1, 2)

    q, k, v = split(q), split(k), split(v)
    if variant == "scale_embed_dim":
        q = q * (d / e) ** 0.5  # makes the scores q k^T / sqrt(E)
    if attn:
        out, weights = attention_variant(q, k, v, mask, variant=attn)
    else:
        ref = reference_attention(q, k, v, mask)
        out, weights = ref.output, ref.weights
    merged = out.reshape(b, lq, e) if variant in ("view_merge", "view_both") else out.transpose(1, 2).reshape(b, lq, e)
    return (merged if variant == "no_out_proj" else lin(merged, "out_proj")), weights


MHA_MISTAKES = {
    "view_split": "the heads are split without transposing: (B, L, E) -> (B, L, h, d) must be followed by "
    ".transpose(1, 2) to get (B, h, L, d); a view/reshape straight to (B, h, L, d) mixes positions and heads",
    "view_both": "the heads are split (and merged) without transposing: reshape (B, L, E) -> (B, L, h, d), "
    "then .transpose(1, 2) to (B, h, L, d); merge back with .transpose(1, 2).reshape(B, L, E)",
    "view_merge": "the heads are merged without transposing back: (B, h, Lq, d) needs .transpose(1, 2) "
    "before .reshape(B, Lq, E)",
    "no_out_proj": "the output projection is missing: apply self.out_proj to the merged heads",
    "kv_swapped": "the k and v projections are swapped: k = k_proj(key), v = v_proj(value)",
    "from_query": "keys and values are computed from the query: use k_proj(key) and v_proj(value) "
    "(they differ in cross-attention)",
    "scale_embed_dim": "the scores are scaled by sqrt(embed_dim); each head scales by sqrt(head_dim) = "
    "sqrt(embed_dim / num_heads)",
}


def _diagnose_mha(params, h, query, key, value, mask, got_out, got_w, right_out, right_w) -> str:
    if torch.is_tensor(got_w) and tuple(got_w.shape) == tuple(right_w.mean(dim=1).shape):
        return "the weights are averaged over the heads; return them per head, (B, num_heads, Lq, Lk)"
    for variant, hint in MHA_MISTAKES.items():
        out = mha_variant(params, h, query, key, value, mask, variant)[0]
        if not _matches(out, right_out) and _matches(got_out, out):  # (from_query is right in self-attention)
            return hint
    for attn, hint in SDPA_MISTAKES.items():
        if attn.startswith("mask") and mask is None:
            continue
        out, w = mha_variant(params, h, query, key, value, mask, attn=attn)
        if _matches(w, right_w):
            continue  # this mistake makes no difference here (e.g. d_v == d_k in every head)
        if _matches(got_out, out) or _matches(got_w, w):
            return f"inside the attention: {hint}"
    return ""


def _build_mha(cls, e: int, h: int) -> nn.Module:
    try:
        module = cls(e, h)
    except TypeError as error:
        raise CheckFailed(
            f"{getattr(cls, '__name__', cls)}({e}, {h}) failed: {error}. "
            "The constructor must accept: embed_dim, num_heads"
        ) from error
    if not isinstance(module, nn.Module):
        raise CheckFailed(f"{getattr(cls, '__name__', cls)} must be a subclass of nn.Module")
    for name in PROJECTIONS:
        layer = getattr(module, name, None)
        if not isinstance(layer, nn.Linear):
            raise CheckFailed(f"self.{name} should be an nn.Linear({e}, {e}), got {type(layer).__name__}")
        if (layer.in_features, layer.out_features) != (e, e):
            raise CheckFailed(
                f"self.{name} should map embed_dim -> embed_dim ({e} -> {e}), "
                f"got {layer.in_features} -> {layer.out_features}"
            )
        if layer.bias is None:
            raise CheckFailed(f"self.{name} has no bias: use nn.Linear(embed_dim, embed_dim) (bias=True)")
    return module.double()


def _mha_side_by_side(cls, e, h, lq, lk, mask=None, cross=True, seed=0, case="") -> float:
    """Run the student's module and torch's MHA with the same weights; raise CheckFailed naming the mistake."""
    module, ref = _build_mha(cls, e, h), reference_mha(e, h, seed)
    params = _ref_weights(ref)
    with torch.no_grad():
        for name, (w, b) in params.items():
            getattr(module, name).weight.copy_(w)
            getattr(module, name).bias.copy_(b)
    query = _randn(2, lq, e, seed=seed + 10)
    key = _randn(2, lk, e, seed=seed + 11) if cross else query
    value = _randn(2, lk, e, seed=seed + 12) if cross else query
    args = (query.clone(), key.clone(), value.clone()) + ((mask.clone(),) if mask is not None else ())
    got_out, got_w = _unpack(module(*args), f"{cls.__name__}.forward")
    exp_out, exp_w = run_reference_mha(ref, query, key, value, mask)
    where = f"embed_dim={e}, num_heads={h}, {case}"
    try:
        diff = compare(f"{where}: weights (B, num_heads, Lq, Lk)", exp_w, got_w, ATOL, RTOL)
        diff = max(diff, compare(f"{where}: output (B, Lq, embed_dim)", exp_out, got_out, ATOL, RTOL))
    except CheckFailed as fail:
        hint = _diagnose_mha(params, h, query, key, value, mask, got_out, got_w, exp_out, exp_w)
        fail.message += f"; looks like {hint}" if hint else ""
        raise
    return diff


def _check_cls(cls) -> None:
    if not callable(cls):
        raise CheckArgumentError(f"cls: expected the MultiHeadAttention class, got {type(cls).__name__}")


# ---------------------------------------------------------------------------------------------
# Checks of MultiHeadAttention.
# ---------------------------------------------------------------------------------------------


@run_check("multi-head interface")
def check_mha_interface(cls):
    """Is it an nn.Module with q_proj, k_proj, v_proj, out_proj (Linear E -> E with bias), nothing else,
    and does it raise ValueError when embed_dim is not divisible by num_heads?"""
    _check_cls(cls)
    params = inspect.signature(cls.forward).parameters if isinstance(cls, type) else {}
    missing = [n for n in ("query", "key", "value", "mask") if n not in params]
    if missing:
        raise CheckFailed(f"forward should take (query, key, value, mask=None); missing {missing}")
    module = _build_mha(cls, 12, 3)
    extra = sorted(n for n, _ in module.named_parameters() if n.split(".")[0] not in PROJECTIONS)
    if extra:
        raise CheckFailed(f"unexpected parameters {extra}: only the four projections have weights")
    try:
        cls(10, 3)
    except ValueError:
        pass
    else:
        raise CheckFailed("MultiHeadAttention(10, 3) should raise ValueError: embed_dim must be divisible by num_heads")
    return "four projections E -> E with bias; ValueError when embed_dim % num_heads != 0"


@run_check("multi-head self-attention")
def check_mha_self_attention(cls):
    """For self-attention (query = key = value) with several heads, do output and per-head weights match torch's?"""
    _check_cls(cls)
    diff = _mha_side_by_side(cls, 12, 3, 5, 5, cross=False, seed=0, case="self-attention, L=5")
    diff = max(diff, _mha_side_by_side(cls, 8, 2, 3, 3, cross=False, seed=100, case="self-attention, L=3"))
    return "matches torch.nn.MultiheadAttention in self-attention", diff


@run_check("multi-head cross-attention")
def check_mha_cross_attention(cls):
    """With query, key and value all different and Lq != Lk, do output and weights match torch's?"""
    _check_cls(cls)
    diff = _mha_side_by_side(cls, 12, 4, 3, 6, cross=True, seed=200, case="cross-attention, Lq=3, Lk=6")
    return "matches torch.nn.MultiheadAttention in cross-attention", diff


@run_check("multi-head masks")
def check_mha_mask(cls):
    """With a causal mask (L, L) and a padding mask (B, 1, 1, Lk), do output and weights match torch's?"""
    _check_cls(cls)
    diff = _mha_side_by_side(cls, 12, 3, 5, 5, causal_mask(5), cross=False, seed=300, case="causal mask (5, 5)")
    diff = max(
        diff,
        _mha_side_by_side(cls, 12, 3, 4, 6, padding_mask([6, 2], 6), seed=400, case="padding mask (2, 1, 1, 6)"),
    )
    return "masks right (True = may attend)", diff


@run_check("multi-head: other head counts")
def check_mha_heads(cls):
    """With one head, with head size 1 (num_heads = embed_dim) and with 4 heads of 4, is everything right?"""
    _check_cls(cls)
    diff = 0.0
    for i, (e, h) in enumerate(((6, 1), (6, 6), (16, 4))):
        diff = max(diff, _mha_side_by_side(cls, e, h, 4, 3, seed=500 + 10 * i, case="cross-attention"))
    return "right for 1 head, head size 1 and 4 heads", diff


@run_check("multi-head gradients")
def check_mha_gradients(cls):
    """Are the gradients of the projections' weights and of the inputs the same as torch's?"""
    _check_cls(cls)
    e, h = 8, 2
    module, ref = _build_mha(cls, e, h), reference_mha(e, h, seed=600)
    with torch.no_grad():
        for name, (w, b) in _ref_weights(ref).items():
            getattr(module, name).weight.copy_(w)
            getattr(module, name).bias.copy_(b)
    query, key, value = _randn(2, 3, e, seed=610), _randn(2, 4, e, seed=611), _randn(2, 4, e, seed=612)
    g_out, mask = _randn(2, 3, e, seed=613), padding_mask([4, 3], 4)
    grads = []
    for run in (
        lambda *a: ref(*a, attn_mask=~mask.expand(2, h, 3, 4).reshape(2 * h, 3, 4), need_weights=False)[0],
        lambda *a: _unpack(module(*a, mask.clone()), f"{cls.__name__}.forward")[0],
    ):
        leaves = [t.clone().requires_grad_() for t in (query, key, value)]
        (run(*leaves) * g_out).sum().backward()
        grads.append([t.grad for t in leaves])
    diff = 0.0
    for name, exp, got in zip(("query", "key", "value"), *grads):
        if got is None:
            raise CheckFailed(f"the {name} gets no gradient")
        diff = max(diff, compare(f"gradient of the {name}", exp, got, 1e-9, 1e-7))
    w_grad = ref.in_proj_weight.grad.chunk(3) + (ref.out_proj.weight.grad,)
    for name, exp in zip(PROJECTIONS, w_grad):
        diff = max(diff, compare(f"gradient of {name}.weight", exp, getattr(module, name).weight.grad, 1e-9, 1e-7))
    return "gradients of inputs and projection weights right", diff
