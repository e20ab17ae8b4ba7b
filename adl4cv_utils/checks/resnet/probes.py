"""Probes of 04_resnet: build the student's BasicBlock, describe its layers, load the judge's weights, run it.

They return what the block is and computes (its layers' hyperparameters, parameter shapes, outputs
and gradients) and decide nothing: the judge compares with torchvision's block in its own process.
"""

from __future__ import annotations

import torch
from torch import nn

from adl4cv_utils.probing import probe, student

LAYERS = ("conv1", "bn1", "conv2", "bn2")


def _describe_layer(layer) -> dict:
    """A plain description of one module: its type and, for a conv, what the contract constrains."""
    info: dict = {"type": type(layer).__name__, "kind": "other", "has_parameters": False}
    if isinstance(layer, nn.Module):
        info["has_parameters"] = any(True for _ in layer.parameters())
    if isinstance(layer, nn.Conv2d):
        info.update(
            kind="conv",
            in_channels=layer.in_channels,
            out_channels=layer.out_channels,
            kernel_size=list(layer.kernel_size),
            stride=list(layer.stride),
            padding=list(layer.padding) if isinstance(layer.padding, tuple) else layer.padding,
            bias=layer.bias is not None,
        )
    elif isinstance(layer, nn.BatchNorm2d):
        info.update(kind="bn", num_features=layer.num_features)
    elif not isinstance(layer, nn.Module):
        info["kind"] = "missing" if layer is None else "not a module"
    return info


def _build(ns: dict, in_channels: int, out_channels: int, stride: int):
    return student(ns, "BasicBlock")(in_channels, out_channels, stride=stride)


def _shortcut_layers(block: nn.Module) -> tuple[list[nn.Conv2d], list[nn.BatchNorm2d]]:
    shortcut = getattr(block, "shortcut", None)
    mods = list(shortcut.modules()) if isinstance(shortcut, nn.Module) else []
    return [m for m in mods if isinstance(m, nn.Conv2d)], [m for m in mods if isinstance(m, nn.BatchNorm2d)]


@probe("resnet.describe")
def describe(ns: dict, in_channels: int, out_channels: int, stride: int) -> dict:
    """What ``BasicBlock(in_channels, out_channels, stride=stride)`` is: {"constructor_error" (a TypeError's
    text), "is_module", "parameters" {name: shape}, "layers" {conv1, bn1, conv2, bn2: description},
    "shortcut": descriptions of ``shortcut.modules()`` in order (None when it is not a module)}."""
    try:
        block = _build(ns, in_channels, out_channels, stride)
    except TypeError as error:
        return {"constructor_error": f"{type(error).__name__}: {error}"}
    info: dict = {"constructor_error": "", "is_module": isinstance(block, nn.Module)}
    if not info["is_module"]:
        return info
    info["parameters"] = {name: list(p.shape) for name, p in block.named_parameters()}
    info["layers"] = {name: _describe_layer(getattr(block, name, None)) for name in LAYERS}
    shortcut = getattr(block, "shortcut", None)
    info["shortcut"] = [_describe_layer(m) for m in shortcut.modules()] if isinstance(shortcut, nn.Module) else None
    return info


@probe("resnet.shortcut")
def shortcut(ns: dict, in_channels: int, out_channels: int, stride: int, x) -> object:
    """``block.shortcut(x)`` of a fresh float64 block."""
    return _build(ns, in_channels, out_channels, stride).double().shortcut(x)


@probe("resnet.run")
def run(
    ns: dict, in_channels: int, out_channels: int, stride: int, x, state=None, train: bool = True, g_out=None
) -> dict:
    """Build a float64 block, copy ``state`` ({layer: {key: tensor}}, layers named conv1, bn1, conv2, bn2,
    shortcut.0 / shortcut.1 for the shortcut's first conv / BatchNorm) into it, set train/eval mode and
    return ``{"out": block(x)}``; with ``g_out`` also the gradients of ``sum(out * g_out)`` with respect to
    x ("x_grad") and every named parameter ("grads", None where there is none)."""
    block = _build(ns, in_channels, out_channels, stride).double()
    if state is not None:
        convs, bns = _shortcut_layers(block)
        mine = {name: getattr(block, name) for name in LAYERS}
        if convs and bns:
            mine["shortcut.0"], mine["shortcut.1"] = convs[0], bns[0]
        with torch.no_grad():
            for name, values in state.items():
                own = mine[name].state_dict()
                for key, value in values.items():
                    own[key].copy_(value)
    block.train(train)
    if g_out is None:
        return {"out": block(x)}
    leaf = x.clone().requires_grad_()
    out = block(leaf)
    reply = {"out": out, "x_grad": None, "grads": {}}
    if torch.is_tensor(out) and out.shape == g_out.shape and out.requires_grad:
        (out * g_out).sum().backward()
        reply["x_grad"] = leaf.grad
        reply["grads"] = {name: p.grad for name, p in block.named_parameters()}
    return reply
