"""How big is a network, and what shape comes out of each layer? (chapter 6)

``layer_table(model, input_shape)`` runs one forward pass with forward hooks on the modules that
hold parameters or have no children (the "leaves": ``Conv2d``, ``ReLU``, ``MaxPool2d``, ...) and
returns one ``LayerRow`` per call: the module's name, its type, the shape of its output and the
number of parameters it owns. ``format_table`` prints the rows, ``count_parameters`` counts a
model's parameters and ``parameters_by_type`` says where they sit (for VGG-16: mostly in
``Linear``). ``multiply_adds`` counts the multiply-accumulate operations of one forward pass
(the "operations" axis of the architecture comparison in chapter 6).

Chapter 6 uses it on LeNet-5, AlexNet, VGG-16, ResNet and GoogLeNet; later chapters may use it on
any model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class LayerRow:
    """One call of one module during the forward pass."""

    name: str  # dotted name inside the model, e.g. "features.0"
    type: str  # class name, e.g. "Conv2d"
    output_shape: tuple[int, ...]  # shape of the (first tensor of the) output, batch included
    params: int  # parameters owned by this module itself (counted once, at its first call)


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``model`` (only those with ``requires_grad`` if ``trainable_only``).

    Shared parameters (the same tensor registered twice) are counted once, as in ``model.parameters()``.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def _own_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters(recurse=False))


def _first_shape(output) -> tuple[int, ...]:
    """Shape of a module's output: a tensor, or the first tensor inside a tuple/list/dict."""
    if torch.is_tensor(output):
        return tuple(output.shape)
    if isinstance(output, (tuple, list)):
        for item in output:
            shape = _first_shape(item)
            if shape:
                return shape
    if isinstance(output, dict):
        return _first_shape(list(output.values()))
    return ()


def _check_input_shape(input_shape) -> tuple[int, ...]:
    if isinstance(input_shape, torch.Size):
        input_shape = tuple(input_shape)
    if not isinstance(input_shape, Sequence) or isinstance(input_shape, str):
        raise ValueError(f"input_shape: expected a tuple of ints such as (1, 3, 224, 224), got {input_shape!r}")
    if len(input_shape) < 2:
        raise ValueError(f"input_shape: expected a batch dimension and at least one more, got {input_shape!r}")
    if not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in input_shape):
        raise ValueError(f"input_shape: expected positive ints, got {input_shape!r}")
    return tuple(input_shape)


def layer_table(
    model: nn.Module,
    input_shape: Sequence[int],
    device: torch.device | str | None = None,
    dtype: torch.dtype | None = None,
) -> list[LayerRow]:
    """Rows of (name, type, output shape, own parameters) for each leaf-module call on a random input.

    ``input_shape`` includes the batch dimension, e.g. ``(1, 3, 224, 224)``. The model runs once in
    eval mode without gradients (its training flag is restored afterwards). A module called twice
    (torchvision's ResNet blocks reuse one ``ReLU``) gives two rows; its parameters are counted at
    the first call only, so ``sum(r.params for r in rows)`` equals ``count_parameters(model)`` for
    every model whose parameters are all used in the forward pass.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    shape = _check_input_shape(input_shape)
    first_param = next(model.parameters(), None)
    if device is None:
        device = first_param.device if first_param is not None else torch.device("cpu")
    if dtype is None:
        dtype = first_param.dtype if first_param is not None and first_param.is_floating_point() else torch.float32

    rows: list[LayerRow] = []
    seen: set[int] = set()
    handles = []

    def make_hook(name: str):
        def hook(module, _inputs, output):
            params = 0 if id(module) in seen else _own_parameters(module)
            seen.add(id(module))
            rows.append(LayerRow(name, type(module).__name__, _first_shape(output), params))

        return hook

    for name, module in model.named_modules():
        is_leaf = next(module.children(), None) is None
        if is_leaf or _own_parameters(module) > 0:  # a non-leaf owning parameters: e.g. a class token
            handles.append(module.register_forward_hook(make_hook(name or type(module).__name__)))

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.randn(shape, device=device, dtype=dtype))  # (B, C, H, W) or any shape the model takes
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return rows


def format_table(rows: Sequence[LayerRow], skip_types: Sequence[str] = (), total: bool = True) -> str:
    """A fixed-width text table of ``rows`` (leaving out the types in ``skip_types``), with a total line.

    The total counts the parameters of all rows, skipped ones included.
    """
    if isinstance(skip_types, str):
        raise ValueError(f"skip_types: expected a sequence of type names, got the string {skip_types!r}")
    shown = [r for r in rows if r.type not in set(skip_types)]
    cells = [(r.name, r.type, " x ".join(map(str, r.output_shape)), f"{r.params:,}") for r in shown]
    header = ("layer", "type", "output shape", "params")
    widths = [max([len(header[i])] + [len(c[i]) for c in cells]) for i in range(4)]

    def line(values) -> str:  # three left-aligned columns, the parameter count right-aligned
        return "  ".join([*(values[i].ljust(widths[i]) for i in range(3)), values[3].rjust(widths[3])])

    lines = [line(header)]
    lines.append("-" * len(lines[0]))
    lines += [line(c) for c in cells]
    if total:
        lines.append("-" * len(lines[0]))
        lines.append(f"total parameters: {sum(r.params for r in rows):,}")
    return "\n".join(lines)


def parameters_by_type(model: nn.Module) -> dict[str, int]:
    """Parameters of ``model`` grouped by the class name of the module that owns them, largest first.

    For VGG-16 the answer is about ``{"Linear": 123.6M, "Conv2d": 14.7M}``: the fully connected
    layers hold almost 90 % of the weights.
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    counts: dict[str, int] = {}
    seen: set[int] = set()
    for module in model.modules():
        for p in module.parameters(recurse=False):
            if id(p) in seen:
                continue
            seen.add(id(p))
            counts[type(module).__name__] = counts.get(type(module).__name__, 0) + p.numel()
    return dict(sorted(counts.items(), key=lambda kv: -kv[1]))


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Spatial output size of a convolution or pooling: ``floor((I - K + 2P) / S) + 1`` (with dilation D,
    K becomes ``D (K - 1) + 1``).

    Raises ``ValueError`` when the (padded) input is smaller than the kernel.
    """
    for arg, value, low in (
        ("size", size, 1),
        ("kernel_size", kernel_size, 1),
        ("stride", stride, 1),
        ("padding", padding, 0),
        ("dilation", dilation, 1),
    ):
        if not isinstance(value, int) or isinstance(value, bool) or value < low:
            raise ValueError(f"{arg}: expected an int >= {low}, got {value!r}")
    effective = dilation * (kernel_size - 1) + 1
    if size + 2 * padding < effective:
        raise ValueError(f"kernel_size: a kernel of {effective} pixels does not fit an input of {size} + 2*{padding}")
    return (size - effective + 2 * padding) // stride + 1


def multiply_adds(model: nn.Module, input_shape: Sequence[int]) -> int:
    """Multiply-accumulate operations of the ``Conv2d`` and ``Linear`` layers for ONE input of ``input_shape``.

    ``input_shape`` includes a batch dimension (``(1, 3, 224, 224)``); the count is per sample.
    A convolution costs ``C_in / groups * K_h * K_w`` multiply-adds per output value, a linear
    layer ``in_features`` per output value; biases, normalization, activations and pooling are
    not counted (they are small next to these). Papers often call the result "FLOPs".
    """
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    shape = _check_input_shape(input_shape)
    total = 0

    def hook(module, _inputs, output):
        nonlocal total
        per_output = (
            module.in_channels // module.groups * math.prod(module.kernel_size)
            if isinstance(module, nn.Conv2d)
            else module.in_features
        )
        total += output.numel() // shape[0] * per_output

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    first_param = next(model.parameters(), None)
    device = first_param.device if first_param is not None else torch.device("cpu")
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(torch.randn(shape, device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    return total
