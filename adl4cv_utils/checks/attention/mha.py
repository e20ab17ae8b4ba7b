"""Is a student's MultiHeadAttention right? (chapter 7, exercise 05_attention)

Side by side with ``torch.nn.MultiheadAttention(batch_first=True)`` loaded with the student's
projection weights (its ``in_proj_weight`` is the concatenation of the q, k and v weights; its
boolean ``attn_mask`` means the opposite, True = may NOT attend; per-head weights with
``average_attn_weights=False``), in float64. Known mistakes (heads split without transposing, no
output projection, k and v swapped, ...) are simulated and named. Test cells reach these checks
through ``attention``.
"""

from __future__ import annotations

import functools
import inspect

import torch
from torch import nn

from adl4cv_utils.checks.attention.common import (
    SDPA_MISTAKES,
    _matches,
    _randn,
    _unpack,
    attention_variant,
    causal_mask,
    compare_attention,
    padding_mask,
    reference_attention,
)
from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare, construct, run_check

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


def diagnose_mha(params, h, query, key, value, mask, got_out, got_w, right_out, right_w) -> str:
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
    module = construct(cls, e, h, contract="embed_dim, num_heads")
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
    got = _unpack(module(*args), f"{cls.__name__}.forward")
    return compare_mha(f"embed_dim={e}, num_heads={h}, {case}", ref, params, h, (query, key, value, mask), got)


def compare_mha(where: str, ref, params, h: int, inputs: tuple, got: tuple) -> float:
    """The largest difference of (output, weights) ``got`` from the reference on ``inputs`` = (q, k, v, mask);
    a mismatch names the known mistake it matches (``params``: the projections' weights)."""
    expected = run_reference_mha(ref, *inputs)
    hint = functools.partial(diagnose_mha, params, h, *inputs, *got, *expected)  # runs only on a mismatch
    return compare_attention(where, expected, got, hint, (" (B, Lq, embed_dim)", " (B, num_heads, Lq, Lk)"))


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
