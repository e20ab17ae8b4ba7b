"""Probes of 05_attention: call the student's attention and multi-head attention on the judge's inputs.

They return what the student's code gives (outputs, weights, gradients and the module's layout) and
decide nothing: the judge compares with torch's attention in its own process.
"""

from __future__ import annotations

import inspect

import torch
from torch import nn

from adl4cv_utils.probing import probe, student

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "out_proj")


def _pair(result):
    """``(output, weights)`` when ``result`` is a pair of tensors, else None."""
    if isinstance(result, (tuple, list)) and len(result) == 2 and all(torch.is_tensor(t) for t in result):
        return result
    return None


@probe("attention.sdpa")
def sdpa(ns: dict, q, k, v, mask=None, g_out=None, g_w=None) -> dict:
    """The student's ``(output, weights)``; with ``g_out``/``g_w`` also the gradients of q, k and v of
    ``sum(output * g_out) + sum(weights * g_w)`` (None where a leaf got none)."""
    fn = student(ns, "scaled_dot_product_attention")
    if g_out is None:
        return {"result": fn(q, k, v) if mask is None else fn(q, k, v, mask)}
    leaves = [t.clone().requires_grad_() for t in (q, k, v)]
    result = fn(*leaves) if mask is None else fn(*leaves, mask)
    reply = {"result": result, "grads": None, "connected": False}
    pair = _pair(result)
    if pair is None:
        return reply
    loss = (pair[0] * g_out).sum() + (pair[1] * g_w).sum()
    reply["connected"] = bool(loss.requires_grad)
    if loss.requires_grad:
        loss.backward()
        reply["grads"] = [t.grad for t in leaves]
    return reply


def _layer_info(layer) -> dict:
    weight, bias = getattr(layer, "weight", None), getattr(layer, "bias", None)
    return {
        "type": type(layer).__name__,
        "is_linear": isinstance(layer, nn.Linear),
        "in_features": getattr(layer, "in_features", None) if isinstance(layer, nn.Linear) else None,
        "out_features": getattr(layer, "out_features", None) if isinstance(layer, nn.Linear) else None,
        "weight": list(weight.shape) if torch.is_tensor(weight) else None,
        "bias": list(bias.shape) if torch.is_tensor(bias) else None,
    }


@probe("attention.mha_interface")
def mha_interface(ns: dict, embed_dim: int, num_heads: int, bad_embed_dim: int, bad_num_heads: int) -> dict:
    """The class's forward arguments, the layout of ``cls(embed_dim, num_heads)`` and what
    ``cls(bad_embed_dim, bad_num_heads)`` raises (its exception's type name, '' when nothing)."""
    cls = student(ns, "MultiHeadAttention")
    info = {"is_class": isinstance(cls, type), "forward_args": [], "constructor_error": "", "is_module": False}
    if not info["is_class"]:
        return info
    try:
        info["forward_args"] = list(inspect.signature(cls.forward).parameters)
    except (TypeError, ValueError, AttributeError):
        pass
    try:
        module = cls(embed_dim, num_heads)
    except TypeError as error:
        info["constructor_error"] = f"{type(error).__name__}: {error}"
        return info
    info["is_module"] = isinstance(module, nn.Module)
    if info["is_module"]:
        info["layout"] = {name: _layer_info(getattr(module, name, None)) for name in PROJECTIONS}
        info["parameters"] = [name for name, _ in module.named_parameters()]
    try:
        cls(bad_embed_dim, bad_num_heads)
        info["bad_raises"] = ""
    except Exception as error:  # noqa: BLE001 - reported to the judge by type name
        info["bad_raises"] = type(error).__name__
    return info


@probe("attention.mha")
def mha(
    ns: dict, embed_dim: int, num_heads: int, weights: dict, query, key=None, value=None, mask=None, g_out=None
) -> dict:
    """Build ``MultiHeadAttention(embed_dim, num_heads)`` in float64, copy the judge's ``weights``
    ({name: (weight, bias)}) into its projections and run ``forward(query, key, value[, mask])``
    (key and value default to the query: self-attention). With ``g_out``: also the gradients of
    query, key, value and of every projection's weight and bias of ``sum(output * g_out)``.

    When a projection's weight or bias does not have the shape of the judge's, nothing runs and
    ``result`` is None (``layout`` says what the module has)."""
    module = student(ns, "MultiHeadAttention")(embed_dim, num_heads)
    if not isinstance(module, nn.Module):
        return {"is_module": False, "layout": {}, "result": None}
    module = module.double()
    layout = {name: _layer_info(getattr(module, name, None)) for name in PROJECTIONS}
    reply = {"is_module": True, "layout": layout, "result": None}
    for name, (w, b) in weights.items():
        if layout[name]["weight"] != list(w.shape) or layout[name]["bias"] != list(b.shape):
            return reply
    with torch.no_grad():
        for name, (w, b) in weights.items():
            getattr(module, name).weight.copy_(w)
            getattr(module, name).bias.copy_(b)
    cross = key is not None
    leaves = [t.clone().requires_grad_(g_out is not None) for t in ((query, key, value) if cross else (query,))]
    args = leaves if cross else leaves * 3
    result = module(*args) if mask is None else module(*args, mask)
    reply["result"] = result
    pair = _pair(result)
    if g_out is None or pair is None:
        return reply
    loss = (pair[0] * g_out).sum()
    reply["connected"] = bool(loss.requires_grad)
    if loss.requires_grad:
        loss.backward()
        reply["input_grads"] = [t.grad for t in leaves]
        reply["param_grads"] = {
            name: (getattr(module, name).weight.grad, getattr(module, name).bias.grad) for name in PROJECTIONS
        }
    return reply
