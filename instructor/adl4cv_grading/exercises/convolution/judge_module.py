"""Judge tests of 03_convolution's Conv2d (registered by convolution.py), and the draws and gradient comparison
both use.

The grading kernel builds the student's module (probes ``convolution.module_*``) and describes its weight and
bias; the judge applies the self-checks' rules (adl4cv_utils.checks.convolution.module) to the description,
checks the initialisation's statistics on values drawn with a secret seed, and compares forward and
backward with ``F.conv2d`` on secret weights and inputs.
"""

from __future__ import annotations

import inspect
import math

import torch
import torch.nn.functional as F

from adl4cv_grading.judge_tests import Context, require_module
from adl4cv_utils.checks.convolution.common import ATOL, RTOL, SHAPE_HINT, compare_output, pair
from adl4cv_utils.checks.convolution.mistakes import conv_mistakes
from adl4cv_utils.checks.convolution.module import ARGUMENTS, SIGNATURE, init_bounds, uniform_bound
from adl4cv_utils.checks.result import CheckFailed, compare

DTYPE = torch.float64
NOT_CONNECTED = (
    "your output is not connected to the autograd graph (no grad_fn): build it from tensor operations, "
    "without .detach(), .numpy(), .item(), torch.no_grad() or torch.tensor(...) of values"
)


class Draw:
    """Ints and tensors drawn from one secret generator."""

    def __init__(self, gen: torch.Generator):
        self.gen = gen

    def int(self, low: int, high: int) -> int:
        """An int in [low, high] (both included)."""
        return int(torch.randint(low, high + 1, (1,), generator=self.gen))

    def coin(self) -> bool:
        return bool(self.int(0, 1))

    def randn(self, shape) -> torch.Tensor:
        return torch.randn(tuple(shape), generator=self.gen, dtype=DTYPE)


def compare_grads(reply: dict, names, refs, where: str) -> float:
    """Compare the student's gradients (``reply["grads"]``, in the order of ``names``) with the references'."""
    if not reply.get("connected"):
        raise CheckFailed(f"{where}: {NOT_CONNECTED}")
    got = reply.get("grads")
    got = got if isinstance(got, list) else [None] * len(names)
    diff = 0.0
    for name, ref, mine in zip(names, refs, got):
        if mine is None:
            raise CheckFailed(
                f"{where}: no gradient reached {name}: is the output built from {name} by tensor operations?"
            )
        try:
            diff = max(diff, compare(f"gradient w.r.t. {name}", ref.grad, mine, ATOL, RTOL))
        except CheckFailed as fail:
            fail.message = f"{where}: {fail.message}"
            raise
    return diff


# ---------------------------------------------------------------------------------------------
# Conv2d
# ---------------------------------------------------------------------------------------------


def _call_text(args, kwargs) -> str:
    return "Conv2d(" + ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"


def _build(ctx: Context, args: tuple, kwargs: dict, **extra) -> dict:
    info = ctx.describe("convolution.module_build", args=list(args), kwargs=kwargs, **extra)
    if "not_module_class" in info:
        raise CheckFailed(f"Conv2d must be a subclass of nn.Module, got {info['not_module_class']}")
    call = _call_text(args, kwargs)
    require_module(info, call, f"The constructor must be {SIGNATURE}", f"{call} is not an nn.Module")
    return info


def _parameter(info: dict, name: str, shape: tuple, call: str, swapped: tuple | None = None) -> None:
    """The self-check's rules for the registered nn.Parameter ``name``, on the kernel's description."""
    p = info.get(name) if isinstance(info.get(name), dict) else {}
    if p.get("is_none", True):
        raise CheckFailed(f"{call}.{name} is missing (or None)")
    if not p.get("is_parameter"):
        raise CheckFailed(f"{call}.{name} is a {p.get('type')}: wrap it in nn.Parameter so that it is trained")
    got = tuple(p.get("shape") or ())
    if got != shape:
        hint = ""
        if swapped and got == swapped:
            hint = "; looks like in_channels and out_channels are swapped: nn.Conv2d's weight is (out, in, kh, kw)"
        elif name == "bias" and swapped and got[:1] == swapped[:1]:
            hint = "; looks like one bias per input channel: there is one per output channel"
        raise CheckFailed(f"{call}.{name} has the wrong shape{hint}", expected=shape, got=got)
    if not p.get("registered"):
        raise CheckFailed(f"{call}.{name} is not registered: assign it as self.{name} after super().__init__()")


def shapes(ctx: Context):
    """Signature and defaults as in the contract; weight and bias registered parameters of the right shapes."""
    info = ctx.describe("convolution.module_signature")
    if not info.get("is_module_class"):
        raise CheckFailed(f"Conv2d must be a subclass of nn.Module, got {info.get('type')}")
    arguments = info.get("arguments") if isinstance(info.get("arguments"), dict) else {}
    for name, default in ARGUMENTS.items():
        if name not in arguments:
            raise CheckFailed(f"Conv2d.__init__ has no argument {name!r}: the constructor must be {SIGNATURE}")
        got = arguments[name] if isinstance(arguments[name], dict) else {}
        got_default = got.get("default") if got.get("has_default") else inspect.Parameter.empty
        if got_default != default or type(got_default) is not type(default):
            raise CheckFailed(f"the default of {name!r} should be {default!r}", default, got_default)
    draw = Draw(ctx.generator("shapes"))
    c_in, c_out = draw.int(1, 6), draw.int(2, 9)
    c_out += c_out == c_in  # in != out, so that swapped shapes are told apart
    for args, kwargs in (
        ((c_in, c_out, draw.int(1, 5)), {}),
        ((c_out, c_in, draw.int(1, 5)), {"stride": 2, "padding": 1}),
    ):
        call = _call_text(args, kwargs)
        m = _build(ctx, args, kwargs)
        i, o, k = args
        _parameter(m, "weight", (o, i, k, k), call, (i, o, k, k))
        _parameter(m, "bias", (o,), call, (i,))
    k = (draw.int(1, 3), draw.int(4, 5))
    args, kwargs = (c_in, c_out, k), {"bias": False}
    call = _call_text(args, kwargs)
    m = _build(ctx, args, kwargs)
    _parameter(m, "weight", (c_out, c_in, *k), call, (c_in, c_out, *k))
    bias = m.get("bias") if isinstance(m.get("bias"), dict) else {}
    if not bias.get("present"):
        raise CheckFailed(f"{call} has no attribute bias: set self.bias = None when bias=False")
    if not bias.get("is_none"):
        raise CheckFailed(f"{call}.bias must be None (there is no bias), got {bias.get('type')}")
    if m.get("num_parameters") != 1:
        raise CheckFailed(f"{call} must have one parameter (the weight), got {m.get('num_parameters')}")
    return "weight (out, in, kh, kw), bias (out,) or None, registered as parameters"


def init(ctx: Context):
    """Weight and bias uniform in +-1/sqrt(fan_in) (bounds and statistics) on secret sizes and seeds."""
    draw = Draw(ctx.generator("init"))
    # many output channels in the first case: the bias's statistics are then far from chance (> 7 sigma)
    cases = ((draw.int(1, 3), draw.int(2048, 4096), 2 * draw.int(0, 1) + 1), (draw.int(8, 12), draw.int(8, 12), 5))
    for index, (c_in, c_out, k) in enumerate(cases):
        call = f"Conv2d({c_in}, {c_out}, {k})"
        m = _build(ctx, (c_in, c_out, k), {}, seed=draw.int(0, 2**31 - 1), values=True)
        _parameter(m, "weight", (c_out, c_in, k, k), call)
        _parameter(m, "bias", (c_out,), call)
        values = m.get("values") if isinstance(m.get("values"), dict) else {}
        w, b = values.get("weight"), values.get("bias")
        if not (torch.is_tensor(w) and torch.is_tensor(b)):
            raise CheckFailed(f"{call}: weight and bias should be tensors")
        bound, wrong = init_bounds(c_in, c_out, k)
        uniform_bound(w, bound, f"{call}.weight", wrong, full=0.9)
        if index == 0:
            uniform_bound(b, bound, f"{call}.bias", wrong, full=0.9)
        elif float(b.abs().max()) > bound * (1 + 1e-6):
            raise CheckFailed(f"{call}.bias exceeds +-1/sqrt(fan_in) = +-{bound:.4f}", bound, b)
    return "weight and bias uniform in +-1/sqrt(fan_in), as nn.Conv2d, on the judge's sizes"


def _module_case(ctx: Context, draw: Draw, case: dict, index: int) -> float:
    c_in, c_out, k, stride, padding, bias = (case[n] for n in ("c_in", "c_out", "k", "stride", "padding", "bias"))
    kwargs = {"stride": stride, "padding": padding, "bias": bias}
    call = _call_text((c_in, c_out, k), kwargs)
    where = f"case {index + 1} ({call} on x {case['x']})"
    kh, kw = pair(k)
    m = _build(ctx, (c_in, c_out, k), kwargs)
    _parameter(m, "weight", (c_out, c_in, kh, kw), call, (c_in, c_out, kh, kw))
    if bias:
        _parameter(m, "bias", (c_out,), call, (c_in,))
    bound = 1 / math.sqrt(c_in * kh * kw)
    w = (2 * torch.rand(c_out, c_in, kh, kw, generator=draw.gen, dtype=DTYPE) - 1) * bound
    b = (2 * torch.rand(c_out, generator=draw.gen, dtype=DTYPE) - 1) * bound if bias else None
    x = draw.randn(case["x"])
    refs = [t.clone().requires_grad_() for t in (x, w, b) if t is not None]
    expected = F.conv2d(refs[0], refs[1], refs[2] if bias else None, pair(stride), pair(padding))
    g = draw.randn(expected.shape)
    reply = ctx.describe("convolution.module_run", args=[c_in, c_out, k], kwargs=kwargs, weight=w, bias=b, x=x, g_out=g)
    diff = compare_output(
        expected.detach(), reply.get("out"), where, conv_mistakes(x, w, b, pair(stride), pair(padding)), SHAPE_HINT
    )
    (expected * g).sum().backward()
    return max(diff, compare_grads(reply, ("x", "weight", "bias")[: len(refs)], refs, where))


def _module_forward_cases(draw: Draw) -> list[dict]:
    cases = []
    for k, stride, padding, bias in ((3, 1, 1, True), (5, 2, 2, False), (1, 1, 0, True)):
        c_in = draw.int(1, 4)
        size = max(k, 3) + draw.int(0, 4)
        cases.append(
            {"c_in": c_in, "c_out": draw.int(1, 5), "k": k, "stride": stride, "padding": padding, "bias": bias}
            | {"x": (draw.int(1, 2), c_in, size, size + draw.int(-1, 1))}
        )
    return cases


def _module_other_cases(draw: Draw) -> list[dict]:
    k = (draw.int(1, 3), draw.int(4, 5))
    return [
        {"c_in": draw.int(1, 3), "c_out": draw.int(2, 4), "k": k, "stride": (2, 1), "padding": (1, 2), "bias": True},
        {"c_in": 1, "c_out": 1, "k": 2, "stride": 3, "padding": 0, "bias": True},
        {"c_in": draw.int(4, 6), "c_out": draw.int(2, 3), "k": 3, "stride": 1, "padding": 0, "bias": False},
    ]


def forward(ctx: Context):
    """Output and gradients of x, weight and bias against F.conv2d with the same secret weights."""
    draw = Draw(ctx.generator("forward"))
    cases = _module_forward_cases(draw)
    diff = max(_module_case(ctx, draw, case, i) for i, case in enumerate(cases))
    return f"matches nn.Conv2d on {len(cases)} case(s) of the judge (output and gradients)", diff


def hidden(ctx: Context):
    """The same on pair arguments, an even kernel and a single channel."""
    draw = Draw(ctx.generator("other"))
    cases = _module_other_cases(draw)
    for case in cases:
        kh, kw = pair(case["k"])
        case["x"] = (draw.int(1, 3), case["c_in"], kh + draw.int(2, 6), kw + draw.int(1, 6))
    diff = max(_module_case(ctx, draw, case, i) for i, case in enumerate(cases))
    return f"matches nn.Conv2d on {len(cases)} other case(s) of the judge", diff
