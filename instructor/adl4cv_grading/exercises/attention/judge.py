"""Judge of 05_attention: the student's attention against torch's, on shapes, masks and weights drawn in secret.

The student's code runs in the grading kernel (probes ``attention.*``) on inputs drawn here from the run's
secret seed; the references run here, in float64: ``F.scaled_dot_product_attention`` for the output,
the softmax of the masked, scaled scores for the weights (and their gradients) and
``nn.MultiheadAttention`` with the same projection weights. The self-checks' mistake tables
(adl4cv_utils.checks.attention) name a known mistake.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

from adl4cv_grading.judge_tests import Context, judge_test, require_module
from adl4cv_utils.checks.attention import ATOL, RTOL, causal_mask, diagnose_sdpa, padding_mask
from adl4cv_utils.checks.attention.mha import PROJECTIONS, compare_mha
from adl4cv_utils.checks.result import CheckFailed, compare, hinted
from adl4cv_utils.probing.codec import Opaque

SDPA, MHA = "scaled_dot_product_attention", "MultiHeadAttention"
GRAD_ATOL, GRAD_RTOL = 1e-9, 1e-7


def _attention(q, k, v, mask=None):
    """(output, weights): softmax(q k^T / sqrt(d_k)) v with a boolean mask (True = may attend), differentiable."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return weights @ v, weights


def _unpack(result, what: str) -> tuple:
    """``(output, weights)`` from what the student's code returned, or CheckFailed saying what it was."""
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        kind = result.type_name if isinstance(result, Opaque) else type(result).__name__
        raise CheckFailed(f"{what} should return a tuple (output, weights), got {kind}")
    return tuple(result)


def _randn(gen: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return scale * torch.randn(*shape, generator=gen, dtype=torch.float64)


def _size(gen: torch.Generator, low: int, high: int) -> int:
    return int(torch.randint(low, high, (1,), generator=gen))


def _lengths(gen: torch.Generator, batch: int, max_length: int) -> list[int]:
    """Key lengths for a padding mask: the first sequence full, the others random (at least one key)."""
    return [max_length] + [_size(gen, 1, max_length + 1) for _ in range(batch - 1)]


def _shape(t: torch.Tensor) -> str:
    return str(tuple(t.shape)).replace(",)", ")")


# ---------------------------------------------------------------------------------------------
# scaled_dot_product_attention
# ---------------------------------------------------------------------------------------------


def _sdpa_case(ctx: Context, q, k, v, mask, case: str, weights_only: bool = False) -> float:
    """Probe the student's attention on (q, k, v, mask) and compare weights and output; names a known mistake."""
    reply = ctx.probe("attention.sdpa", q=q, k=k, v=v, mask=mask)
    got_out, got_w = _unpack(reply.get("result") if isinstance(reply, dict) else None, SDPA)
    exp_w = _attention(q, k, v, mask)[1]
    exp_out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    where = f"{case}, q {_shape(q)}, k {_shape(k)}, v {_shape(v)}" + (
        f", mask {_shape(mask)}" if mask is not None else ""
    )
    with hinted(lambda: diagnose_sdpa(q, k, v, mask, got_out, got_w)):
        if weights_only:
            compare(f"{where}: weights", exp_w, got_w, 1.0, 1.0)  # shape and finiteness first
            sums = got_w.double().sum(dim=-1)
            if not torch.allclose(sums, torch.ones_like(sums), atol=1e-8):
                raise CheckFailed(
                    f"{where}: the weights of each query (a row over the keys) should sum to one",
                    "all ones",
                    sums,
                    float((sums - 1).abs().max()),
                )
            return compare(f"{where}: weights", exp_w, got_w, ATOL, RTOL)
        diff = compare(f"{where}: weights", exp_w, got_w, ATOL, RTOL)
        return max(diff, compare(f"{where}: output", exp_out, got_out, ATOL, RTOL))


@judge_test("sdpa_output", SDPA)
def sdpa_output(ctx: Context):
    gen = ctx.generator("inputs")
    batch = (_size(gen, 1, 4), _size(gen, 1, 4))
    lq, d_k = _size(gen, 2, 7), _size(gen, 2, 7)
    lk, d_v = lq + _size(gen, 1, 4), d_k + _size(gen, 1, 4)
    q, k, v = _randn(gen, *batch, lq, d_k), _randn(gen, *batch, lk, d_k), _randn(gen, *batch, lk, d_v)
    reply = ctx.probe("attention.sdpa", q=q, k=k, v=v)
    got_out, got_w = _unpack(reply.get("result") if isinstance(reply, dict) else None, SDPA)
    with hinted(lambda: diagnose_sdpa(q, k, v, None, got_out, got_w)):
        diff = compare(
            f"q {_shape(q)}, k {_shape(k)}, v {_shape(v)}: output",
            F.scaled_dot_product_attention(q, k, v),
            got_out,
            ATOL,
            RTOL,
        )
    return "output matches torch's F.scaled_dot_product_attention on the judge's shapes", diff


@judge_test("sdpa_weights", SDPA)
def sdpa_weights(ctx: Context):
    gen = ctx.generator("inputs")
    b, lq, lk, d_k, d_v = _size(gen, 2, 5), _size(gen, 3, 8), _size(gen, 2, 7), _size(gen, 4, 10), _size(gen, 2, 6)
    q, k, v = _randn(gen, b, lq, d_k, scale=2.0), _randn(gen, b, lk, d_k, scale=2.0), _randn(gen, b, lk, d_v)
    diff = _sdpa_case(ctx, q, k, v, None, "no mask", weights_only=True)
    return "weights right on the judge's shapes, each row sums to one", diff


@judge_test("sdpa_causal_mask", SDPA)
def sdpa_causal_mask(ctx: Context):
    gen = ctx.generator("inputs")
    b, length, d_k, d_v = _size(gen, 1, 4), _size(gen, 4, 9), _size(gen, 2, 7), _size(gen, 2, 7)
    q, k, v = _randn(gen, b, length, d_k), _randn(gen, b, length, d_k), _randn(gen, b, length, d_v)
    diff = _sdpa_case(ctx, q, k, v, causal_mask(length), "causal mask")
    return "causal mask right on the judge's shapes", diff


@judge_test("sdpa_padding_mask", SDPA)
def sdpa_padding_mask(ctx: Context):
    gen = ctx.generator("inputs")
    b, h, lq, lk, d = _size(gen, 2, 5), _size(gen, 1, 4), _size(gen, 2, 6), _size(gen, 4, 8), _size(gen, 2, 7)
    q, k, v = _randn(gen, b, h, lq, d), _randn(gen, b, h, lk, d), _randn(gen, b, h, lk, d)
    mask = padding_mask(_lengths(gen, b, lk), lk)
    diff = _sdpa_case(ctx, q, k, v, mask, "padding mask")
    return "padding mask right on the judge's shapes", diff


@judge_test("sdpa_hidden", SDPA)
def sdpa_hidden(ctx: Context):
    gen = ctx.generator("inputs")
    d_k, d_v = _size(gen, 2, 7), _size(gen, 1, 5)
    diff = _sdpa_case(ctx, _randn(gen, 5, d_k), _randn(gen, 4, d_k), _randn(gen, 4, d_v), None, "no batch dimension")
    q, k, v = _randn(gen, 1, 1, d_k), _randn(gen, 1, 2, d_k), _randn(gen, 1, 2, d_v)
    diff = max(diff, _sdpa_case(ctx, q, k, v, None, "one batch dimension of size 1"))
    batch, lq, lk = (_size(gen, 1, 3), _size(gen, 2, 4), _size(gen, 1, 4)), _size(gen, 2, 6), _size(gen, 2, 6)
    mask = torch.rand(batch[0], 1, batch[2], lq, lk, generator=gen) < 0.6
    mask[..., _size(gen, 0, lk)] = True  # every query may attend to at least one key
    q, k, v = _randn(gen, *batch, lq, d_k), _randn(gen, *batch, lk, d_k), _randn(gen, *batch, lk, d_v)
    diff = max(diff, _sdpa_case(ctx, q, k, v, mask, "three batch dimensions, a random mask"))
    diff = max(diff, _sdpa_gradients(ctx, gen))
    return "right for 0, 1 and 3 leading dimensions; gradients of q, k and v right", diff


def _sdpa_gradients(ctx: Context, gen: torch.Generator) -> float:
    b, length, d_k, d_v = _size(gen, 1, 4), _size(gen, 3, 7), _size(gen, 2, 6), _size(gen, 2, 6)
    q, k, v = _randn(gen, b, length, d_k), _randn(gen, b, length, d_k), _randn(gen, b, length, d_v)
    mask, g_out, g_w = causal_mask(length), _randn(gen, b, length, d_v), _randn(gen, b, length, length)
    reply = ctx.describe("attention.sdpa", q=q, k=k, v=v, mask=mask, g_out=g_out, g_w=g_w)
    _unpack(reply.get("result"), SDPA)
    if not reply.get("connected"):
        raise CheckFailed(
            "q, k and v get no gradient: compute the attention with torch operations "
            "(no .detach(), .numpy() or torch.no_grad())"
        )
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    out, w = _attention(*leaves, mask)
    ((out * g_out).sum() + (w * g_w).sum()).backward()
    grads = reply.get("grads")
    grads = grads if isinstance(grads, list) and len(grads) == 3 else [None] * 3
    diff = 0.0
    for name, leaf, got in zip("qkv", leaves, grads):
        if got is None:
            raise CheckFailed(f"{name} gets no gradient: compute the attention with torch operations on q, k, v")
        diff = max(
            diff, compare(f"causal mask, q {_shape(q)}: gradient of {name}", leaf.grad, got, GRAD_ATOL, GRAD_RTOL)
        )
    return diff


# ---------------------------------------------------------------------------------------------
# MultiHeadAttention
# ---------------------------------------------------------------------------------------------


def _reference_mha(gen: torch.Generator, e: int, h: int) -> nn.MultiheadAttention:
    ref = nn.MultiheadAttention(e, h, batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        ref.in_proj_weight.copy_(_randn(gen, 3 * e, e) / e**0.5)
        ref.in_proj_bias.copy_(_randn(gen, 3 * e, scale=0.2))
        ref.out_proj.weight.copy_(_randn(gen, e, e) / e**0.5)
        ref.out_proj.bias.copy_(_randn(gen, e, scale=0.2))
    return ref


def _weights(ref: nn.MultiheadAttention) -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """(weight, bias) of q_proj, k_proj, v_proj, out_proj under the contract's names."""
    w, b = ref.in_proj_weight.detach().chunk(3), ref.in_proj_bias.detach().chunk(3)
    out = (ref.out_proj.weight.detach().clone(), ref.out_proj.bias.detach().clone())
    return {"q_proj": (w[0].clone(), b[0].clone()), "k_proj": (w[1].clone(), b[1].clone()),
            "v_proj": (w[2].clone(), b[2].clone()), "out_proj": out}  # fmt: skip


def _check_layout(layout: dict, e: int) -> None:
    """The self-checks' interface messages, from the probe's description of the module."""
    for name in PROJECTIONS:
        info = layout.get(name) if isinstance(layout, dict) else None
        info = info if isinstance(info, dict) else {}
        if not info.get("is_linear"):
            raise CheckFailed(f"self.{name} should be an nn.Linear({e}, {e}), got {info.get('type', 'nothing')}")
        if (info.get("in_features"), info.get("out_features")) != (e, e):
            raise CheckFailed(
                f"self.{name} should map embed_dim -> embed_dim ({e} -> {e}), "
                f"got {info.get('in_features')} -> {info.get('out_features')}"
            )
        if info.get("bias") is None:
            raise CheckFailed(f"self.{name} has no bias: use nn.Linear(embed_dim, embed_dim) (bias=True)")


def _mha_reply(ctx: Context, e: int, h: int, weights: dict, **inputs) -> dict:
    reply = ctx.describe("attention.mha", embed_dim=e, num_heads=h, weights=weights, **inputs)
    if not reply.get("is_module"):
        raise CheckFailed(f"{MHA}({e}, {h}) must be an nn.Module")
    _check_layout(reply.get("layout"), e)
    if reply.get("result") is None:
        raise CheckFailed(f"{MHA}({e}, {h}): the projections' weights cannot be loaded", got=reply.get("layout"))
    return reply


def _mha_case(ctx: Context, gen, e: int, h: int, lq: int, lk: int, cross: bool, mask=None, case: str = "") -> float:
    """The student's module and torch's with the same (secret) weights on the same inputs; names a known mistake."""
    b = _size(gen, 1, 4)
    ref = _reference_mha(gen, e, h)
    weights = _weights(ref)
    query = _randn(gen, b, lq, e)
    key, value = (_randn(gen, b, lk, e), _randn(gen, b, lk, e)) if cross else (query, query)
    inputs = {"query": query, "mask": mask}
    if cross:
        inputs.update(key=key, value=value)
    reply = _mha_reply(ctx, e, h, weights, **inputs)
    got = _unpack(reply["result"], f"{MHA}.forward")
    where = f"embed_dim={e}, num_heads={h}, batch {b}, {case}"
    return compare_mha(where, ref, weights, h, (query, key, value, mask), got)


def _heads(gen, low: int = 2, high: int = 5) -> tuple[int, int]:
    """(embed_dim, num_heads) with several heads of size 2..5."""
    h = _size(gen, low, high)
    return h * _size(gen, 2, 6), h


@judge_test("mha_interface", MHA)
def mha_interface(ctx: Context):
    gen = ctx.generator("shapes")
    e, h = _heads(gen)
    info = ctx.describe("attention.mha_interface", embed_dim=e, num_heads=h, bad_embed_dim=e + 1, bad_num_heads=h)
    if not info.get("is_class"):
        raise CheckFailed(f"{MHA} must be a class (a subclass of nn.Module)")
    args = info.get("forward_args") or []
    missing = [n for n in ("query", "key", "value", "mask") if n not in args]
    if missing:
        raise CheckFailed(f"forward should take (query, key, value, mask=None); missing {missing}")
    contract = "The constructor must accept: embed_dim, num_heads"
    require_module(info, f"{MHA}({e}, {h})", contract, f"{MHA} must be a subclass of nn.Module")
    _check_layout(info.get("layout"), e)
    extra = sorted(n for n in info.get("parameters") or [] if str(n).split(".")[0] not in PROJECTIONS)
    if extra:
        raise CheckFailed(f"unexpected parameters {extra}: only the four projections have weights")
    raised = info.get("bad_raises")
    if raised != "ValueError":
        got = f"it raised {raised}" if raised else "it raised nothing"
        raise CheckFailed(
            f"{MHA}({e + 1}, {h}) should raise ValueError: embed_dim must be divisible by num_heads ({got})"
        )
    return "four projections E -> E with bias; ValueError when embed_dim % num_heads != 0"


@judge_test("mha_self_attention", MHA)
def mha_self_attention(ctx: Context):
    gen = ctx.generator("inputs")
    diff = 0.0
    for _ in range(2):
        (e, h), length = _heads(gen), _size(gen, 2, 7)
        diff = max(diff, _mha_case(ctx, gen, e, h, length, length, cross=False, case=f"self-attention, L={length}"))
    return "matches torch.nn.MultiheadAttention in self-attention on the judge's shapes and weights", diff


@judge_test("mha_cross_attention", MHA)
def mha_cross_attention(ctx: Context):
    gen = ctx.generator("inputs")
    (e, h), lq = _heads(gen), _size(gen, 2, 6)
    lk = lq + _size(gen, 1, 4)
    diff = _mha_case(ctx, gen, e, h, lq, lk, cross=True, case=f"cross-attention, Lq={lq}, Lk={lk}")
    return "matches torch.nn.MultiheadAttention in cross-attention on the judge's shapes and weights", diff


@judge_test("mha_mask", MHA)
def mha_mask(ctx: Context):
    gen = ctx.generator("inputs")
    (e, h), length = _heads(gen), _size(gen, 3, 7)
    mask = causal_mask(length)
    diff = _mha_case(ctx, gen, e, h, length, length, cross=False, mask=mask, case=f"causal mask ({length}, {length})")
    (e, h), lq, lk = _heads(gen), _size(gen, 2, 6), _size(gen, 3, 8)
    mask = padding_mask(_lengths(gen, 1, lk), lk)  # (1, 1, 1, Lk): broadcast over the batch too
    diff = max(diff, _mha_case(ctx, gen, e, h, lq, lk, cross=True, mask=mask, case=f"padding mask {_shape(mask)}"))
    return "masks right (True = may attend)", diff


@judge_test("mha_hidden", MHA)
def mha_hidden(ctx: Context):
    gen = ctx.generator("inputs")
    d = _size(gen, 2, 7)
    diff = 0.0
    for e, h in ((d, 1), (d, d), _heads(gen, 3, 6)):
        lq, lk = _size(gen, 2, 6), _size(gen, 2, 6)
        diff = max(diff, _mha_case(ctx, gen, e, h, lq, lk, cross=True, case=f"cross-attention, Lq={lq}, Lk={lk}"))
    diff = max(diff, _mha_gradients(ctx, gen))
    return "right for 1 head, head size 1 and more heads; gradients of inputs and projections right", diff


def _mha_gradients(ctx: Context, gen: torch.Generator) -> float:
    (e, h), b, lq, lk = _heads(gen), _size(gen, 2, 4), _size(gen, 2, 5), _size(gen, 3, 6)
    ref = _reference_mha(gen, e, h)
    query, key, value = _randn(gen, b, lq, e), _randn(gen, b, lk, e), _randn(gen, b, lk, e)
    g_out, mask = _randn(gen, b, lq, e), padding_mask(_lengths(gen, b, lk), lk)
    weights = _weights(ref)
    reply = _mha_reply(ctx, e, h, weights, query=query, key=key, value=value, mask=mask, g_out=g_out)
    _unpack(reply["result"], f"{MHA}.forward")
    if not reply.get("connected"):
        raise CheckFailed("the output gets no gradient: compute it with torch operations (no .detach() or no_grad())")
    leaves = [t.clone().requires_grad_() for t in (query, key, value)]
    attn_mask = ~mask.expand(b, h, lq, lk).reshape(b * h, lq, lk)  # torch: True = may NOT attend
    (ref(*leaves, attn_mask=attn_mask, need_weights=False)[0] * g_out).sum().backward()
    where = f"embed_dim={e}, num_heads={h}, padding mask"
    diff = 0.0
    got_inputs = reply.get("input_grads") or [None] * 3
    for name, leaf, got in zip(("query", "key", "value"), leaves, got_inputs):
        if got is None:
            raise CheckFailed(f"{where}: the {name} gets no gradient")
        diff = max(diff, compare(f"{where}: gradient of the {name}", leaf.grad, got, GRAD_ATOL, GRAD_RTOL))
    exp = dict(zip(PROJECTIONS[:3], zip(ref.in_proj_weight.grad.chunk(3), ref.in_proj_bias.grad.chunk(3))))
    exp["out_proj"] = (ref.out_proj.weight.grad, ref.out_proj.bias.grad)
    got_params = reply.get("param_grads") or {}
    for name in PROJECTIONS:
        got = got_params.get(name) or (None, None)
        for part, e_grad, g_grad in zip(("weight", "bias"), exp[name], got):
            if g_grad is None:
                raise CheckFailed(f"{where}: {name}.{part} gets no gradient")
            diff = max(diff, compare(f"{where}: gradient of {name}.{part}", e_grad, g_grad, GRAD_ATOL, GRAD_RTOL))
    return diff
