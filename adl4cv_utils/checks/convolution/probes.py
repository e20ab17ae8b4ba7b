"""Probes of 03_convolution: call the student's conv2d, max_pool2d and Conv2d on the judge's inputs.

They return outputs, gradients, signatures and parameters as plain data and decide nothing: the
judge compares with ``F.conv2d``, ``F.max_pool2d`` and ``nn.Conv2d`` in its own process, and the
kernel's trace tells it whether torch's own convolution or pooling ran.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from adl4cv_utils.probing import probe, student


def _run(fn, leaves: list, g_out, **kwargs) -> dict:
    """``fn(*leaves, **kwargs)``; with ``g_out`` also backward of ``sum(out * g_out)`` and the leaves' gradients."""
    if g_out is not None:
        leaves = [t.clone().requires_grad_() for t in leaves]
    out = fn(*leaves, **kwargs)
    reply = {"out": out}
    if g_out is None:
        return reply
    reply["connected"] = torch.is_tensor(out) and out.grad_fn is not None
    reply["grads"] = None
    if reply["connected"] and out.shape == g_out.shape:
        (out * g_out).sum().backward()
        reply["grads"] = [t.grad for t in leaves]
    return reply


@probe("convolution.conv2d")
def conv2d(ns: dict, x, weight, bias=None, options: dict | None = None, g_out=None) -> dict:
    """``conv2d(x, weight[, bias], **options)``; the bias is passed only when there is one, like the self-checks."""
    leaves = [x, weight] + ([bias] if bias is not None else [])
    return _run(student(ns, "conv2d"), leaves, g_out, **(options or {}))


@probe("convolution.max_pool2d")
def max_pool2d(ns: dict, x, args: list, g_out=None) -> dict:
    """``max_pool2d(x, *args)`` (args: kernel_size and, when given, stride)."""
    fn = student(ns, "max_pool2d")
    return _run(lambda t: fn(t, *args), [x], g_out)


@probe("convolution.module_signature")
def module_signature(ns: dict) -> dict:
    """Is Conv2d a subclass of nn.Module, and what are its constructor's arguments and defaults?"""
    cls = student(ns, "Conv2d")
    info = {"is_module_class": isinstance(cls, type) and issubclass(cls, nn.Module), "arguments": {}, "type": ""}
    info["type"] = repr(cls)[:200] if not info["is_module_class"] else cls.__name__
    if info["is_module_class"]:
        params = inspect.signature(cls.__init__).parameters
        info["arguments"] = {
            k: {"has_default": p.default is not inspect.Parameter.empty, "default": _plain(p.default)}
            for k, p in params.items()
            if k != "self"
        }
    return info


def _plain(value):
    return value if value is None or type(value) in (bool, int, float, str, tuple) else repr(value)[:100]


def _build(ns: dict, args: list, kwargs: dict):
    cls = student(ns, "Conv2d")
    try:
        return cls(*args, **kwargs), ""
    except TypeError as error:
        return None, f"{type(error).__name__}: {error}"


def _parameter_info(module, name: str) -> dict:
    p = getattr(module, name, None)
    return {
        "present": hasattr(module, name),
        "is_none": p is None,
        "is_parameter": isinstance(p, nn.Parameter),
        "type": type(p).__name__,
        "shape": list(p.shape) if torch.is_tensor(p) else None,
        "registered": any(q is p for q in module.parameters()) if torch.is_tensor(p) else False,
    }


@probe("convolution.module_build")
def module_build(ns: dict, args: list, kwargs: dict, seed: int | None = None, values: bool = False) -> dict:
    """``Conv2d(*args, **kwargs)`` (after ``torch.manual_seed(seed)`` in a forked RNG when seed is given):
    its weight and bias (type, shape, whether registered), its number of parameters and, with ``values``,
    the weight's and bias's values; ``{"not_module_class": repr}`` when Conv2d is no nn.Module class."""
    cls = student(ns, "Conv2d")
    if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
        return {"not_module_class": repr(cls)[:200]}
    with torch.random.fork_rng():
        if seed is not None:
            torch.manual_seed(seed)
        module, error = _build(ns, args, kwargs)
    if module is None:
        return {"constructor_error": error}
    info = {"constructor_error": "", "is_module": isinstance(module, nn.Module)}
    if not info["is_module"]:
        return info
    info["weight"], info["bias"] = _parameter_info(module, "weight"), _parameter_info(module, "bias")
    info["num_parameters"] = len(list(module.parameters()))
    if values:
        info["values"] = {n: getattr(module, n, None) for n in ("weight", "bias")}
    return info


@probe("convolution.module_run")
def module_run(ns: dict, args: list, kwargs: dict, weight, bias, x, g_out) -> dict:
    """Build ``Conv2d(*args, **kwargs)`` in float64, copy the judge's weight (and bias) into it, run it on x
    and backpropagate ``sum(out * g_out)``: output and the gradients of x, weight and bias."""
    module, error = _build(ns, args, kwargs)
    if module is None:
        return {"constructor_error": error}
    module = module.double()
    with torch.no_grad():
        module.weight.copy_(weight)
        if bias is not None:
            module.bias.copy_(bias)
    leaf = x.clone().requires_grad_()
    out = module(leaf)
    reply = {"constructor_error": "", "out": out, "connected": torch.is_tensor(out) and out.grad_fn is not None}
    reply["grads"] = None
    if reply["connected"] and out.shape == g_out.shape:
        (out * g_out).sum().backward()
        b = getattr(module, "bias", None)
        reply["grads"] = [leaf.grad, module.weight.grad, b.grad if torch.is_tensor(b) else None]
    return reply
