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

import torch

from adl4cv_utils.checks.attention.common import (  # noqa: F401 - helpers the tests and mha.py share
    ATOL,
    RTOL,
    SDPA_MISTAKES,
    _check_fn,
    _compare_sdpa,
    _matches,
    _randn,
    _unpack,
    attention_variant,
    causal_mask,
    diagnose_sdpa,
    padding_mask,
    reference_attention,
)

# The MultiHeadAttention checks, re-exported so that test cells only import this module.
from adl4cv_utils.checks.attention.mha import (  # noqa: F401
    check_mha_cross_attention,
    check_mha_gradients,
    check_mha_heads,
    check_mha_interface,
    check_mha_mask,
    check_mha_self_attention,
)
from adl4cv_utils.checks.result import CheckFailed, compare, hinted, run_check

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
    with hinted(lambda: diagnose_sdpa(q, k, v, None, got_out, got_w)):
        diff = compare("q (2, 3, 5, 4), k (2, 3, 7, 4), v (2, 3, 7, 6): output", exp_out, got_out, ATOL, RTOL)
    return "matches torch's F.scaled_dot_product_attention", diff


@run_check("attention weights")
def check_sdpa_weights(fn):
    """Are the weights softmax(q k^T / sqrt(d_k)) of shape (..., Lq, Lk), each query's row summing to one?"""
    _check_fn(fn)
    q, k, v = 2 * _randn(3, 6, 8, seed=3), 2 * _randn(3, 4, 8, seed=4), _randn(3, 4, 5, seed=5)
    got_out, got_w = _unpack(fn(q.clone(), k.clone(), v.clone()), "scaled_dot_product_attention")
    exp_w = reference_attention(q, k, v).weights
    with hinted(lambda: diagnose_sdpa(q, k, v, None, got_out, got_w)):
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
