"""Judge of 04_resnet: the student's BasicBlock against torchvision's, with channels, sizes and weights drawn in secret.

The grading kernel builds the student's block (probes ``resnet.*``): it describes the block's layers as
plain data, loads the weights drawn here and returns outputs and gradients. Here the description
is rebuilt as a stand-in module (on the meta device: no memory, whatever the sizes) so that the
self-checks' ``structure_problems`` names a structural mistake, torchvision's ``BasicBlock`` with
the same weights gives the reference, and the self-checks' table of wrong forwards names a wrong
output (adl4cv_utils.checks.resnet).
"""

from __future__ import annotations

import torch
from torch import nn

from adl4cv_grading.judge_tests import Context, StudentError, judge_test, require_module
from adl4cv_utils.checks.resnet import (
    ATOL,
    RTOL,
    diagnose,
    expected_parameters,
    reference,
    reference_layers,
    structure_problems,
)
from adl4cv_utils.checks.result import CheckFailed, compare, hinted

UNIT = "BasicBlock"
Case = tuple[int, int, int]  # (in_channels, out_channels, stride)


def _size(gen: torch.Generator, low: int, high: int) -> int:
    return int(torch.randint(low, high, (1,), generator=gen))


def _cases(gen: torch.Generator) -> list[Case]:
    """The three kinds of block, with secret channel counts: shape kept, stride 2, more channels."""
    c = _size(gen, 2, 7)
    return [(c, c, 1), (c, c, 2), (c, c + _size(gen, 1, 5), 1)]


def _where(case: Case) -> str:
    return f"block({case[0]}, {case[1]}, stride={case[2]})"


def _reference(gen: torch.Generator, case: Case) -> nn.Module:
    """torchvision's BasicBlock in float64 with weights and BatchNorm statistics drawn from ``gen``."""
    c_in, c_out, stride = case
    return reference(c_in, c_out, stride, generator=gen)


def _state(ref: nn.Module) -> dict[str, dict[str, torch.Tensor]]:
    """The reference's weights and statistics per layer, under the contract's names."""
    return {
        name: {k: v.detach().clone() for k, v in layer.state_dict().items() if k != "num_batches_tracked"}
        for name, layer in reference_layers(ref).items()
    }


def _input(gen: torch.Generator, *shape: int) -> torch.Tensor:
    return torch.randn(*shape, generator=gen, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# The block's structure, from the kernel's description.
# ---------------------------------------------------------------------------------------------


def _stand_in_layer(info) -> nn.Module | None:
    info = info if isinstance(info, dict) else {}
    kind = info.get("kind")
    try:
        if kind == "conv":
            padding = info.get("padding")
            return nn.Conv2d(
                int(info["in_channels"]),
                int(info["out_channels"]),
                tuple(info["kernel_size"]),
                stride=tuple(info["stride"]),
                padding=tuple(padding) if isinstance(padding, list) else padding,
                bias=bool(info.get("bias")),
                device="meta",
            )
        if kind == "bn":
            return nn.BatchNorm2d(int(info["num_features"]), device="meta")
    except (KeyError, TypeError, ValueError, RuntimeError):
        pass  # a layer torch would not build with these values: a plain module stands for it
    if kind == "missing":
        return None
    layer = nn.Module()
    if info.get("has_parameters"):
        layer.weight = nn.Parameter(torch.empty(1, device="meta"))
    return layer


def _stand_in(desc: dict) -> nn.Module:
    """A module with the student's layers' types and hyperparameters (meta device), for ``structure_problems``."""
    block = nn.Module()
    layers = desc.get("layers") if isinstance(desc.get("layers"), dict) else {}
    for name in ("conv1", "bn1", "conv2", "bn2"):
        layer = _stand_in_layer(layers.get(name))
        if layer is not None:
            setattr(block, name, layer)
    shortcut = desc.get("shortcut")
    if isinstance(shortcut, list) and shortcut:
        inner = [_stand_in_layer(info) for info in shortcut]
        kept = [m for m in inner if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
        if not kept and isinstance(shortcut[0], dict) and shortcut[0].get("has_parameters"):
            kept = [_stand_in_layer({"kind": "other", "has_parameters": True})]
        block.shortcut = nn.Sequential(*kept)
    return block


def _describe(ctx: Context, case: Case) -> dict:
    desc = ctx.describe("resnet.describe", in_channels=case[0], out_channels=case[1], stride=case[2])
    call = f"BasicBlock({case[0]}, {case[1]}, stride={case[2]})"
    contract = "The constructor must accept: in_channels, out_channels, stride=1"
    require_module(desc, call, contract, "BasicBlock must be a subclass of nn.Module")
    return desc


def _problems(ctx: Context, case: Case) -> list[str]:
    return structure_problems(_stand_in(_describe(ctx, case)), *case)


def _require_structure(ctx: Context, case: Case) -> None:
    problems = _problems(ctx, case)
    if problems:
        raise CheckFailed(f"{_where(case)}: " + "; ".join(problems))


# ---------------------------------------------------------------------------------------------
# Forward and backward against torchvision's block.
# ---------------------------------------------------------------------------------------------


def _forward(
    ctx: Context, gen, case: Case, train: bool, size: tuple[int, int], batch: int, zero_convs=False, grad=False
):
    """(reply, reference, x, upstream) of the student's block and torchvision's with the same secret weights."""
    _require_structure(ctx, case)
    ref = _reference(gen, case)
    if zero_convs:
        with torch.no_grad():
            ref.conv1.weight.zero_()
            ref.conv2.weight.zero_()
    x = _input(gen, batch, case[0], *size)
    stride = case[2]
    upstream = _input(gen, batch, case[1], (size[0] - 1) // stride + 1, (size[1] - 1) // stride + 1) if grad else None
    inputs = {"in_channels": case[0], "out_channels": case[1], "stride": case[2]}
    reply = ctx.probe("resnet.run", **inputs, x=x, state=_state(ref), train=train, g_out=upstream)
    ref.train(train)
    return (reply if isinstance(reply, dict) else {}), ref, x, upstream


def _compare_forward(ctx: Context, gen, case: Case, train: bool, size=(8, 8), batch=4) -> float:
    reply, ref, x, _ = _forward(ctx, gen, case, train, size, batch)
    got = reply.get("out")
    with torch.no_grad():
        expected = ref(x.clone())
    where = f"{_where(case)} in {'train' if train else 'eval'} mode, input {tuple(x.shape)}"
    with hinted(lambda: diagnose(ref, x, got) if torch.is_tensor(got) else ""):
        return compare(f"{where}: output", expected, got, ATOL, RTOL)


def _forward_cases(gen) -> list[tuple[Case, tuple[int, int], int]]:
    return [(case, (2 * _size(gen, 3, 6),) * 2, _size(gen, 2, 5)) for case in _cases(gen)]


# ---------------------------------------------------------------------------------------------
# The judge tests, one per test cell.
# ---------------------------------------------------------------------------------------------


@judge_test("basic_block_parameters", UNIT)
def basic_block_parameters(ctx: Context):
    cases = _cases(ctx.generator("cases"))
    for case in cases:
        desc = _describe(ctx, case)
        params = desc.get("parameters") if isinstance(desc.get("parameters"), dict) else {}
        got = {str(n): tuple(s) if isinstance(s, list) else s for n, s in params.items()}
        expected = expected_parameters(*case)
        if got != expected:
            problems = structure_problems(_stand_in(desc), *case)
            missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
            wrong = sorted(n for n in set(got) & set(expected) if got[n] != expected[n])
            parts = [f"missing {missing}" if missing else "", f"unexpected {extra}" if extra else ""]
            detail = ", ".join(p for p in [*parts, f"wrong shape {wrong}" if wrong else ""] if p)
            hint = "; " + "; ".join(problems) if problems else ""
            raise CheckFailed(f"{_where(case)}: {detail}{hint}", expected, got)
    return f"parameter names and shapes as in the contract in {len(cases)} cases of the judge"


@judge_test("basic_block_conv_layers", UNIT)
def basic_block_conv_layers(ctx: Context):
    for case in _cases(ctx.generator("cases")):
        problems = [p for p in _problems(ctx, case) if "shortcut" not in p and "projection" not in p]
        if problems:
            raise CheckFailed(f"{_where(case)}: " + "; ".join(problems))
    return "conv1 and conv2: 3x3, padding 1, bias=False, stride on conv1"


@judge_test("basic_block_shortcut", UNIT)
def basic_block_shortcut(ctx: Context):
    gen = ctx.generator("cases")
    for case in _cases(gen):
        problems = [p for p in _problems(ctx, case) if "shortcut" in p or "projection" in p]
        if problems:
            raise CheckFailed(f"{_where(case)}: " + "; ".join(problems))
        if case[2] == 1 and case[0] == case[1]:
            x = _input(gen, 2, case[0], *(_size(gen, 3, 9),) * 2)
            got = ctx.probe("resnet.shortcut", in_channels=case[0], out_channels=case[1], stride=1, x=x)
            compare(f"{_where(case)}: shortcut(x) should be x itself", x, got, 0.0, 0.0)
    return "identity when the shape is kept, conv 1x1 + BatchNorm when it changes"


@judge_test("basic_block_output_shapes", UNIT)
def basic_block_output_shapes(ctx: Context):
    gen = ctx.generator("cases")
    cases = [(case, (2 * _size(gen, 3, 5),) * 2) for case in _cases(gen)]
    cases.append(((_size(gen, 2, 6), _size(gen, 2, 8), 2), (2 * _size(gen, 3, 6) + 1, 2 * _size(gen, 2, 5) + 1)))
    for case, (h, w) in cases:
        c_in, c_out, stride = case
        x = _input(gen, 2, c_in, h, w)
        where = f"{_where(case)} on input {tuple(x.shape)}"
        try:
            reply = ctx.probe("resnet.run", in_channels=c_in, out_channels=c_out, stride=stride, x=x)
        except StudentError as error:
            problems = _problems(ctx, case)
            if problems:
                error.message = f"{where}: {error.message}; " + "; ".join(problems)
            raise
        out = reply.get("out") if isinstance(reply, dict) else None
        expected = (2, c_out, (h - 1) // stride + 1, (w - 1) // stride + 1)
        got = tuple(out.shape) if torch.is_tensor(out) else getattr(out, "type_name", type(out).__name__)
        if got != expected:
            problems = _problems(ctx, case)
            hint = "; " + "; ".join(problems) if problems else ""
            raise CheckFailed(f"{where}: wrong output shape{hint}", expected, got)
    return f"output shapes right in {len(cases)} cases of the judge"


@judge_test("basic_block_forward_train", UNIT)
def basic_block_forward_train(ctx: Context):
    gen = ctx.generator("forward")
    diff = max(_compare_forward(ctx, gen, case, True, size, batch) for case, size, batch in _forward_cases(gen))
    return "matches torchvision's BasicBlock in train mode on the judge's weights and inputs", diff


@judge_test("basic_block_forward_eval", UNIT)
def basic_block_forward_eval(ctx: Context):
    gen = ctx.generator("forward")
    diff = max(_compare_forward(ctx, gen, case, False, size, batch) for case, size, batch in _forward_cases(gen))
    return "matches torchvision's BasicBlock in eval mode on the judge's weights and inputs", diff


@judge_test("basic_block_skip_gradient", UNIT)
def basic_block_skip_gradient(ctx: Context):
    gen = ctx.generator("skip")
    diff = 0.0
    for case in _cases(gen):
        size = (2 * _size(gen, 3, 5),) * 2
        reply, ref, x, upstream = _forward(ctx, gen, case, True, size, 3, zero_convs=True, grad=True)
        leaf = x.clone().requires_grad_()
        (ref(leaf) * upstream).sum().backward()
        got = reply.get("x_grad")
        where = f"{_where(case)} with conv1 and conv2 weights zeroed"
        if not torch.is_tensor(reply.get("out")) or tuple(reply["out"].shape) != tuple(upstream.shape):
            with torch.no_grad():
                compare(f"{where}: output", ref(x), reply.get("out"))  # names the wrong type or shape
        if not torch.is_tensor(got) or not got.abs().any():
            raise CheckFailed(
                f"{where}: the input gets no gradient; looks like there is no skip connection "
                "(the gradient must reach x through shortcut(x) even when the residual branch is zero)",
                leaf.grad,
                got,
            )
        with hinted(lambda ref=ref, x=x, out=reply["out"]: diagnose(ref, x, out)):
            diff = max(diff, compare(f"{where}: gradient of the input", leaf.grad, got, ATOL, RTOL))
    return "the gradient reaches the input through the shortcut as in torchvision", diff


def _backward(ctx: Context, gen) -> float:
    diff = 0.0
    cases = _cases(gen) + [(_size(gen, 2, 5), _size(gen, 5, 8), 2)]
    for case in cases:
        size = (_size(gen, 5, 9), _size(gen, 5, 9))
        reply, ref, x, upstream = _forward(ctx, gen, case, True, size, _size(gen, 2, 4), grad=True)
        leaf = x.clone().requires_grad_()
        out = ref(leaf)
        where = _where(case)
        compare(f"{where}, input {tuple(x.shape)}: output", out.detach(), reply.get("out"), ATOL, RTOL)
        (out * upstream).sum().backward()
        diff = max(diff, compare(f"{where}: gradient of the input", leaf.grad, reply.get("x_grad"), ATOL, RTOL))
        ref_params = {f"{n}.{k}": p for n, m in reference_layers(ref).items() for k, p in m.named_parameters()}
        grads = reply.get("grads") if isinstance(reply.get("grads"), dict) else {}
        for name, p in ref_params.items():
            if name not in grads:
                raise CheckFailed(
                    f"{where}: the block has no parameter {name!r} (the contract's names)", got=sorted(grads)
                )
            if grads[name] is None:
                raise CheckFailed(f"{where}: {name} gets no gradient")
            diff = max(diff, compare(f"{where}: gradient of {name}", p.grad, grads[name], ATOL, RTOL))
    return diff


@judge_test("basic_block_hidden", UNIT)
def basic_block_hidden(ctx: Context):
    gen = ctx.generator("hidden")
    diff = _backward(ctx, gen)
    cases = (
        ((_size(gen, 1, 5), _size(gen, 5, 9), 2), True, (2 * _size(gen, 3, 6) + 1, 2 * _size(gen, 2, 5) + 1), 3),
        ((5, 5, 1), True, (_size(gen, 4, 7), _size(gen, 9, 13)), 2),
        ((_size(gen, 5, 8), _size(gen, 2, 5), 2), False, (7, 7), 1),
        ((4, 4, 1), False, (_size(gen, 5, 8), _size(gen, 4, 6)), 1),
    )
    for case, train, size, batch in cases:
        diff = max(diff, _compare_forward(ctx, gen, case, train, size, batch))
    return "input and parameter gradients match torchvision's; right output in 4 further cases", diff
