"""Is a student's ResNet ``BasicBlock`` right? (chapter 6, exercise 04_resnet)

The reference is torchvision's own ``torchvision.models.resnet.BasicBlock`` with a projection
``downsample = Sequential(conv1x1, BatchNorm2d)`` when the shape changes. Every check copies the
same (random, non-trivial) weights into the student's block and torchvision's, runs both in
float64 and compares. When they differ, the block's structure is inspected (a conv with a bias,
the stride on the wrong conv, a shortcut without BatchNorm, ...) and its output is compared with
a list of known mistakes computed from the same weights (ReLU before the addition, no skip
connection, no final ReLU, BatchNorm before the conv), so that the message can name the mistake.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn import functional as F
from torchvision.models.resnet import BasicBlock as TorchBasicBlock

from adl4cv_utils.checks.resnet.structure import _require_structure, _shortcut_layers, structure_problems  # noqa: F401
from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare, construct, hinted, run_check

# (in_channels, out_channels, stride): shape kept; stride 2; channels change.
CASES = ((8, 8, 1), (8, 8, 2), (8, 16, 1))
ATOL, RTOL = 1e-9, 1e-7  # float64: only real mistakes exceed this


def reference(
    in_channels: int, out_channels: int, stride: int = 1, seed: int = 0, generator: torch.Generator | None = None
) -> nn.Module:
    """torchvision's BasicBlock in float64 with random weights and non-trivial BatchNorm statistics.

    The values come from ``generator`` when given (the judge's secret one), else from ``seed``."""
    downsample = None
    if stride != 1 or in_channels != out_channels:
        downsample = nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
        )
    block = TorchBasicBlock(in_channels, out_channels, stride=stride, downsample=downsample).double()
    gen = generator if generator is not None else torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in block.modules():
            if isinstance(module, nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen, dtype=torch.float64) / fan_in**0.5)
            elif isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.weight.copy_(0.5 + torch.rand(n, generator=gen, dtype=torch.float64))
                module.bias.copy_(0.3 * torch.randn(n, generator=gen, dtype=torch.float64))
                module.running_mean.copy_(0.2 * torch.randn(n, generator=gen, dtype=torch.float64))
                module.running_var.copy_(0.5 + torch.rand(n, generator=gen, dtype=torch.float64))
    return block


def reference_layers(ref: nn.Module) -> dict[str, nn.Module]:
    """The reference's layers under the contract's names (``shortcut.0``/``.1`` for the projection)."""
    layers = {"conv1": ref.conv1, "bn1": ref.bn1, "conv2": ref.conv2, "bn2": ref.bn2}
    if ref.downsample is not None:
        layers["shortcut.0"], layers["shortcut.1"] = ref.downsample[0], ref.downsample[1]
    return layers


def expected_parameters(in_channels: int, out_channels: int, stride: int = 1) -> dict[str, tuple[int, ...]]:
    """The contract's parameter names and shapes."""
    c_in, c = in_channels, out_channels
    shapes = {"conv1.weight": (c, c_in, 3, 3), "bn1.weight": (c,), "bn1.bias": (c,)}
    shapes |= {"conv2.weight": (c, c, 3, 3), "bn2.weight": (c,), "bn2.bias": (c,)}
    if stride != 1 or c_in != c:
        shapes |= {"shortcut.0.weight": (c, c_in, 1, 1), "shortcut.1.weight": (c,), "shortcut.1.bias": (c,)}
    return shapes


def _build(cls, c_in: int, c_out: int, stride: int) -> nn.Module:
    return construct(cls, c_in, c_out, stride=stride, contract="in_channels, out_channels, stride=1")


def _load(block: nn.Module, ref: nn.Module) -> None:
    """Copy the reference's parameters and BatchNorm statistics into the student's block (float64)."""
    block.double()
    convs, bns = _shortcut_layers(block)
    mine = {"conv1": block.conv1, "bn1": block.bn1, "conv2": block.conv2, "bn2": block.bn2}
    if convs and bns:
        mine["shortcut.0"], mine["shortcut.1"] = convs[0], bns[0]
    with torch.no_grad():
        for name, theirs in reference_layers(ref).items():
            for key, value in theirs.state_dict().items():
                if key != "num_batches_tracked":
                    mine[name].state_dict()[key].copy_(value)


def _pair(cls, c_in, c_out, stride, seed=0) -> tuple[nn.Module, nn.Module]:
    block = _build(cls, c_in, c_out, stride)
    _require_structure(block, c_in, c_out, stride)
    ref = reference(c_in, c_out, stride, seed)
    _load(block, ref)
    return block, ref


# ---------------------------------------------------------------------------------------------
# Known mistakes in forward: each computes the wrong output from the reference's layers.
# ---------------------------------------------------------------------------------------------


def _shortcut(ref, x):
    return ref.downsample(x) if ref.downsample is not None else x


def _branch(ref, x):
    return ref.bn2(ref.conv2(F.relu(ref.bn1(ref.conv1(x)))))


MISTAKES: dict[str, tuple[Callable, str]] = {
    "relu_before_add": (
        lambda r, x: F.relu(_branch(r, x)) + _shortcut(r, x),
        "the ReLU is applied before the addition (relu(bn2(conv2(...))) + shortcut(x)); "
        "add the shortcut first, then apply the ReLU",
    ),
    "no_skip": (
        lambda r, x: F.relu(_branch(r, x)),
        "there is no skip connection: add shortcut(x) to bn2(conv2(...)) before the final ReLU",
    ),
    "no_final_relu": (
        lambda r, x: _branch(r, x) + _shortcut(r, x),
        "the final ReLU is missing: the output is relu(bn2(conv2(...)) + shortcut(x))",
    ),
    "bn_before_conv": (
        lambda r, x: F.relu(r.conv2(r.bn2(F.relu(r.conv1(r.bn1(x))))) + _shortcut(r, x)),
        "BatchNorm comes before the conv (order swapped): each layer is bn(conv(x)), conv first",
    ),
    "relu_before_bn": (
        lambda r, x: F.relu(r.bn2(r.conv2(r.bn1(F.relu(r.conv1(x))))) + _shortcut(r, x)),
        "the ReLU comes before BatchNorm in the first layer: use relu(bn1(conv1(x)))",
    ),
}


def diagnose(ref: nn.Module, x: torch.Tensor, got: torch.Tensor) -> str:
    for fn, hint in MISTAKES.values():
        try:
            with torch.no_grad():
                wrong = fn(ref, x)
        except RuntimeError:
            continue  # this mistake is impossible for this shape
        if wrong.shape == got.shape and torch.allclose(wrong, got.detach().double(), atol=1e-7, rtol=1e-6):
            return hint
    return ""


def _call(block: nn.Module, x: torch.Tensor, where: str, c_in: int, c_out: int, stride: int):
    """The student's ``block(x)``; if it raises and the layers have a known problem, name the problem."""
    try:
        return block(x)
    except NotImplementedError:
        raise
    except Exception as error:  # noqa: BLE001 - the student's code may raise anything
        problems = structure_problems(block, c_in, c_out, stride)
        if not problems:
            raise
        raise CheckFailed(
            f"{where}: your code raised {type(error).__name__}: {error}; " + "; ".join(problems)
        ) from error


def _input(c_in: int, size=(8, 8), batch: int = 4, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(100 + seed)
    return torch.randn(batch, c_in, *size, generator=gen, dtype=torch.float64)


def _gradient_cases(cls, size: tuple, seed: int, zero_convs: bool = False):
    """Per case (c_in, c_out, stride) of CASES: the case, the student's block and the reference loaded alike
    (both convs' weights zeroed when ``zero_convs``), the input x of ``size`` and the gradients of x
    (reference first) under a seeded upstream gradient; the blocks' parameters keep theirs."""
    for i, (c_in, c_out, stride) in enumerate(CASES):
        block, ref = _pair(cls, c_in, c_out, stride, seed=seed + i)
        if zero_convs:
            with torch.no_grad():
                for module in (block, ref):
                    module.conv1.weight.zero_()
                    module.conv2.weight.zero_()
        x = _input(c_in, size, seed=i)  # (4, c_in, H, W)
        upstream = _input(c_out, (size[0] // stride, size[1] // stride), seed=seed + 30 + i)  # (4, c_out, H/s, W/s)
        grads = []
        for module in (ref, block):
            xx = x.clone().requires_grad_()
            (module(xx) * upstream).sum().backward()
            grads.append(xx.grad)
        yield (c_in, c_out, stride), block, ref, x, grads


def _compare_forward(cls, c_in, c_out, stride, train: bool, size=(8, 8), batch=4, seed=0) -> float:
    block, ref = _pair(cls, c_in, c_out, stride, seed)
    block.train(train)
    ref.train(train)
    x = _input(c_in, size, batch, seed)
    got = _call(block, x.clone(), f"block({c_in}, {c_out}, stride={stride})", c_in, c_out, stride)
    with torch.no_grad():
        expected = ref(x.clone())
    where = f"block({c_in}, {c_out}, stride={stride}) in {'train' if train else 'eval'} mode, input {tuple(x.shape)}"
    with hinted(lambda: diagnose(ref, x, got) if torch.is_tensor(got) else ""):
        return compare(f"{where}: output", expected, got, ATOL, RTOL)


# ---------------------------------------------------------------------------------------------
# The checks, one per graded property.
# ---------------------------------------------------------------------------------------------


def _check_cls(cls) -> None:
    if not callable(cls):
        raise CheckArgumentError(f"cls: expected the BasicBlock class, got {type(cls).__name__}")


@run_check("parameter names and shapes")
def check_parameters(cls):
    """Does each case have exactly the contract's parameters (names and shapes), and no conv bias?"""
    _check_cls(cls)
    for c_in, c_out, stride in CASES:
        block = _build(cls, c_in, c_out, stride)
        got = {name: tuple(p.shape) for name, p in block.named_parameters()}
        expected = expected_parameters(c_in, c_out, stride)
        if got != expected:
            problems = structure_problems(block, c_in, c_out, stride)
            missing = sorted(set(expected) - set(got))
            extra = sorted(set(got) - set(expected))
            wrong = sorted(n for n in set(got) & set(expected) if got[n] != expected[n])
            detail = ", ".join(
                part
                for part in (
                    f"missing {missing}" if missing else "",
                    f"unexpected {extra}" if extra else "",
                    f"wrong shape {wrong}" if wrong else "",
                )
                if part
            )
            hint = "; " + "; ".join(problems) if problems else ""
            raise CheckFailed(f"block({c_in}, {c_out}, stride={stride}): {detail}{hint}", expected, got)
    return f"parameter names and shapes as in the contract in all {len(CASES)} cases"


@run_check("conv layers")
def check_conv_layers(cls):
    """Are conv1 and conv2 3x3 convs with padding 1, no bias, and the stride on conv1?"""
    _check_cls(cls)
    for c_in, c_out, stride in CASES:
        block = _build(cls, c_in, c_out, stride)
        problems = [
            p for p in structure_problems(block, c_in, c_out, stride) if "shortcut" not in p and "projection" not in p
        ]
        if problems:
            raise CheckFailed(f"block({c_in}, {c_out}, stride={stride}): " + "; ".join(problems))
    return "conv1 and conv2: 3x3, padding 1, bias=False, stride on conv1"


@run_check("shortcut")
def check_shortcut(cls):
    """Is the shortcut the identity when the shape is kept, and conv 1x1 (no bias) + BatchNorm otherwise?"""
    _check_cls(cls)
    for c_in, c_out, stride in CASES:
        block = _build(cls, c_in, c_out, stride)
        problems = [p for p in structure_problems(block, c_in, c_out, stride) if "shortcut" in p or "projection" in p]
        if problems:
            raise CheckFailed(f"block({c_in}, {c_out}, stride={stride}): " + "; ".join(problems))
        x = _input(c_in, batch=2)
        if stride == 1 and c_in == c_out:
            got = block.double().shortcut(x)
            compare(f"block({c_in}, {c_out}): shortcut(x) should be x itself", x, got, 0.0, 0.0)
    return "identity when the shape is kept, conv 1x1 + BatchNorm when it changes"


@run_check("output shapes")
def check_output_shapes(cls):
    """Is the output (B, out_channels, H/stride, W/stride) in each case (also for odd sizes)?"""
    _check_cls(cls)
    cases = [(c_in, c_out, s, (8, 8)) for c_in, c_out, s in CASES] + [(4, 6, 2, (9, 7))]
    for c_in, c_out, stride, (h, w) in cases:
        block = _build(cls, c_in, c_out, stride).double()
        x = _input(c_in, (h, w), batch=2)
        where = f"block({c_in}, {c_out}, stride={stride}) on input {tuple(x.shape)}"
        out = _call(block, x, where, c_in, c_out, stride)
        expected = (2, c_out, (h - 1) // stride + 1, (w - 1) // stride + 1)
        got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        if got != expected:
            problems = structure_problems(block, c_in, c_out, stride)
            hint = "; " + "; ".join(problems) if problems else ""
            raise CheckFailed(
                f"{where}: wrong output shape{hint}",
                expected,
                got,
            )
    return f"output shapes right in {len(cases)} cases"


@run_check("forward (train mode)")
def check_forward_train(cls):
    """In train mode (BatchNorm with batch statistics), does the output match torchvision's BasicBlock?"""
    _check_cls(cls)
    diff = max(_compare_forward(cls, *case, train=True, seed=i) for i, case in enumerate(CASES))
    return f"matches torchvision's BasicBlock in train mode in all {len(CASES)} cases", diff


@run_check("forward (eval mode)")
def check_forward_eval(cls):
    """In eval mode (BatchNorm with running statistics), does the output match torchvision's BasicBlock?"""
    _check_cls(cls)
    diff = max(_compare_forward(cls, *case, train=False, seed=10 + i) for i, case in enumerate(CASES))
    return f"matches torchvision's BasicBlock in eval mode in all {len(CASES)} cases", diff


@run_check("gradient through the skip connection")
def check_skip_gradient(cls):
    """With both convs' weights set to zero, does the input still get torchvision's gradient (via the shortcut)?"""
    _check_cls(cls)
    diff = 0.0
    for (c_in, c_out, stride), block, ref, x, grads in _gradient_cases(cls, (8, 8), seed=20, zero_convs=True):
        where = f"block({c_in}, {c_out}, stride={stride}) with conv1 and conv2 weights zeroed"
        if grads[1] is None or (torch.is_tensor(grads[1]) and not grads[1].abs().any()):
            raise CheckFailed(
                f"{where}: the input gets no gradient; looks like there is no skip connection "
                "(the gradient must reach x through shortcut(x) even when the residual branch is zero)",
                grads[0],
                grads[1],
            )
        with hinted(lambda ref=ref, x=x, block=block: diagnose(ref, x, block(x))):
            diff = max(diff, compare(f"{where}: gradient of the input", grads[0], grads[1], ATOL, RTOL))
    return "the gradient reaches the input through the shortcut as in torchvision", diff


@run_check("backward")
def check_backward(cls):
    """Are the gradients of the input and of every parameter the same as torchvision's (train mode)?"""
    _check_cls(cls)
    diff = 0.0
    for (c_in, c_out, stride), block, ref, _, grads in _gradient_cases(cls, (6, 6), seed=30):
        where = f"block({c_in}, {c_out}, stride={stride})"
        diff = max(diff, compare(f"{where}: gradient of the input", grads[0], grads[1], ATOL, RTOL))
        ref_params = {f"{n}.{k}": p for n, m in reference_layers(ref).items() for k, p in m.named_parameters()}
        for name, p in block.named_parameters():
            diff = max(diff, compare(f"{where}: gradient of {name}", ref_params[name].grad, p.grad, ATOL, RTOL))
    return "input and parameter gradients match torchvision's", diff


@run_check("other input sizes")
def check_other_sizes(cls):
    """On non-square, odd-sized inputs, other channel counts and a batch of one in eval mode, is the output right?"""
    _check_cls(cls)
    cases = (
        ((3, 5, 2), True, (9, 7), 3),
        ((5, 5, 1), True, (5, 11), 2),
        ((6, 4, 2), False, (7, 7), 1),
        ((4, 4, 1), False, (6, 5), 1),
    )
    diff = max(
        _compare_forward(cls, *case, train=train, size=size, batch=batch, seed=40 + i)
        for i, (case, train, size, batch) in enumerate(cases)
    )
    return f"right output in {len(cases)} further cases", diff
