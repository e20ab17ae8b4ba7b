"""Is a student's Conv2d module right? (chapter 6, exercise 03_convolution)

``Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)`` must hold an
``nn.Parameter`` ``weight`` of shape (out, in, kh, kw) and ``bias`` of shape (out,) (None when
``bias=False``), initialised like ``nn.Conv2d``: ``kaiming_uniform_(a=sqrt(5))``, which is uniform
in +-1/sqrt(fan_in) with fan_in = in_channels * kh * kw, and the bias uniform in the same range.
The initialisation is checked by bounds and statistics, not values. The forward pass is compared
with an ``nn.Conv2d`` holding the same weights, outputs and gradients, with torch's convolution
forbidden while the student's code runs (the helpers are those of ``convolution.py``).
"""

from __future__ import annotations

import inspect
import math

import torch
from torch import nn

from adl4cv_utils.checks.convolution.common import (
    DTYPE,
    SHAPE_HINT,
    _backward,
    _compare_grads,
    compare_output,
    guarded,
    pair,
)
from adl4cv_utils.checks.convolution.mistakes import conv_mistakes
from adl4cv_utils.checks.result import CheckFailed, run_check

SIGNATURE = "Conv2d(in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True)"
ARGUMENTS = {
    "in_channels": inspect.Parameter.empty,
    "out_channels": inspect.Parameter.empty,
    "kernel_size": inspect.Parameter.empty,
    "stride": 1,
    "padding": 0,
    "bias": True,
}


def _call_text(args, kwargs) -> str:
    return "Conv2d(" + ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items())]) + ")"


def build(Conv2d, *args, **kwargs) -> nn.Module:
    """Construct the student's module (builtins forbidden); a wrong signature becomes a clear failure."""
    if not (isinstance(Conv2d, type) and issubclass(Conv2d, nn.Module)):
        raise CheckFailed(f"Conv2d must be a subclass of nn.Module, got {Conv2d!r}")
    try:
        return guarded(lambda: Conv2d(*args, **kwargs), Conv2d)
    except TypeError as error:
        raise CheckFailed(f"{_call_text(args, kwargs)} failed: {error}. The constructor must be {SIGNATURE}") from error


def _parameter(module, name: str, shape: tuple, call: str, swapped: tuple | None = None) -> nn.Parameter:
    """The registered nn.Parameter ``name`` of ``module``, checked for its shape."""
    p = getattr(module, name, None)
    if p is None:
        raise CheckFailed(f"{call}.{name} is missing (or None)")
    if not isinstance(p, nn.Parameter):
        raise CheckFailed(f"{call}.{name} is a {type(p).__name__}: wrap it in nn.Parameter so that it is trained")
    if tuple(p.shape) != shape:
        hint = ""
        if swapped and tuple(p.shape) == swapped:
            hint = "; looks like in_channels and out_channels are swapped: nn.Conv2d's weight is (out, in, kh, kw)"
        elif name == "bias" and swapped and p.shape[:1] == swapped[:1]:
            hint = "; looks like one bias per input channel: there is one per output channel"
        raise CheckFailed(f"{call}.{name} has the wrong shape{hint}", expected=shape, got=tuple(p.shape))
    if all(q is not p for q in module.parameters()):
        raise CheckFailed(f"{call}.{name} is not registered: assign it as self.{name} after super().__init__()")
    return p


@run_check("Conv2d parameters")
def check_conv2d_module_shapes(Conv2d):
    """Are the arguments as in the contract, weight (out, in, kh, kw) and bias (out,) nn.Parameters, bias None
    with bias=False?"""
    if not (isinstance(Conv2d, type) and issubclass(Conv2d, nn.Module)):
        raise CheckFailed(f"Conv2d must be a subclass of nn.Module, got {Conv2d!r}")
    params = inspect.signature(Conv2d.__init__).parameters
    for name, default in ARGUMENTS.items():
        if name not in params:
            raise CheckFailed(f"Conv2d.__init__ has no argument {name!r}: the constructor must be {SIGNATURE}")
        if params[name].default != default:
            raise CheckFailed(f"the default of {name!r} should be {default!r}", default, params[name].default)
    for args, kwargs in (((3, 8, 3), {}), ((2, 5, 5), {"stride": 2, "padding": 1})):
        call = _call_text(args, kwargs)
        m = build(Conv2d, *args, **kwargs)
        _parameter(m, "weight", (args[1], args[0], args[2], args[2]), call, (args[0], args[1], args[2], args[2]))
        _parameter(m, "bias", (args[1],), call, (args[0],))
    call = "Conv2d(4, 6, 3, bias=False)"
    m = build(Conv2d, 4, 6, 3, bias=False)
    _parameter(m, "weight", (6, 4, 3, 3), call, (4, 6, 3, 3))
    if not hasattr(m, "bias"):
        raise CheckFailed(f"{call} has no attribute bias: set self.bias = None when bias=False")
    if m.bias is not None:
        raise CheckFailed(f"{call}.bias must be None (there is no bias), got {type(m.bias).__name__}")
    if len(list(m.parameters())) != 1:
        raise CheckFailed(f"{call} must have one parameter (the weight), got {len(list(m.parameters()))}")
    return "weight (out, in, kh, kw), bias (out,) or None, registered as parameters"


def uniform_bound(values: torch.Tensor, bound: float, what: str, wrong_bounds: dict[str, float], full: float) -> None:
    """Fail unless ``values`` look uniform on [-bound, bound] (``full``: how close max |v| must get to bound).

    ``wrong_bounds`` maps the hint for a known mistake to the bound that mistake gives.
    """
    v = values.detach().to(DTYPE).reshape(-1)
    top, std, mean = float(v.abs().max()), float(v.std()), float(v.mean())
    if std < 1e-12:
        raise CheckFailed(
            f"{what}: all values are equal ({float(v[0]):.3g}); nn.Conv2d draws them uniformly "
            f"from [-1/sqrt(fan_in), 1/sqrt(fan_in)] = +-{bound:.4f}"
        )
    if top > bound * (1 + 1e-6) or top < full * bound:
        hint = "torch.randn (std 1)" if abs(std - 1) < 0.1 else ""
        hint = hint or next((h for h, b in wrong_bounds.items() if abs(top / b - 1) < 0.1), "")
        hint = f"looks like {hint}" if hint else f"expected values up to +-1/sqrt(fan_in) = +-{bound:.4f}"
        raise CheckFailed(f"{what}: max |value| is {top:.4f}; {hint}", bound, top)
    if abs(std * math.sqrt(3) / bound - 1) > 0.1 or abs(mean) > 0.1 * bound:
        raise CheckFailed(
            f"{what}: mean {mean:.4f} and std {std:.4f} do not fit a uniform distribution on +-{bound:.4f} "
            f"(mean 0, std {bound / math.sqrt(3):.4f})"
        )


@run_check("Conv2d initialisation")
def check_conv2d_module_init(Conv2d):
    """Are weight and bias initialised like nn.Conv2d (uniform in +-1/sqrt(in_channels * kh * kw))?"""
    with torch.random.fork_rng():
        torch.manual_seed(0)
        for c_in, c_out, k in ((16, 64, 3), (6, 10, 5)):
            m = build(Conv2d, c_in, c_out, k)
            call = f"Conv2d({c_in}, {c_out}, {k})"
            bound, wrong = init_bounds(c_in, c_out, k)
            w = _parameter(m, "weight", (c_out, c_in, k, k), call)
            b = _parameter(m, "bias", (c_out,), call)
            uniform_bound(w, bound, f"{call}.weight", wrong, full=0.9)
            if c_out >= 64:  # enough values for statistics
                uniform_bound(b, bound, f"{call}.bias", wrong, full=0.75)
            elif float(b.detach().abs().max()) > bound * (1 + 1e-6):
                raise CheckFailed(f"{call}.bias exceeds +-1/sqrt(fan_in) = +-{bound:.4f}", bound, b)
    return "weight and bias uniform in +-1/sqrt(fan_in), as nn.Conv2d"


def _forward_case(Conv2d, case: dict, index: int) -> float:
    c_in, c_out, k, stride, padding, bias = (case[n] for n in ("c_in", "c_out", "k", "stride", "padding", "bias"))
    kwargs = {"stride": stride, "padding": padding, "bias": bias}
    call = _call_text((c_in, c_out, k), kwargs)
    where = f"case {index + 1} ({call} on x {case['x']})"
    with torch.random.fork_rng():
        torch.manual_seed(100 + index)
        ref = nn.Conv2d(c_in, c_out, k, stride=stride, padding=padding, bias=bias, dtype=DTYPE)
        x = torch.randn(case["x"], dtype=DTYPE)
        g = torch.randn(ref(x).shape, dtype=DTYPE)
    m = build(Conv2d, c_in, c_out, k, **kwargs)
    kh, kw = pair(k)
    _parameter(m, "weight", (c_out, c_in, kh, kw), call, (c_in, c_out, kh, kw))
    if bias:
        _parameter(m, "bias", (c_out,), call, (c_in,))
    m = m.to(DTYPE)
    with torch.no_grad():
        m.weight.copy_(ref.weight)
        if bias:
            m.bias.copy_(ref.bias)
    mine, xr = x.clone().requires_grad_(), x.clone().requires_grad_()
    got = guarded(lambda: m(mine), Conv2d)
    expected = ref(xr)
    mistakes = conv_mistakes(
        x, ref.weight.detach(), None if ref.bias is None else ref.bias.detach(), pair(stride), pair(padding)
    )
    diff = compare_output(expected.detach(), got, where, mistakes, SHAPE_HINT)
    (expected * g).sum().backward()
    _backward(got, g, Conv2d, where)
    pairs = [("x", mine, xr), ("weight", m.weight, ref.weight)] + ([("bias", m.bias, ref.bias)] if bias else [])
    return max(diff, _compare_grads(pairs, where))


FORWARD_CASES = (
    {"c_in": 3, "c_out": 4, "k": 3, "stride": 1, "padding": 1, "bias": True, "x": (2, 3, 6, 7)},
    {"c_in": 2, "c_out": 5, "k": 5, "stride": 2, "padding": 2, "bias": False, "x": (1, 2, 9, 8)},
    {"c_in": 4, "c_out": 2, "k": 1, "stride": 1, "padding": 0, "bias": True, "x": (2, 4, 5, 5)},
)
OTHER_CASES = (
    {"c_in": 2, "c_out": 3, "k": (3, 5), "stride": (2, 1), "padding": (1, 2), "bias": True, "x": (2, 2, 7, 6)},
    {"c_in": 1, "c_out": 1, "k": 2, "stride": 3, "padding": 0, "bias": True, "x": (3, 1, 8, 10)},
    {"c_in": 5, "c_out": 3, "k": 3, "stride": 1, "padding": 0, "bias": False, "x": (1, 5, 3, 4)},
)


@run_check("Conv2d forward")
def check_conv2d_module_forward(Conv2d):
    """With nn.Conv2d's weights copied in, do output and gradients match nn.Conv2d (stride, padding, bias)?"""
    diff = max(_forward_case(Conv2d, case, i) for i, case in enumerate(FORWARD_CASES))
    return f"matches nn.Conv2d on {len(FORWARD_CASES)} case(s) (output and gradients)", diff


@run_check("Conv2d other shapes")
def check_conv2d_module_other_shapes(Conv2d):
    """Does the module also match nn.Conv2d with pair arguments, even kernels and a single channel?"""
    diff = max(_forward_case(Conv2d, case, i) for i, case in enumerate(OTHER_CASES))
    return f"matches nn.Conv2d on {len(OTHER_CASES)} case(s)", diff


@run_check("Conv2d without torch's convolution")
def check_conv2d_module_no_builtin(Conv2d):
    """Does the forward pass run with torch's convolution patched to raise and none in the autograd graph?"""
    _forward_case(Conv2d, FORWARD_CASES[0], 0)
    return "no torch convolution or pooling was called"


def init_bounds(c_in: int, c_out: int, k: int) -> tuple[float, dict[str, float]]:
    """nn.Conv2d's weight bound 1/sqrt(fan_in) and the bounds of known mistakes, by the hint that names each."""
    fan_in, fan_out = c_in * k * k, c_out * k * k
    return 1 / math.sqrt(fan_in), {
        "kaiming_uniform_ without a=math.sqrt(5) (bound sqrt(6 / fan_in))": math.sqrt(6 / fan_in),
        "the bound uses fan_out = out_channels * kh * kw; nn.Conv2d uses fan_in": 1 / math.sqrt(fan_out),
        "fan_in = in_channels only; it is in_channels * kh * kw": 1 / math.sqrt(c_in),
    }
