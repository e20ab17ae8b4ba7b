"""Judge of 03_convolution: conv2d, max_pool2d and Conv2d against torch's, on shapes and values drawn in secret.

The student's functions and module run in the grading kernel (probes ``convolution.*``) on inputs drawn
here from the run's secret seed; ``F.conv2d`` and ``F.max_pool2d`` are the references, here (the
Conv2d tests are in conv_module.py, registered here). The self-checks' mistake tables
(adl4cv_utils.checks.convolution.mistakes) name a known mistake. That torch's own convolution or pooling
was not used is decided from the submitted source and the kernel's trace (rules.py), for every
cell of the unit.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from adl4cv_grading.exercises.convolution import judge_module as conv_module
from adl4cv_grading.exercises.convolution.judge_module import DTYPE, Draw, compare_grads
from adl4cv_grading.judge_tests import Context, judge_test
from adl4cv_utils.checks.convolution import (
    LECTURE_INPUT,
    LECTURE_OUTPUT,
    POOL_SHAPE_HINT,
    SHAPE_HINT,
    compare_output,
    describe,
    pair,
)
from adl4cv_utils.checks.convolution.mistakes import conv_mistakes, pool_mistakes

# ---------------------------------------------------------------------------------------------
# conv2d
# ---------------------------------------------------------------------------------------------


def _conv_case(ctx: Context, draw: Draw, case: dict, index: int, grads: bool = False) -> float:
    x, w = draw.randn(case["x"]), draw.randn(case["w"])
    b = draw.randn(case["w"][:1]) if case.get("bias") else None
    stride, padding = pair(case.get("stride", 1)), pair(case.get("padding", 0))
    options = {k: case[k] for k in ("stride", "padding") if k in case}
    refs = [t.clone().requires_grad_() for t in (x, w, b) if t is not None]
    expected = F.conv2d(*refs[:2], refs[2] if b is not None else None, stride, padding)
    g = draw.randn(expected.shape) if grads else None
    reply = ctx.describe("convolution.conv2d", x=x, weight=w, bias=b, options=options, g_out=g)
    where = f"case {index + 1} ({describe(case)})"
    mistakes = conv_mistakes(x, w, b, stride, padding)
    diff = compare_output(expected.detach(), reply.get("out"), where, mistakes, SHAPE_HINT)
    if grads:
        (expected * g).sum().backward()
        diff = max(diff, compare_grads(reply, ("x", "weight", "bias")[: len(refs)], refs, where))
    return diff


def _conv_cases(ctx: Context, make, grads: bool = False) -> tuple[str, float]:
    draw = Draw(ctx.generator("cases"))
    cases = make(draw)
    diff = max(_conv_case(ctx, draw, case, i, grads) for i, case in enumerate(cases))
    return f"matches F.conv2d on {len(cases)} case(s) of the judge" + (" (output and gradients)" if grads else ""), diff


def _basic(draw: Draw) -> list[dict]:
    cases = []
    for k in (1, 3, 5, draw.int(2, 4)):
        c_in = draw.int(1, 4)
        h = k + draw.int(0, 5)
        cases.append({"x": (draw.int(1, 2), c_in, h, h + draw.int(1, 3)), "w": (c_in + draw.int(1, 3), c_in, k, k)})
    return cases


def _strided(draw: Draw) -> list[dict]:
    cases = []
    for stride in (2, (2, 1) if draw.coin() else (1, 2), 3, draw.int(2, 3)):
        k, c_in = draw.int(1, 5), draw.int(1, 3)
        s = pair(stride)
        h, w = k + s[0] * draw.int(1, 3) + draw.int(0, 2), k + s[1] * draw.int(1, 3) + draw.int(1, 2)
        cases.append({"x": (draw.int(1, 2), c_in, h, w), "w": (draw.int(1, 4), c_in, k, k), "stride": stride})
    return cases


def _padded(draw: Draw) -> list[dict]:
    cases = []
    for padding, stride in ((1, None), (2, None), ((1, 2) if draw.coin() else (2, 1), None), (1, 2)):
        k, c_in = draw.int(1, 5), draw.int(1, 3)
        case = {"x": (draw.int(1, 2), c_in, k + draw.int(0, 4), k + draw.int(0, 4)), "w": (draw.int(1, 4), c_in, k, k)}
        case["padding"] = padding
        if stride:
            case["stride"] = stride
        cases.append(case)
    return cases


def _biased(draw: Draw) -> list[dict]:
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


def _with_grads(draw: Draw) -> list[dict]:
    c_in = draw.int(1, 3)
    return [
        {"x": (2, c_in, draw.int(5, 8), draw.int(5, 8)), "w": (draw.int(2, 4), c_in, 3, 3), "bias": True}
        | {"stride": 2, "padding": 1},
        {"x": (1, 2, draw.int(5, 7), draw.int(5, 7)), "w": (3, 2, 5, 5), "bias": True, "padding": 2},
        {"x": (2, 2, draw.int(3, 6), draw.int(3, 6)), "w": (draw.int(1, 3), 2, 1, 1)},
    ]


def _random_conv(draw: Draw, count: int = 6) -> list[dict]:
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


def _pool_case(ctx: Context, draw: Draw, case: dict, index: int, grads: bool = False, x=None) -> float:
    """One case; ``stride`` missing from the case: not passed; None: passed as None."""
    x = draw.randn(case["x"]) if x is None else x
    k = pair(case["k"])
    s = pair(case["stride"]) if case.get("stride") is not None else k
    ref = x.clone().requires_grad_()
    expected = F.max_pool2d(ref, k, s)
    g = draw.randn(expected.shape) if grads else None
    args = [case["k"]] + ([case["stride"]] if "stride" in case else [])
    reply = ctx.describe("convolution.max_pool2d", x=x, args=args, g_out=g)
    where = case.get("where") or f"case {index + 1} ({describe(case)})"
    diff = compare_output(expected.detach(), reply.get("out"), where, pool_mistakes(x, k, s), POOL_SHAPE_HINT)
    if grads:
        (expected * g).sum().backward()
        diff = max(diff, compare_grads(reply, ("x",), (ref,), where))
    return diff


def _pool_cases(ctx: Context, make, grads: bool = False) -> tuple[str, float]:
    draw = Draw(ctx.generator("cases"))
    cases = make(draw)
    diff = max(_pool_case(ctx, draw, case, i, grads) for i, case in enumerate(cases))
    return f"matches F.max_pool2d on {len(cases)} case(s) of the judge" + (
        " (output and gradient)" if grads else ""
    ), diff


def _pool_basic(draw: Draw) -> list[dict]:
    pairs = ((2, 2), (3, 2), ((2, 3), (1, 2)) if draw.coin() else ((3, 2), (2, 1)), (2, 1), (draw.int(2, 3), 3))
    cases = []
    for k, s in pairs:
        (kh, kw), (sh, sw) = pair(k), pair(s)
        h, w = kh + sh * draw.int(1, 3) + draw.int(0, 1), kw + sw * draw.int(1, 3) + draw.int(0, 1)
        cases.append({"x": (draw.int(1, 2), draw.int(1, 3), h, w), "k": k, "stride": s})
    return cases


def _pool_default(draw: Draw) -> list[dict]:
    k1, k2 = draw.int(2, 3), (2, 3) if draw.coin() else (3, 2)
    return [
        {"x": (draw.int(1, 2), draw.int(1, 3), k1 * draw.int(2, 3) + draw.int(0, 1), k1 * draw.int(2, 4)), "k": k1},
        {"x": (1, draw.int(1, 2), 3 * draw.int(2, 3) + 1, 3 * draw.int(2, 3)), "k": 3},
        {"x": (1, 1, k2[0] * draw.int(2, 3), k2[1] * draw.int(2, 3) + 1), "k": k2, "stride": None},
    ]


def _pool_grad(draw: Draw) -> list[dict]:
    return [
        {"x": (2, draw.int(1, 3), draw.int(5, 8), draw.int(5, 8)), "k": 2, "stride": 2},
        {"x": (1, 2, draw.int(6, 9), draw.int(6, 9)), "k": 3, "stride": 2},  # overlapping windows: gradients add up
    ]


def _random_pool(draw: Draw, count: int = 6) -> list[dict]:
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
    draw = Draw(ctx.generator("cases"))
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


judge_test("conv2d_module_shapes", "Conv2d")(lambda ctx: conv_module.shapes(ctx))
judge_test("conv2d_module_init", "Conv2d")(lambda ctx: conv_module.init(ctx))
judge_test("conv2d_module_forward", "Conv2d")(lambda ctx: conv_module.forward(ctx))
judge_test("conv2d_module_hidden", "Conv2d")(lambda ctx: conv_module.hidden(ctx))
