"""What is wrong with the layers of a student's ResNet BasicBlock? (exercise 04_resnet)

Inspects the block's modules against the contract (conv1/bn1/conv2/bn2, 3x3 convs with
``bias=False`` and padding 1, the stride on conv1, an identity shortcut when the shape is kept,
else a 1x1 conv without bias and a BatchNorm) and lists each problem in words. No forward pass,
no answer: ``resnet.py`` runs the checks.
"""

from __future__ import annotations

from torch import nn

from adl4cv_utils.checks.result import CheckFailed

# ---------------------------------------------------------------------------------------------
# Structure: what is wrong with the layers themselves?
# ---------------------------------------------------------------------------------------------


def _shortcut_layers(block: nn.Module) -> tuple[list[nn.Conv2d], list[nn.BatchNorm2d]]:
    shortcut = getattr(block, "shortcut", None)
    if not isinstance(shortcut, nn.Module):
        return [], []
    mods = list(shortcut.modules())
    return [m for m in mods if isinstance(m, nn.Conv2d)], [m for m in mods if isinstance(m, nn.BatchNorm2d)]


def structure_problems(block: nn.Module, in_channels: int, out_channels: int, stride: int) -> list[str]:
    """Known structural mistakes of ``block`` (empty when the layers are as in the contract)."""
    problems = []
    for name, kind in (("conv1", nn.Conv2d), ("bn1", nn.BatchNorm2d), ("conv2", nn.Conv2d), ("bn2", nn.BatchNorm2d)):
        if not isinstance(getattr(block, name, None), kind):
            problems.append(f"self.{name} should be an nn.{kind.__name__}")
    if not isinstance(getattr(block, "shortcut", None), nn.Module):
        problems.append("self.shortcut should be a module (nn.Identity() or nn.Sequential(conv 1x1, BatchNorm2d))")
    if problems:
        return problems
    c1, c2 = block.conv1, block.conv2
    for name, conv in (("conv1", c1), ("conv2", c2)):
        if conv.bias is not None:
            problems.append(f"{name} is a conv with a bias: use bias=False, the BatchNorm after it has its own shift")
        if tuple(conv.kernel_size) != (3, 3):
            problems.append(f"{name} has kernel size {tuple(conv.kernel_size)}, expected 3x3")
        if tuple(conv.padding) != (1, 1):
            problems.append(f"{name} has padding {conv.padding}: use padding=1 so that a 3x3 conv keeps the size")
    if stride != 1 and tuple(c1.stride) == (1, 1) and tuple(c2.stride) == (stride, stride):
        problems.append(f"the stride is on the second conv: stride={stride} belongs to conv1, conv2 has stride 1")
    elif tuple(c1.stride) != (stride, stride) or tuple(c2.stride) != (1, 1):
        problems.append(f"conv1 should have stride {stride} and conv2 stride 1, got {c1.stride} and {c2.stride}")
    if (c1.in_channels, c1.out_channels, c2.in_channels, c2.out_channels) != (
        in_channels,
        out_channels,
        out_channels,
        out_channels,
    ):
        problems.append(
            f"conv1 should map {in_channels} -> {out_channels} channels and conv2 {out_channels} -> {out_channels}"
        )
    convs, bns = _shortcut_layers(block)
    if stride == 1 and in_channels == out_channels:
        if convs or bns or any(True for _ in block.shortcut.parameters()):
            problems.append(
                "a projection is used even when the shape is kept: the shortcut must be the identity "
                "when stride == 1 and in_channels == out_channels"
            )
    else:
        if not convs:
            problems.append(
                "the shortcut is the identity although the shape changes: use a 1x1 conv with the same stride "
                "followed by BatchNorm2d"
            )
        else:
            conv = convs[0]
            if conv.bias is not None:
                problems.append("the shortcut's 1x1 conv has a bias: use bias=False")
            if tuple(conv.kernel_size) != (1, 1) or tuple(conv.stride) != (stride, stride):
                problems.append(f"the shortcut conv should be 1x1 with stride {stride}, got {conv}")
            if not bns:
                problems.append("the shortcut has no BatchNorm: the projection is conv 1x1 followed by BatchNorm2d")
    return problems


def _require_structure(block, c_in, c_out, stride) -> None:
    problems = structure_problems(block, c_in, c_out, stride)
    if problems:
        raise CheckFailed(f"block({c_in}, {c_out}, stride={stride}): " + "; ".join(problems))
