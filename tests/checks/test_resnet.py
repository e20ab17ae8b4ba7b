"""Do the BasicBlock checks pass the reference and fail known-wrong blocks with a message naming the mistake?"""

from __future__ import annotations

import pytest
import torch
from conftest import solution_cell
from torch import nn
from torch.nn import functional as F

from adl4cv_utils.checks import resnet


def _reference():
    namespace: dict = {}
    exec("import torch\nfrom torch import nn\nfrom torch.nn import functional as F\n", namespace)
    exec(solution_cell("04_resnet", "basic_block"), namespace)
    return namespace["BasicBlock"]


BasicBlock = _reference()
ALL_CHECKS = [getattr(resnet, n) for n in dir(resnet) if n.startswith("check_")]


def make_block(
    *,
    relu_before_add=False,
    no_skip=False,
    stride_on_conv2=False,
    shortcut_bn=True,
    bias=False,
    always_project=False,
    final_relu=True,
    bn_before_conv=False,
    padding=1,
    identity_always=False,
):
    """A BasicBlock with one deliberate mistake switched on (all off: a correct block)."""

    class Block(nn.Module):
        def __init__(self, in_channels, out_channels, stride=1):
            super().__init__()
            s1, s2 = (1, stride) if stride_on_conv2 else (stride, 1)
            self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=s1, padding=padding, bias=bias)
            self.bn1 = nn.BatchNorm2d(in_channels if bn_before_conv else out_channels)
            self.conv2 = nn.Conv2d(out_channels, out_channels, 3, stride=s2, padding=padding, bias=bias)
            self.bn2 = nn.BatchNorm2d(out_channels)
            project = always_project or stride != 1 or in_channels != out_channels
            if project and not identity_always:
                conv = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)
                self.shortcut = (
                    nn.Sequential(conv, nn.BatchNorm2d(out_channels)) if shortcut_bn else nn.Sequential(conv)
                )
            else:
                self.shortcut = nn.Identity()

        def forward(self, x):
            if bn_before_conv:
                out = self.conv2(self.bn2(F.relu(self.conv1(self.bn1(x)))))
            else:
                out = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
            if relu_before_add:
                return F.relu(out) + self.shortcut(x)
            if no_skip:
                return F.relu(out)
            out = out + self.shortcut(x)
            return F.relu(out) if final_relu else out

    return Block


def test_reference_passes_every_check():
    """Does the notebook's reference solution pass every check?"""
    for check in ALL_CHECKS:
        result = check(BasicBlock)
        assert result.passed, result.summary()


def test_configurable_block_is_correct_when_no_mistake_is_on():
    """Is the test's own configurable block right with every mistake switched off (so the failures below are real)?"""
    for check in ALL_CHECKS:
        assert check(make_block()).passed


WRONG = [
    # (mistake, the check that targets it, text its message must contain)
    ("relu_before_add", resnet.check_forward_train, "ReLU is applied before the addition"),
    ("relu_before_add", resnet.check_forward_eval, "ReLU is applied before the addition"),
    ("no_skip", resnet.check_forward_train, "no skip connection"),
    ("no_skip", resnet.check_skip_gradient, "no skip connection"),
    ("stride_on_conv2", resnet.check_conv_layers, "stride is on the second conv"),
    ("stride_on_conv2", resnet.check_forward_train, "stride is on the second conv"),
    ("no_shortcut_bn", resnet.check_shortcut, "shortcut has no BatchNorm"),
    ("no_shortcut_bn", resnet.check_parameters, "shortcut has no BatchNorm"),
    ("conv_bias", resnet.check_conv_layers, "conv with a bias"),
    ("conv_bias", resnet.check_parameters, "unexpected ['conv1.bias', 'conv2.bias']"),
    ("always_project", resnet.check_shortcut, "projection is used even when the shape is kept"),
    ("always_project", resnet.check_parameters, "projection is used even when the shape is kept"),
    ("no_final_relu", resnet.check_forward_train, "final ReLU is missing"),
    ("no_final_relu", resnet.check_skip_gradient, "final ReLU is missing"),
    ("bn_before_conv", resnet.check_forward_train, "BatchNorm comes before the conv"),
    ("padding_0", resnet.check_output_shapes, "use padding=1"),
    ("identity_always", resnet.check_shortcut, "the shortcut is the identity although the shape changes"),
]
MISTAKE_FLAGS = {
    "relu_before_add": {"relu_before_add": True},
    "no_skip": {"no_skip": True},
    "stride_on_conv2": {"stride_on_conv2": True},
    "no_shortcut_bn": {"shortcut_bn": False},
    "conv_bias": {"bias": True},
    "always_project": {"always_project": True},
    "no_final_relu": {"final_relu": False},
    "bn_before_conv": {"bn_before_conv": True},
    "padding_0": {"padding": 0},
    "identity_always": {"identity_always": True},
}


@pytest.mark.parametrize("mistake, check, text", WRONG, ids=[f"{m}-{c.__name__}" for m, c, _ in WRONG])
def test_wrong_block_fails_naming_the_mistake(mistake, check, text):
    """Does each known-wrong block fail the check that targets it, with a message naming the mistake?"""
    result = check(make_block(**MISTAKE_FLAGS[mistake]))
    assert not result.passed
    assert text in result.message, result.summary()


@pytest.mark.parametrize("mistake", sorted(MISTAKE_FLAGS))
def test_every_wrong_block_loses_points(mistake):
    """Does every wrong block fail at least one of the visible forward / structure checks?"""
    block = make_block(**MISTAKE_FLAGS[mistake])
    assert not all(check(block).passed for check in ALL_CHECKS), mistake


def test_right_structure_passes_structure_checks_even_if_forward_is_wrong():
    """Is a mistake in forward only charged to the forward checks (partial credit)?"""
    block = make_block(relu_before_add=True)
    for check in (resnet.check_parameters, resnet.check_conv_layers, resnet.check_shortcut, resnet.check_output_shapes):
        assert check(block).passed


class Raising(BasicBlock):
    def forward(self, x):
        raise RuntimeError("boom")


class NotImplementedBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        raise NotImplementedError()


class ReturnsTuple(BasicBlock):
    def forward(self, x):
        return super().forward(x), None


class WrongShape(BasicBlock):
    def forward(self, x):
        return super().forward(x).flatten(1)


class NoStrideArgument(nn.Module):
    def __init__(self, in_channels, out_channels):
        super().__init__()


@pytest.mark.parametrize("check", ALL_CHECKS, ids=[c.__name__ for c in ALL_CHECKS])
def test_not_implemented_is_a_failed_result(check):
    """Does the release's stub give a failed result saying it is not implemented (not an exception)?"""
    result = check(NotImplementedBlock)
    assert not result.passed and "not implemented yet" in result.message


def test_raising_forward_is_a_failed_result():
    """Does a forward that raises become a failed result with the error and a traceback?"""
    result = resnet.check_forward_train(Raising)
    assert not result.passed
    assert "RuntimeError: boom" in result.message and "boom" in result.traceback


def test_wrong_type_and_missing_argument():
    """Do a tuple output, a flattened output and a constructor without ``stride`` fail with a clear message?"""
    result = resnet.check_forward_train(ReturnsTuple)
    assert not result.passed and "expected a tensor, got tuple" in result.message
    result = resnet.check_output_shapes(ReturnsTuple)
    assert not result.passed and "wrong output shape" in result.message
    for check in (resnet.check_output_shapes, resnet.check_forward_train, resnet.check_forward_eval):
        result = check(WrongShape)
        assert not result.passed and "wrong" in result.message and "shape" in result.message, result.summary()
    result = resnet.check_parameters(NoStrideArgument)
    assert not result.passed and "must accept: in_channels, out_channels, stride=1" in result.message


def test_identity_shortcut_for_changed_shape_fails_forward():
    """Does an identity shortcut where the shape changes fail forward (structure named, no crash)?"""
    result = resnet.check_forward_train(make_block(identity_always=True))
    assert not result.passed and "identity although the shape changes" in result.message


def test_wrong_argument_to_check_raises():
    """Does passing something that is not a class to a check raise ValueError?"""
    with pytest.raises(ValueError, match="cls"):
        resnet.check_parameters(42)


def test_reference_helpers():
    """Does the reference have non-trivial BatchNorm statistics and the contract's parameter names?"""
    ref = resnet.reference(8, 16, 2)
    assert ref.bn1.running_var.min() > 0.4 and ref.bn1.running_mean.abs().max() > 0
    names = resnet.expected_parameters(8, 16, 2)
    assert "shortcut.0.weight" in names and names["conv1.weight"] == (16, 8, 3, 3)
    x = torch.randn(2, 8, 8, 8, dtype=torch.float64)
    assert ref(x).shape == (2, 16, 4, 4)
