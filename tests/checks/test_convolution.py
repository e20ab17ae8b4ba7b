"""Do the 03_convolution checks pass the reference and fail wrong code with a message naming the mistake?"""

from __future__ import annotations

import math

import nbformat
import pytest
import torch
import torch.nn.functional as F
from conftest import notebook_path
from torch import nn

from adl4cv_grading.release import source_namespace
from adl4cv_utils.checks import convolution as cv
from adl4cv_utils.checks.convolution.no_builtins import BuiltinUsed, forbid_builtins

A = "03_convolution"
REF = source_namespace(A, until="conv2d_module")
conv2d, max_pool2d, Conv2d, pair = REF["conv2d"], REF["max_pool2d"], REF["Conv2d"], REF["pair"]

CONV_CHECKS = (
    cv.check_conv2d_basic,
    cv.check_conv2d_stride,
    cv.check_conv2d_padding,
    cv.check_conv2d_bias,
    cv.check_conv2d_gradients,
    cv.check_conv2d_no_builtin,
    cv.check_conv2d_random,
)
POOL_CHECKS = (
    cv.check_max_pool_basic,
    cv.check_max_pool_default_stride,
    cv.check_max_pool_lecture,
    cv.check_max_pool_gradient,
    cv.check_max_pool_no_builtin,
    cv.check_max_pool_random,
)
MODULE_CHECKS = (
    cv.check_conv2d_module_shapes,
    cv.check_conv2d_module_init,
    cv.check_conv2d_module_forward,
    cv.check_conv2d_module_other_shapes,
    cv.check_conv2d_module_no_builtin,
)


def failed(result, *phrases: str) -> str:
    """Assert that ``result`` failed and its message contains every phrase; return the message."""
    assert not result.passed, f"expected a failure, got: {result}"
    for phrase in phrases:
        assert phrase in result.message, f"{phrase!r} not in {result.message!r}"
    return result.message


# ---------------------------------------------------------------------------------------------
# The reference passes.
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", CONV_CHECKS, ids=lambda c: c.__name__)
def test_reference_conv2d_passes(check):
    """Does the notebook's unfold-based conv2d pass every conv2d check?"""
    result = check(conv2d)
    assert result.passed, str(result)


@pytest.mark.parametrize("check", POOL_CHECKS, ids=lambda c: c.__name__)
def test_reference_max_pool_passes(check):
    """Does the notebook's max_pool2d pass every pooling check?"""
    result = check(max_pool2d)
    assert result.passed, str(result)


@pytest.mark.parametrize("check", MODULE_CHECKS, ids=lambda c: c.__name__)
def test_reference_module_passes(check):
    """Does the notebook's Conv2d pass every module check?"""
    result = check(Conv2d)
    assert result.passed, str(result)


def test_loop_implementation_passes():
    """Does a correct conv2d written with loops (the notebook's conv2d_loops) pass as well as the unfold one?"""
    nb = nbformat.read(notebook_path("solutions", A), as_version=4)
    source = next(c.source for c in nb.cells if "def conv2d_loops" in c.source).split("def seconds")[0]
    ns = dict(REF)
    exec(source, ns)
    for check in CONV_CHECKS:
        result = check(ns["conv2d_loops"])
        assert result.passed, str(result)


@pytest.mark.parametrize("seed", [3, 4, 5])
def test_reference_passes_other_seeds(seed):
    """Do the random-shape checks pass the reference for seeds the notebook does not use?"""
    assert cv.check_conv2d_random(conv2d, seed=seed).passed
    assert cv.check_max_pool_random(max_pool2d, seed=seed).passed


# ---------------------------------------------------------------------------------------------
# Wrong conv2d implementations, each failing with its mistake named.
# ---------------------------------------------------------------------------------------------


def conv_flipped(x, weight, bias=None, stride=1, padding=0):
    return conv2d(x, weight.flip(-2, -1), bias, stride, padding)


def conv_transposed(x, weight, bias=None, stride=1, padding=0):
    return conv2d(x, weight.transpose(-2, -1), bias, stride, padding)


def conv_one_side(x, weight, bias=None, stride=1, padding=0):
    ph, pw = pair(padding)
    return conv2d(F.pad(x, (pw, 0, ph, 0)), weight, bias, stride, 0)


def conv_replicate(x, weight, bias=None, stride=1, padding=0):
    ph, pw = pair(padding)
    return conv2d(F.pad(x, (pw, pw, ph, ph), mode="replicate"), weight, bias, stride, 0)


def conv_stride_ignored(x, weight, bias=None, stride=1, padding=0):
    return conv2d(x, weight, bias, 1, padding)


def conv_bias_dropped(x, weight, bias=None, stride=1, padding=0):
    return conv2d(x, weight, None, stride, padding)


def conv_bias_per_input(x, weight, bias=None, stride=1, padding=0):
    out = conv2d(x, weight, None, stride, padding)
    return out if bias is None else out + x.shape[1] * bias.reshape(1, -1, 1, 1)


def conv_bias_width(x, weight, bias=None, stride=1, padding=0):
    out = conv2d(x, weight, None, stride, padding)
    return out if bias is None else out + bias


def conv_torch(x, weight, bias=None, stride=1, padding=0):
    return F.conv2d(x, weight, bias, stride, padding)


def conv_torch_hidden(x, weight, bias=None, stride=1, padding=0):
    """Tries torch first and hides the error: the call is still recorded."""
    try:
        return F.conv2d(x, weight, bias, stride, padding)
    except Exception:  # noqa: BLE001
        return conv2d(x, weight, bias, stride, padding)


def conv_unpatchable(x, weight, bias=None, stride=1, padding=0):
    """Reaches torch's convolution through a route that cannot be patched."""
    return torch._C._VariableFunctions.conv2d(x, weight, bias, pair(stride), pair(padding))


def conv_raises(x, weight, bias=None, stride=1, padding=0):
    raise ValueError("boom")


def conv_wrong_shape(x, weight, bias=None, stride=1, padding=0):
    return conv2d(x, weight, bias, stride, padding)[..., :-1]


def conv_list(x, weight, bias=None, stride=1, padding=0):
    return conv2d(x, weight, bias, stride, padding).tolist()


def conv_detached(x, weight, bias=None, stride=1, padding=0):
    return conv2d(x, weight, bias, stride, padding).detach()


def conv_float32(x, weight, bias=None, stride=1, padding=0):
    return conv2d(x, weight, bias, stride, padding).float()


CONV_WRONG = [
    (conv_flipped, cv.check_conv2d_basic, ["case 1", "kernel is flipped", "cross-correlation"]),
    (conv_transposed, cv.check_conv2d_basic, ["kernel is transposed"]),
    (conv_one_side, cv.check_conv2d_padding, ["padding is on one side only"]),
    (conv_replicate, cv.check_conv2d_padding, ["repeating the edge pixels"]),
    (conv_stride_ignored, cv.check_conv2d_stride, ["stride is ignored"]),
    (conv_bias_dropped, cv.check_conv2d_bias, ["bias is dropped"]),
    (conv_bias_per_input, cv.check_conv2d_bias, ["once per input channel"]),
    (conv_bias_width, cv.check_conv2d_bias, ["broadcast along the width"]),
    (conv_torch, cv.check_conv2d_basic, ["torch.nn.functional.conv2d", "not allowed"]),
    (conv_torch, cv.check_conv2d_no_builtin, ["torch.nn.functional.conv2d", "not allowed"]),
    (conv_torch_hidden, cv.check_conv2d_basic, ["torch.nn.functional.conv2d", "not allowed"]),
    (conv_unpatchable, cv.check_conv2d_no_builtin, ["ConvolutionBackward0", "torch's own"]),
    (conv_wrong_shape, cv.check_conv2d_basic, ["wrong shape", "floor((I - K + 2P) / S) + 1"]),
    (conv_list, cv.check_conv2d_basic, ["expected a tensor, got list"]),
    (conv_detached, cv.check_conv2d_gradients, ["not connected to the autograd graph"]),
    (conv_float32, cv.check_conv2d_basic, ["torch.float32", "dtype=x.dtype"]),
    (conv_flipped, cv.check_conv2d_random, ["kernel is flipped"]),
]


def test_flipped_kernel_loses_every_output_check():
    """Does a flipped kernel lose all the conv2d output checks (each check catches it on its own)?"""
    for check in CONV_CHECKS:
        assert not check(conv_flipped).passed, check.__name__


def test_unpatchable_route_passes_forward_but_not_no_builtin():
    """Is the dedicated no-builtin check needed: a C-level call slips past the patch but not past the graph?"""
    assert cv.check_conv2d_basic(conv_unpatchable).passed
    assert not cv.check_conv2d_no_builtin(conv_unpatchable).passed


def test_aliased_import_is_caught():
    """Is `from torch.nn.functional import conv2d as tconv` in the student's namespace caught too?"""
    ns = {"tconv": torch.conv2d}
    exec("def conv(x, weight, bias=None, stride=1, padding=0):\n    return tconv(x, weight, bias, stride, padding)", ns)
    failed(cv.check_conv2d_basic(ns["conv"]), "imported as tconv", "not allowed")
    assert ns["tconv"] is torch.conv2d, "the alias must be restored"


def test_raising_code_gives_failed_result():
    """Does code that raises give a failed result (with the error) rather than an exception?"""
    result = cv.check_conv2d_basic(conv_raises)
    failed(result, "ValueError: boom")
    assert result.traceback
    failed(cv.check_conv2d_basic(lambda *a, **k: (_ for _ in ()).throw(NotImplementedError())), "not implemented yet")


def test_not_callable_fails():
    """Is a non-function given as conv2d a failed result naming it?"""
    failed(cv.check_conv2d_basic(3), "conv2d must be a function")


# ---------------------------------------------------------------------------------------------
# Wrong max_pool2d implementations.
# ---------------------------------------------------------------------------------------------


def pool_stride_ignored(x, kernel_size, stride=None):
    return max_pool2d(x, kernel_size, 1)


def pool_default_stride_1(x, kernel_size, stride=None):
    return max_pool2d(x, kernel_size, 1 if stride is None else stride)


def pool_average(x, kernel_size, stride=None):
    (kh, kw), (sh, sw) = pair(kernel_size), pair(kernel_size if stride is None else stride)
    return x.unfold(2, kh, sh).unfold(3, kw, sw).mean(dim=(-2, -1))


def pool_min(x, kernel_size, stride=None):
    return -max_pool2d(-x, kernel_size, stride)


def pool_torch(x, kernel_size, stride=None):
    return F.max_pool2d(x, kernel_size, stride)


def pool_detached(x, kernel_size, stride=None):
    return max_pool2d(x.detach(), kernel_size, stride)


POOL_WRONG = [
    (pool_stride_ignored, cv.check_max_pool_basic, ["move by 1 pixel"]),
    (pool_default_stride_1, cv.check_max_pool_default_stride, ["move by 1 pixel", "kernel_size"]),
    (pool_average, cv.check_max_pool_basic, ["average pooling"]),
    (pool_average, cv.check_max_pool_lecture, ["lecture's example", "average pooling"]),
    (pool_min, cv.check_max_pool_basic, ["minimum"]),
    (pool_torch, cv.check_max_pool_basic, ["torch.nn.functional.max_pool2d", "not allowed"]),
    (pool_torch, cv.check_max_pool_no_builtin, ["torch.nn.functional.max_pool2d"]),
    (pool_detached, cv.check_max_pool_gradient, ["not connected to the autograd graph"]),
    (pool_stride_ignored, cv.check_max_pool_random, ["move by 1 pixel"]),
]


def test_default_stride_mistake_keeps_explicit_stride_points():
    """Does a stride that defaults to 1 lose only the default-stride check, not the explicit ones?"""
    assert cv.check_max_pool_basic(pool_default_stride_1).passed
    assert cv.check_max_pool_lecture(pool_default_stride_1).passed
    assert not cv.check_max_pool_default_stride(pool_default_stride_1).passed


# ---------------------------------------------------------------------------------------------
# Wrong Conv2d modules.
# ---------------------------------------------------------------------------------------------


def module(init=None, bias_always=False, weight_shape=None, plain_weight=False, ignore_stride=False):
    """A Conv2d variant of the reference: ``init(weight, bias, fan_in, fan_out)`` replaces the initialisation."""

    class Wrong(Conv2d):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True):
            super().__init__(in_channels, out_channels, kernel_size, stride, padding, bias or bias_always)
            kh, kw = pair(kernel_size)
            if weight_shape:
                self.weight = nn.Parameter(torch.empty(weight_shape(in_channels, out_channels, kh, kw)))
            if plain_weight:
                del self.weight
                self.weight = torch.zeros(out_channels, in_channels, kh, kw)
            if ignore_stride:
                self.stride = 1
            if init:
                with torch.no_grad():
                    init(self.weight, self.bias, in_channels * kh * kw, out_channels * kh * kw)

    return Wrong


def init_randn(w, b, fan_in, fan_out):
    w.normal_()


def init_no_a(w, b, fan_in, fan_out):
    nn.init.kaiming_uniform_(w)


def init_fan_out(w, b, fan_in, fan_out):
    w.uniform_(-1 / math.sqrt(fan_out), 1 / math.sqrt(fan_out))


def init_zero_bias(w, b, fan_in, fan_out):
    b.zero_()


class SubclassOfTorch(nn.Conv2d):
    """Inherits nn.Conv2d's forward (torch's convolution)."""


MODULE_WRONG = [
    (module(init_randn), cv.check_conv2d_module_init, ["torch.randn"]),
    (module(init_no_a), cv.check_conv2d_module_init, ["without a=math.sqrt(5)"]),
    (module(init_fan_out), cv.check_conv2d_module_init, ["fan_out"]),
    (module(init_zero_bias), cv.check_conv2d_module_init, ["bias", "all values are equal"]),
    (module(bias_always=True), cv.check_conv2d_module_shapes, ["bias=False", "must be None"]),
    (module(weight_shape=lambda i, o, kh, kw: (i, o, kh, kw)), cv.check_conv2d_module_shapes, ["swapped"]),
    (module(plain_weight=True), cv.check_conv2d_module_shapes, ["nn.Parameter"]),
    (module(ignore_stride=True), cv.check_conv2d_module_forward, ["case 2", "stride is ignored"]),
    (SubclassOfTorch, cv.check_conv2d_module_forward, ["nn.Conv2d.forward", "not allowed"]),
    (SubclassOfTorch, cv.check_conv2d_module_no_builtin, ["not allowed"]),
]


@pytest.mark.parametrize(
    "wrong, check, phrases", CONV_WRONG + POOL_WRONG + MODULE_WRONG, ids=lambda v: getattr(v, "__name__", None)
)
def test_wrong_code_fails_with_named_mistake(wrong, check, phrases):
    """Does each wrong conv2d, max_pool2d and Conv2d fail its check with a message that names the mistake?"""
    failed(check(wrong), *phrases)


def test_module_with_wrong_conv2d_fails_forward():
    """Does a module whose forward uses a flipped conv2d fail the forward check, naming the flip?"""

    class Flipped(Conv2d):
        def forward(self, x):
            return conv_flipped(x, self.weight, self.bias, self.stride, self.padding)

    failed(cv.check_conv2d_module_forward(Flipped), "kernel is flipped")


def test_module_wrong_signature_and_type():
    """Are a constructor without `padding` and a class that is no nn.Module failed results naming the contract?"""

    class NoPadding(nn.Module):
        def __init__(self, in_channels, out_channels, kernel_size, stride=1, bias=True):
            super().__init__()

    failed(cv.check_conv2d_module_shapes(NoPadding), "padding", "Conv2d(in_channels, out_channels")
    failed(cv.check_conv2d_module_shapes(int), "subclass of nn.Module")


def test_init_check_keeps_global_rng():
    """Does the init check leave the caller's random number generator as it was?"""
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    cv.check_conv2d_module_init(Conv2d)
    assert torch.equal(torch.rand(3), expected)


# ---------------------------------------------------------------------------------------------
# The guard itself and the checks' arguments.
# ---------------------------------------------------------------------------------------------


def test_forbid_builtins_raises_inside_and_restores_after_error():
    """Do torch's conv/pool raise inside forbid_builtins and work again afterwards, even after an error?"""
    originals = (F.conv2d, torch.conv2d, F.max_pool2d, F.avg_pool2d, nn.Conv2d.forward, torch.ops.aten.conv2d)
    x, w = torch.randn(1, 1, 4, 4), torch.randn(1, 1, 3, 3)
    calls: list = []
    with pytest.raises(ZeroDivisionError):
        with forbid_builtins(record=calls):
            for call in (
                lambda: F.conv2d(x, w),
                lambda: torch.conv2d(x, w),
                lambda: F.max_pool2d(x, 2),
                lambda: F.avg_pool2d(x, 2),
                lambda: F.adaptive_avg_pool2d(x, 1),
                lambda: F.conv_transpose2d(x, w),
                lambda: torch.convolution(x, w, None, [1, 1], [0, 0], [1, 1], False, [0, 0], 1),
                lambda: torch.ops.aten.conv2d(x, w),
                lambda: nn.Conv2d(1, 1, 3)(x),
                lambda: nn.MaxPool2d(2)(x),
            ):
                with pytest.raises(BuiltinUsed):
                    call()
            assert F.unfold(x, 2).shape == (1, 4, 9) and x.unfold(2, 2, 2).shape == (1, 1, 2, 4, 2)
            raise ZeroDivisionError("an error inside the block")
    assert len(calls) >= 10
    now = (F.conv2d, torch.conv2d, F.max_pool2d, F.avg_pool2d, nn.Conv2d.forward, torch.ops.aten.conv2d)
    assert all(a is b for a, b in zip(originals, now))
    assert F.conv2d(x, w).shape == (1, 1, 2, 2) and nn.Conv2d(1, 1, 3)(x).shape == (1, 1, 2, 2)


def test_checks_restore_torch_after_cheating_code():
    """After a check ran code that called F.conv2d, does F.conv2d work again?"""
    original = F.conv2d
    cv.check_conv2d_basic(conv_torch)
    cv.check_max_pool_basic(pool_torch)
    assert F.conv2d is original and F.max_pool2d(torch.randn(1, 1, 4, 4), 2).shape == (1, 1, 2, 2)


@pytest.mark.parametrize("seed", [-1, 1.5, "1", True])
def test_wrong_seed_raises_value_error(seed):
    """Is a wrong seed for the random-shape checks a ValueError naming the argument?"""
    with pytest.raises(ValueError, match="seed"):
        cv.check_conv2d_random(conv2d, seed=seed)
    with pytest.raises(ValueError, match="seed"):
        cv.check_max_pool_random(max_pool2d, seed=seed)


def test_module_checks_are_reachable_from_convolution():
    """Can test cells reach the module checks as convolution.check_conv2d_module_*?"""
    for name in cv.MODULE_CHECKS:
        assert callable(getattr(cv, name)) and name in dir(cv)
    with pytest.raises(AttributeError):
        cv.check_nothing  # noqa: B018
