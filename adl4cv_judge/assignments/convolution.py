"""Judge of 03_convolution: conv2d, max_pool2d and Conv2d against torch's, on shapes and values drawn in secret.

The student's functions and module run in the worker (probes ``convolution.*``) on inputs drawn
here from the run's secret seed; ``F.conv2d``, ``F.max_pool2d`` and ``nn.Conv2d``'s initialisation
bounds are the references, here. The self-checks' mistake tables (adl4cv_utils.checks.conv_mistakes)
name a known mistake. That torch's own convolution or pooling was not used is decided from the
submitted source and the worker's trace (rules.py), for every cell of the unit.
"""

from __future__ import annotations

import inspect
import math

import torch
import torch.nn.functional as F

from adl4cv_judge.registry import Context, judge_test
from adl4cv_utils.checks.conv_mistakes import conv_mistakes, pool_mistakes
from adl4cv_utils.checks.conv_module import ARGUMENTS, SIGNATURE, _uniform
from adl4cv_utils.checks.convolution import (
    ATOL,
    LECTURE_INPUT,
    LECTURE_OUTPUT,
    POOL_SHAPE_HINT,
    RTOL,
    SHAPE_HINT,
    compare_output,
    describe,
    pair,
)
from adl4cv_utils.checks.result import CheckFailed, compare

DTYPE = torch.float64
NOT_CONNECTED = (
    "your output is not connected to the autograd graph (no grad_fn): build it from tensor operations, "
    "without .detach(), .numpy(), .item(), torch.no_grad() or torch.tensor(...) of values"
)


class _Draw:
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


def _grads(reply: dict, names, refs, where: str) -> float:
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
# conv2d
# ---------------------------------------------------------------------------------------------


def _conv_case(ctx: Context, draw: _Draw, case: dict, index: int, grads: bool = False) -> float:
    x, w = draw.randn(case["x"]), draw.randn(case["w"])
    b = draw.randn(case["w"][:1]) if case.get("bias") else None
    stride, padding = pair(case.get("stride", 1)), pair(case.get("padding", 0))
    options = {k: case[k] for k in ("stride", "padding") if k in case}
    refs = [t.clone().requires_grad_() for t in (x, w, b) if t is not None]
    expected = F.conv2d(*refs[:2], refs[2] if b is not None else None, stride, padding)
    g = draw.randn(expected.shape) if grads else None
    reply = ctx.probe("convolution.conv2d", x=x, weight=w, bias=b, options=options, g_out=g)
    reply = reply if isinstance(reply, dict) else {}
    where = f"case {index + 1} ({describe(case)})"
    mistakes = conv_mistakes(x, w, b, stride, padding)
    diff = compare_output(expected.detach(), reply.get("out"), where, mistakes, SHAPE_HINT)
    if grads:
        (expected * g).sum().backward()
        diff = max(diff, _grads(reply, ("x", "weight", "bias")[: len(refs)], refs, where))
    return diff


def _conv_cases(ctx: Context, make, grads: bool = False) -> tuple[str, float]:
    draw = _Draw(ctx.generator("cases"))
    cases = make(draw)
    diff = max(_conv_case(ctx, draw, case, i, grads) for i, case in enumerate(cases))
    return f"matches F.conv2d on {len(cases)} case(s) of the judge" + (" (output and gradients)" if grads else ""), diff


def _basic(draw: _Draw) -> list[dict]:
    cases = []
    for k in (1, 3, 5, draw.int(2, 4)):
        c_in = draw.int(1, 4)
        h = k + draw.int(0, 5)
        cases.append({"x": (draw.int(1, 2), c_in, h, h + draw.int(1, 3)), "w": (c_in + draw.int(1, 3), c_in, k, k)})
    return cases


def _strided(draw: _Draw) -> list[dict]:
    cases = []
    for stride in (2, (2, 1) if draw.coin() else (1, 2), 3, draw.int(2, 3)):
        k, c_in = draw.int(1, 5), draw.int(1, 3)
        s = pair(stride)
        h, w = k + s[0] * draw.int(1, 3) + draw.int(0, 2), k + s[1] * draw.int(1, 3) + draw.int(1, 2)
        cases.append({"x": (draw.int(1, 2), c_in, h, w), "w": (draw.int(1, 4), c_in, k, k), "stride": stride})
    return cases


def _padded(draw: _Draw) -> list[dict]:
    cases = []
    for padding, stride in ((1, None), (2, None), ((1, 2) if draw.coin() else (2, 1), None), (1, 2)):
        k, c_in = draw.int(1, 5), draw.int(1, 3)
        case = {"x": (draw.int(1, 2), c_in, k + draw.int(0, 4), k + draw.int(0, 4)), "w": (draw.int(1, 4), c_in, k, k)}
        case["padding"] = padding
        if stride:
            case["stride"] = stride
        cases.append(case)
    return cases


def _biased(draw: _Draw) -> list[dict]:
    c, k = draw.int(2, 5), 3
    # C_in == C_out == the output's width, so that wrongly broadcast biases still run (and get named)
    cases = [{"x": (1, c, k - 1 + draw.int(2, 5), c + k - 1), "w": (c, c, k, k), "bias": True}]
    c_in = draw.int(1, 3)
    cases.append(
        {"x": (2, c_in, draw.int(5, 8), draw.int(5, 8)), "w": (draw.int(4, 6), c_in, 3, 3), "bias": True}
        | {"stride": 2, "padding": 1}
    )
    cases.append(
        {"x": (1, 2, draw.int(3, 6), draw.int(3, 6)), "w": (draw.int(3, 5), 2, 1, 1), "bias": True, "padding": 2}
    )
    return cases


def _with_grads(draw: _Draw) -> list[dict]:
    c_in = draw.int(1, 3)
    return [
        {"x": (2, c_in, draw.int(5, 8), draw.int(5, 8)), "w": (draw.int(2, 4), c_in, 3, 3), "bias": True}
        | {"stride": 2, "padding": 1},
        {"x": (1, 2, draw.int(5, 7), draw.int(5, 7)), "w": (3, 2, 5, 5), "bias": True, "padding": 2},
        {"x": (2, 2, draw.int(3, 6), draw.int(3, 6)), "w": (draw.int(1, 3), 2, 1, 1)},
    ]


def _random_conv(draw: _Draw, count: int = 6) -> list[dict]:
    """Small random cases: non-square and even kernels, stride and padding as ints or pairs."""
    cases = []
    for _ in range(count):
        kh, kw, sh, sw, ph, pw = (
            draw.int(1, 5),
            draw.int(1, 5),
            draw.int(1, 3),
            draw.int(1, 3),
            draw.int(0, 2),
            draw.int(0, 2),
        )
        stride, padding = ((sh, sw) if draw.coin() else sh), ((ph, pw) if draw.coin() else ph)
        (sh, sw), (ph, pw) = pair(stride), pair(padding)
        h, w = max(1, kh - 2 * ph + draw.int(0, 6)), max(1, kw - 2 * pw + draw.int(0, 6))
        c_in, c_out = draw.int(1, 4), draw.int(1, 5)
        case = {"x": (draw.int(1, 2), c_in, h, w), "w": (c_out, c_in, kh, kw), "bias": draw.coin()}
        case["stride"], case["padding"] = stride, padding
        cases.append(case)
    return cases


judge_test("conv2d_basic", "conv2d")(lambda ctx: _conv_cases(ctx, _basic))
judge_test("conv2d_stride", "conv2d")(lambda ctx: _conv_cases(ctx, _strided))
judge_test("conv2d_padding", "conv2d")(lambda ctx: _conv_cases(ctx, _padded))
judge_test("conv2d_bias", "conv2d")(lambda ctx: _conv_cases(ctx, _biased))
judge_test("conv2d_gradients", "conv2d")(lambda ctx: _conv_cases(ctx, _with_grads, grads=True))
judge_test("conv2d_no_builtin", "conv2d")(lambda ctx: _conv_cases(ctx, lambda d: _with_grads(d)[:1], grads=True))
judge_test("conv2d_hidden", "conv2d")(lambda ctx: _conv_cases(ctx, lambda d: _random_conv(d, 10), grads=True))


# ---------------------------------------------------------------------------------------------
# max_pool2d
# ---------------------------------------------------------------------------------------------


def _pool_case(ctx: Context, draw: _Draw, case: dict, index: int, grads: bool = False, x=None) -> float:
    """One case; ``stride`` missing from the case: not passed; None: passed as None."""
    x = draw.randn(case["x"]) if x is None else x
    k = pair(case["k"])
    s = pair(case["stride"]) if case.get("stride") is not None else k
    ref = x.clone().requires_grad_()
    expected = F.max_pool2d(ref, k, s)
    g = draw.randn(expected.shape) if grads else None
    args = [case["k"]] + ([case["stride"]] if "stride" in case else [])
    reply = ctx.probe("convolution.max_pool2d", x=x, args=args, g_out=g)
    reply = reply if isinstance(reply, dict) else {}
    where = case.get("where") or f"case {index + 1} ({describe(case)})"
    diff = compare_output(expected.detach(), reply.get("out"), where, pool_mistakes(x, k, s), POOL_SHAPE_HINT)
    if grads:
        (expected * g).sum().backward()
        diff = max(diff, _grads(reply, ("x",), (ref,), where))
    return diff


def _pool_cases(ctx: Context, make, grads: bool = False) -> tuple[str, float]:
    draw = _Draw(ctx.generator("cases"))
    cases = make(draw)
    diff = max(_pool_case(ctx, draw, case, i, grads) for i, case in enumerate(cases))
    return f"matches F.max_pool2d on {len(cases)} case(s) of the judge" + (
        " (output and gradient)" if grads else ""
    ), diff


def _pool_basic(draw: _Draw) -> list[dict]:
    pairs = ((2, 2), (3, 2), ((2, 3), (1, 2)) if draw.coin() else ((3, 2), (2, 1)), (2, 1), (draw.int(2, 3), 3))
    cases = []
    for k, s in pairs:
        (kh, kw), (sh, sw) = pair(k), pair(s)
        h, w = kh + sh * draw.int(1, 3) + draw.int(0, 1), kw + sw * draw.int(1, 3) + draw.int(0, 1)
        cases.append({"x": (draw.int(1, 2), draw.int(1, 3), h, w), "k": k, "stride": s})
    return cases


def _pool_default(draw: _Draw) -> list[dict]:
    k1, k2 = draw.int(2, 3), (2, 3) if draw.coin() else (3, 2)
    return [
        {"x": (draw.int(1, 2), draw.int(1, 3), k1 * draw.int(2, 3) + draw.int(0, 1), k1 * draw.int(2, 4)), "k": k1},
        {"x": (1, draw.int(1, 2), 3 * draw.int(2, 3) + 1, 3 * draw.int(2, 3)), "k": 3},
        {"x": (1, 1, k2[0] * draw.int(2, 3), k2[1] * draw.int(2, 3) + 1), "k": k2, "stride": None},
    ]


def _pool_grad(draw: _Draw) -> list[dict]:
    return [
        {"x": (2, draw.int(1, 3), draw.int(5, 8), draw.int(5, 8)), "k": 2, "stride": 2},
        {"x": (1, 2, draw.int(6, 9), draw.int(6, 9)), "k": 3, "stride": 2},  # overlapping windows: gradients add up
    ]


def _random_pool(draw: _Draw, count: int = 6) -> list[dict]:
    cases = []
    for _ in range(count):
        kh, kw = draw.int(1, 4), draw.int(1, 4)
        square = draw.coin()
        kw = kh if square else kw
        case = {
            "x": (draw.int(1, 2), draw.int(1, 3), kh + draw.int(0, 6), kw + draw.int(0, 6)),
            "k": kh if square else (kh, kw),
        }
        if draw.int(0, 2):
            case["stride"] = (draw.int(1, 3), draw.int(1, 3)) if draw.coin() else draw.int(1, 3)
        cases.append(case)
    return cases


judge_test("max_pool_basic", "max_pool2d")(lambda ctx: _pool_cases(ctx, _pool_basic))
judge_test("max_pool_default_stride", "max_pool2d")(lambda ctx: _pool_cases(ctx, _pool_default))
judge_test("max_pool_gradient", "max_pool2d")(lambda ctx: _pool_cases(ctx, _pool_grad, grads=True))


@judge_test("max_pool_lecture", "max_pool2d")
def max_pool_lecture(ctx: Context):
    """The slide's 4x4 example, then the same pixels shuffled (a forged answer for the slide's input fails)."""
    draw = _Draw(ctx.generator("cases"))
    x = torch.tensor(LECTURE_INPUT, dtype=DTYPE)[None, None]
    where = "the lecture's example max_pool2d(x, 2, 2) with x of shape (1, 1, 4, 4)"
    case = {"x": (1, 1, 4, 4), "k": 2, "stride": 2, "where": where}
    diff = _pool_case(ctx, draw, case, 0, x=x)
    expected = torch.tensor(LECTURE_OUTPUT, dtype=DTYPE)[None, None]
    assert torch.equal(F.max_pool2d(x, 2, 2), expected)  # the slide's answer is torch's
    shuffled = x.reshape(-1)[torch.randperm(16, generator=draw.gen)].reshape(1, 1, 4, 4)
    case = {"x": (1, 1, 4, 4), "k": 2, "stride": 2, "where": "the lecture's 4x4 pixels shuffled, max_pool2d(x, 2, 2)"}
    diff = max(diff, _pool_case(ctx, draw, case, 1, x=shuffled))
    return "[[3, 1, 3, 5], [6, 0, 7, 9], [3, 2, 1, 4], [0, 2, 4, 3]] -> [[6, 9], [3, 4]] as on the slide", diff


@judge_test("max_pool_hidden", "max_pool2d")
def max_pool_hidden(ctx: Context):
    _pool_cases(ctx, lambda d: _pool_grad(d)[1:], grads=True)
    return _pool_cases(ctx, lambda d: _random_pool(d, 8), grads=True)


# ---------------------------------------------------------------------------------------------
# Conv2d
# ---------------------------------------------------------------------------------------------


def _call_text(args, kwargs) -> str:
    return "Conv2d(" + ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"


def _build(ctx: Context, args: tuple, kwargs: dict, **extra) -> dict:
    info = ctx.probe("convolution.module_build", args=list(args), kwargs=kwargs, **extra)
    info = info if isinstance(info, dict) else {}
    if "not_module_class" in info:
        raise CheckFailed(f"Conv2d must be a subclass of nn.Module, got {info['not_module_class']}")
    if info.get("constructor_error"):
        raise CheckFailed(
            f"{_call_text(args, kwargs)} failed: {info['constructor_error']}. The constructor must be {SIGNATURE}"
        )
    if not info.get("is_module"):
        raise CheckFailed(f"{_call_text(args, kwargs)} is not an nn.Module")
    return info


def _parameter(info: dict, name: str, shape: tuple, call: str, swapped: tuple | None = None) -> None:
    """The self-check's rules for the registered nn.Parameter ``name``, on the worker's description."""
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


@judge_test("conv2d_module_shapes", "Conv2d")
def conv2d_module_shapes(ctx: Context):
    info = ctx.probe("convolution.module_signature")
    info = info if isinstance(info, dict) else {}
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
    draw = _Draw(ctx.generator("shapes"))
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


@judge_test("conv2d_module_init", "Conv2d")
def conv2d_module_init(ctx: Context):
    draw = _Draw(ctx.generator("init"))
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
        fan_in, fan_out = c_in * k * k, c_out * k * k
        bound = 1 / math.sqrt(fan_in)
        wrong = {
            "kaiming_uniform_ without a=math.sqrt(5) (bound sqrt(6 / fan_in))": math.sqrt(6 / fan_in),
            "the bound uses fan_out = out_channels * kh * kw; nn.Conv2d uses fan_in": 1 / math.sqrt(fan_out),
            "fan_in = in_channels only; it is in_channels * kh * kw": 1 / math.sqrt(c_in),
        }
        _uniform(w, bound, f"{call}.weight", wrong, full=0.9)
        if index == 0:
            _uniform(b, bound, f"{call}.bias", wrong, full=0.9)
        elif float(b.abs().max()) > bound * (1 + 1e-6):
            raise CheckFailed(f"{call}.bias exceeds +-1/sqrt(fan_in) = +-{bound:.4f}", bound, b)
    return "weight and bias uniform in +-1/sqrt(fan_in), as nn.Conv2d, on the judge's sizes"


def _module_case(ctx: Context, draw: _Draw, case: dict, index: int) -> float:
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
    reply = ctx.probe("convolution.module_run", args=[c_in, c_out, k], kwargs=kwargs, weight=w, bias=b, x=x, g_out=g)
    reply = reply if isinstance(reply, dict) else {}
    diff = compare_output(
        expected.detach(), reply.get("out"), where, conv_mistakes(x, w, b, pair(stride), pair(padding)), SHAPE_HINT
    )
    (expected * g).sum().backward()
    return max(diff, _grads(reply, ("x", "weight", "bias")[: len(refs)], refs, where))


def _module_forward_cases(draw: _Draw) -> list[dict]:
    cases = []
    for k, stride, padding, bias in ((3, 1, 1, True), (5, 2, 2, False), (1, 1, 0, True)):
        c_in = draw.int(1, 4)
        size = max(k, 3) + draw.int(0, 4)
        cases.append(
            {"c_in": c_in, "c_out": draw.int(1, 5), "k": k, "stride": stride, "padding": padding, "bias": bias}
            | {"x": (draw.int(1, 2), c_in, size, size + draw.int(-1, 1))}
        )
    return cases


def _module_other_cases(draw: _Draw) -> list[dict]:
    k = (draw.int(1, 3), draw.int(4, 5))
    return [
        {"c_in": draw.int(1, 3), "c_out": draw.int(2, 4), "k": k, "stride": (2, 1), "padding": (1, 2), "bias": True},
        {"c_in": 1, "c_out": 1, "k": 2, "stride": 3, "padding": 0, "bias": True},
        {"c_in": draw.int(4, 6), "c_out": draw.int(2, 3), "k": 3, "stride": 1, "padding": 0, "bias": False},
    ]


@judge_test("conv2d_module_forward", "Conv2d")
def conv2d_module_forward(ctx: Context):
    draw = _Draw(ctx.generator("forward"))
    cases = _module_forward_cases(draw)
    diff = max(_module_case(ctx, draw, case, i) for i, case in enumerate(cases))
    return f"matches nn.Conv2d on {len(cases)} case(s) of the judge (output and gradients)", diff


@judge_test("conv2d_module_hidden", "Conv2d")
def conv2d_module_hidden(ctx: Context):
    draw = _Draw(ctx.generator("other"))
    cases = _module_other_cases(draw)
    for case in cases:
        kh, kw = pair(case["k"])
        case["x"] = (draw.int(1, 3), case["c_in"], kh + draw.int(2, 6), kw + draw.int(1, 6))
    diff = max(_module_case(ctx, draw, case, i) for i, case in enumerate(cases))
    return f"matches nn.Conv2d on {len(cases)} other case(s) of the judge", diff
