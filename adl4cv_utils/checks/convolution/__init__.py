"""Are a student's conv2d and max_pool2d right? (chapter 6, exercise 03_convolution)

Every check runs the student's function and torch's own (``F.conv2d``, ``F.max_pool2d``) on the
same seeded float64 tensors and compares the outputs and, where asked, the gradients for the
input, the weight and the bias. Torch's references are computed outside ``forbid_builtins``; the
student's code runs inside it, so calling torch's own convolution or pooling fails with a message
that says so. When an output is wrong it is compared with the outputs of known mistakes (flipped
kernel, padding on one side, stride ignored, bias dropped, average pooling, ...; see
``conv_mistakes.py``) computed with torch, so that the message can name the mistake. The checks
of the ``Conv2d`` module are in ``conv_module.py`` (which does not import this module) and
re-exported here, so test cells only import ``convolution``.
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F

from adl4cv_utils.checks.convolution.common import (
    DTYPE,
    POOL_SHAPE_HINT,
    SHAPE_HINT,
    _callable,
    _randn,
    _seed,
    compare_gradients,
    compare_output,
    describe,
    guarded,
    pair,
)
from adl4cv_utils.checks.convolution.mistakes import conv_mistakes, pool_mistakes

# The Conv2d module checks, re-exported so that test cells only import this module.
from adl4cv_utils.checks.convolution.module import (  # noqa: F401
    check_conv2d_module_forward,
    check_conv2d_module_init,
    check_conv2d_module_no_builtin,
    check_conv2d_module_other_shapes,
    check_conv2d_module_shapes,
)
from adl4cv_utils.checks.result import run_check

MODULE_CHECKS = (
    "check_conv2d_module_shapes",
    "check_conv2d_module_init",
    "check_conv2d_module_forward",
    "check_conv2d_module_other_shapes",
    "check_conv2d_module_no_builtin",
)


def run_conv_case(conv2d, case: dict, index: int, seed: int, grads: bool = False) -> float:
    """One conv2d case: reference first (outside the guard), then the student's code inside it."""
    gen = torch.Generator().manual_seed(seed * 1000 + index)
    x, w = _randn(case["x"], gen), _randn(case["w"], gen)
    b = _randn(case["w"][:1], gen) if case.get("bias") else None
    stride, padding = pair(case.get("stride", 1)), pair(case.get("padding", 0))
    mine = [t.clone().requires_grad_(grads) if t is not None else None for t in (x, w, b)]
    args = tuple(mine[:3] if b is not None else mine[:2])
    kwargs = {k: case[k] for k in ("stride", "padding") if k in case}
    where = f"case {index + 1} ({describe(case)})"
    got = guarded(lambda: conv2d(*args, **kwargs), conv2d)
    diff = compare_output(
        F.conv2d(x, w, b, stride, padding), got, where, conv_mistakes(x, w, b, stride, padding), SHAPE_HINT
    )
    if grads:
        names = ("x", "weight", "bias")
        reference = functools.partial(F.conv2d, stride=stride, padding=padding)
        inputs, mine_by_name = dict(zip(names, (x, w, b))), dict(zip(names, mine))
        diff = max(diff, compare_gradients(reference, inputs, mine_by_name, got, conv2d, where, gen))
    return diff


def run_pool_case(max_pool2d, case: dict, index: int, seed: int, grads: bool = False) -> float:
    """One max_pool2d case (``stride`` missing from the case: not passed; None: passed as None)."""
    gen = torch.Generator().manual_seed(seed * 1000 + index + 500)
    x = _randn(case["x"], gen)
    k = pair(case["k"])
    s = pair(case["stride"]) if case.get("stride") is not None else k
    mine = x.clone().requires_grad_(grads)
    args = (mine, case["k"]) + ((case["stride"],) if "stride" in case else ())
    where = f"case {index + 1} ({describe(case)})"
    got = guarded(lambda: max_pool2d(*args), max_pool2d)
    diff = compare_output(F.max_pool2d(x, k, s), got, where, pool_mistakes(x, k, s), POOL_SHAPE_HINT)
    if grads:
        reference = functools.partial(F.max_pool2d, kernel_size=k, stride=s)
        diff = max(diff, compare_gradients(reference, {"x": x}, {"x": mine}, got, max_pool2d, where, gen))
    return diff


def _run_all(runner, fn, cases, seed: int = 0, grads: bool = False) -> tuple[str, float]:
    diff = max(runner(fn, case, i, seed, grads) for i, case in enumerate(cases))
    return f"matches torch on {len(cases)} case(s)" + (" (output and gradients)" if grads else ""), diff


# ---------------------------------------------------------------------------------------------
# Cases. x: input shape (N, C_in, H, W); w: weight shape (C_out, C_in, kh, kw).
# ---------------------------------------------------------------------------------------------

CONV_BASIC = (
    {"x": (2, 3, 7, 9), "w": (4, 3, 3, 3)},
    {"x": (1, 2, 6, 5), "w": (3, 2, 1, 1)},
    {"x": (2, 1, 8, 7), "w": (2, 1, 5, 5)},
    {"x": (1, 3, 5, 6), "w": (1, 3, 3, 3)},
)
CONV_STRIDE = (
    {"x": (2, 3, 9, 8), "w": (4, 3, 3, 3), "stride": 2},
    {"x": (1, 2, 7, 10), "w": (3, 2, 3, 3), "stride": (2, 1)},
    {"x": (1, 2, 11, 9), "w": (2, 2, 5, 5), "stride": 2},
    {"x": (2, 2, 8, 7), "w": (3, 2, 1, 1), "stride": 2},
)
CONV_PADDING = (
    {"x": (2, 3, 6, 7), "w": (4, 3, 3, 3), "padding": 1},
    {"x": (1, 2, 5, 6), "w": (3, 2, 5, 5), "padding": 2},
    {"x": (1, 2, 6, 5), "w": (2, 2, 3, 3), "padding": (1, 2)},
    {"x": (2, 3, 7, 8), "w": (5, 3, 3, 3), "stride": 2, "padding": 1},
    {"x": (1, 1, 4, 4), "w": (2, 1, 1, 1), "padding": 1},
)
CONV_BIAS = (  # case 1: C_in == C_out == output width, so wrongly broadcast biases still run
    {"x": (1, 4, 5, 6), "w": (4, 4, 3, 3), "bias": True},
    {"x": (2, 3, 7, 8), "w": (5, 3, 3, 3), "bias": True, "stride": 2, "padding": 1},
    {"x": (1, 2, 6, 5), "w": (3, 2, 1, 1), "bias": True, "padding": 2},
)
CONV_GRAD = (
    {"x": (2, 3, 7, 6), "w": (4, 3, 3, 3), "bias": True, "stride": 2, "padding": 1},
    {"x": (1, 2, 6, 7), "w": (3, 2, 5, 5), "bias": True, "padding": 2},
    {"x": (2, 2, 5, 5), "w": (2, 2, 1, 1)},
)
POOL_BASIC = (
    {"x": (2, 3, 6, 8), "k": 2, "stride": 2},
    {"x": (1, 2, 7, 9), "k": 3, "stride": 2},
    {"x": (2, 1, 5, 7), "k": (2, 3), "stride": (1, 2)},
    {"x": (1, 2, 5, 5), "k": 2, "stride": 2},
    {"x": (1, 1, 6, 6), "k": 2, "stride": 1},
)
POOL_DEFAULT = (
    {"x": (2, 3, 6, 8), "k": 2},
    {"x": (1, 2, 9, 7), "k": 3},
    {"x": (1, 1, 4, 6), "k": (2, 3), "stride": None},
)
POOL_GRAD = (
    {"x": (2, 3, 6, 7), "k": 2, "stride": 2},
    {"x": (1, 2, 7, 7), "k": 3, "stride": 2},  # overlapping windows: gradients add up
)
LECTURE_INPUT = ((3, 1, 3, 5), (6, 0, 7, 9), (3, 2, 1, 4), (0, 2, 4, 3))
LECTURE_OUTPUT = ((6, 9), (3, 4))


def random_conv_cases(seed: int, count: int = 6) -> list[dict]:
    """Small random conv2d cases (non-square and even kernels, stride and padding pairs)."""
    gen = torch.Generator().manual_seed(10_000 + seed)

    def r(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    cases = []
    for _ in range(count):
        kh, kw, sh, sw, ph, pw = r(1, 5), r(1, 5), r(1, 3), r(1, 3), r(0, 2), r(0, 2)
        stride, padding = ((sh, sw) if r(0, 1) else sh), ((ph, pw) if r(0, 1) else ph)
        (sh, sw), (ph, pw) = pair(stride), pair(padding)
        h, w = max(1, kh - 2 * ph + r(0, 6)), max(1, kw - 2 * pw + r(0, 6))
        c_in, c_out = r(1, 4), r(1, 5)
        case = {"x": (r(1, 2), c_in, h, w), "w": (c_out, c_in, kh, kw), "bias": bool(r(0, 1))}
        case["stride"], case["padding"] = stride, padding
        cases.append(case)
    return cases


def random_pool_cases(seed: int, count: int = 5) -> list[dict]:
    """Small random max_pool2d cases (non-square kernels and strides, overlapping windows)."""
    gen = torch.Generator().manual_seed(20_000 + seed)

    def r(lo, hi):
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    cases = []
    for _ in range(count):
        kh, kw = r(1, 4), r(1, 4)
        square = bool(r(0, 1))
        kw = kh if square else kw
        case = {"x": (r(1, 2), r(1, 3), kh + r(0, 6), kw + r(0, 6)), "k": kh if square else (kh, kw)}
        if r(0, 2):
            case["stride"] = (r(1, 3), r(1, 3)) if r(0, 1) else r(1, 3)
        cases.append(case)
    return cases


# ---------------------------------------------------------------------------------------------
# The checks, one per graded property.
# ---------------------------------------------------------------------------------------------


@run_check("conv2d basic")
def check_conv2d_basic(conv2d):
    """Does conv2d(x, weight) match F.conv2d (stride 1, no padding, no bias) on non-square inputs, kernels 1, 3, 5?"""
    _callable(conv2d, "conv2d")
    return _run_all(run_conv_case, conv2d, CONV_BASIC)


@run_check("conv2d stride")
def check_conv2d_stride(conv2d):
    """Does conv2d use stride (an int or a pair), including sizes that do not divide evenly?"""
    _callable(conv2d, "conv2d")
    return _run_all(run_conv_case, conv2d, CONV_STRIDE)


@run_check("conv2d padding")
def check_conv2d_padding(conv2d):
    """Does conv2d pad with zeros on every side (padding 1, 2 and a pair), also with stride 2?"""
    _callable(conv2d, "conv2d")
    return _run_all(run_conv_case, conv2d, CONV_PADDING)


@run_check("conv2d bias")
def check_conv2d_bias(conv2d):
    """Is the bias added once per output channel, to every pixel?"""
    _callable(conv2d, "conv2d")
    return _run_all(run_conv_case, conv2d, CONV_BIAS)


@run_check("conv2d gradients")
def check_conv2d_gradients(conv2d):
    """Do the gradients for x, weight and bias (through autograd) match F.conv2d's?"""
    _callable(conv2d, "conv2d")
    return _run_all(run_conv_case, conv2d, CONV_GRAD, grads=True)


@run_check("conv2d without torch's convolution")
def check_conv2d_no_builtin(conv2d):
    """Is conv2d right without calling torch's own convolution (patched to raise, autograd graph inspected)?"""
    _callable(conv2d, "conv2d")
    run_conv_case(conv2d, CONV_GRAD[0], 0, seed=7, grads=True)
    return "right, and no torch convolution or pooling was called"


@run_check("conv2d other shapes")
def check_conv2d_random(conv2d, seed: int = 0):
    """On random small cases (non-square and even kernels, stride/padding pairs), do output and gradients match?"""
    _callable(conv2d, "conv2d")
    return _run_all(run_conv_case, conv2d, random_conv_cases(_seed(seed)), seed=seed, grads=True)


@run_check("max_pool2d basic")
def check_max_pool_basic(max_pool2d):
    """Does max_pool2d(x, kernel_size, stride) match F.max_pool2d (int and pair arguments, leftover borders)?"""
    _callable(max_pool2d, "max_pool2d")
    return _run_all(run_pool_case, max_pool2d, POOL_BASIC)


@run_check("max_pool2d default stride")
def check_max_pool_default_stride(max_pool2d):
    """Without a stride (or stride=None), does the stride default to the kernel size?"""
    _callable(max_pool2d, "max_pool2d")
    return _run_all(run_pool_case, max_pool2d, POOL_DEFAULT)


@run_check("max_pool2d lecture example")
def check_max_pool_lecture(max_pool2d):
    """Does 2x2 max pooling with stride 2 turn the lecture's 4x4 example into [[6, 9], [3, 4]]?"""
    _callable(max_pool2d, "max_pool2d")
    x = torch.tensor(LECTURE_INPUT, dtype=DTYPE)[None, None]
    got = guarded(lambda: max_pool2d(x.clone(), 2, 2), max_pool2d)
    expected = torch.tensor(LECTURE_OUTPUT, dtype=DTYPE)[None, None]
    where = "the lecture's example max_pool2d(x, 2, 2) with x of shape (1, 1, 4, 4)"
    compare_output(expected, got, where, pool_mistakes(x, (2, 2), (2, 2)), POOL_SHAPE_HINT)
    return "[[3, 1, 3, 5], [6, 0, 7, 9], [3, 2, 1, 4], [0, 2, 4, 3]] -> [[6, 9], [3, 4]] as on the slide"


@run_check("max_pool2d gradient")
def check_max_pool_gradient(max_pool2d):
    """Does the gradient reach only the maximum of each window (adding up where windows overlap)?"""
    _callable(max_pool2d, "max_pool2d")
    return _run_all(run_pool_case, max_pool2d, POOL_GRAD, grads=True)


@run_check("max_pool2d without torch's pooling")
def check_max_pool_no_builtin(max_pool2d):
    """Is max_pool2d right without calling torch's own pooling (patched to raise, autograd graph inspected)?"""
    _callable(max_pool2d, "max_pool2d")
    run_pool_case(max_pool2d, POOL_GRAD[1], 0, seed=7, grads=True)
    return "right, and no torch convolution or pooling was called"


@run_check("max_pool2d other shapes")
def check_max_pool_random(max_pool2d, seed: int = 0):
    """On random small cases (non-square kernels and strides), do output and gradient match F.max_pool2d?"""
    _callable(max_pool2d, "max_pool2d")
    return _run_all(run_pool_case, max_pool2d, random_pool_cases(_seed(seed)), seed=seed, grads=True)
