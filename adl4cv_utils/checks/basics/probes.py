"""Probes of 01_basics: call the student's losses, activations, Maxout and gradient check on the judge's inputs.

Every probe returns the raw outputs (tensors, numbers, tuples of them; other objects as their type's
name) and whether the student's code changed its input in place. The functions handed to
``gradient_check`` (``make_f``) are the judge's test functions, built from its parameters on both sides.
"""

from __future__ import annotations

import torch

from adl4cv_utils.probing import probe, student
from adl4cv_utils.probing.values import raw


def make_f(kind: str, params: dict):
    """The judge's test function ``f(x) -> (value, grad)``: "exp" (right gradient) or "planted" (wrong one)."""
    if kind == "exp":  # sum(w * exp(a x)) / a, gradient w * exp(a x); exactly 0 where w == 0
        a, w = float(params["a"]), params["w"]

        def f(x):
            e = w * torch.exp(a * x)
            return e.sum() / a, e

        return f
    if kind == "planted":  # 0.5 * sum(w x^2), gradient w x, times ``factor`` plus ``add`` (planted errors)
        w, factor, add = params["w"], params["factor"], params["add"]

        def f(x):
            return 0.5 * (w * x * x).sum(), w * x * factor + add

        return f
    raise ValueError(f"kind: expected 'exp' or 'planted', got {kind!r}")


@probe("basics.loss")
def loss(ns: dict, fn: str, scores, y, margin=None):
    """``fn(scores, y[, margin])`` (softmax_loss or hinge_loss): its raw return value."""
    if fn not in ("softmax_loss", "hinge_loss"):
        raise ValueError(f"fn: expected softmax_loss or hinge_loss, got {fn!r}")
    args = (scores.clone(), y.clone()) + (() if margin is None else (margin,))
    return raw(student(ns, fn)(*args))


@probe("basics.activation")
def activation(ns: dict, kind: str, x, dout) -> dict:
    """``<kind>_forward(x)`` then ``<kind>_backward(dout, cache)``: out, dx, and whether x was changed."""
    forward, backward = student(ns, f"{kind}_forward"), student(ns, f"{kind}_backward")
    x_in = x.clone()
    pair = forward(x_in)
    info = {"pair": isinstance(pair, (tuple, list)) and len(pair) == 2, "changed": not torch.equal(x_in, x)}
    if not info["pair"]:
        info["got"] = raw(pair)
        return info
    info["out"] = raw(pair[0])
    info["dx"] = raw(backward(dout.clone(), pair[1]))
    return info


@probe("basics.maxout")
def maxout(ns: dict, x, W, b, dout) -> dict:
    """``maxout_forward(x, W, b)`` then ``maxout_backward(dout, cache)``: out and the gradients, raw."""
    pair = student(ns, "maxout_forward")(x.clone(), W.clone(), b.clone())
    if not (isinstance(pair, (tuple, list)) and len(pair) == 2):
        return {"pair": False, "got": raw(pair)}
    return {"pair": True, "out": raw(pair[0]), "grads": raw(student(ns, "maxout_backward")(dout.clone(), pair[1]))}


@probe("basics.gradient_check")
def gradient_check(ns: dict, kind: str, params: dict, x, eps=None) -> dict:
    """``gradient_check(make_f(kind, params), x[, eps=eps])``: its raw return value, and whether x changed."""
    x_in = x.clone()
    kwargs = {} if eps is None else {"eps": eps}
    out = student(ns, "gradient_check")(make_f(kind, params), x_in, **kwargs)
    return {"out": raw(out), "changed": not torch.equal(x_in, x)}
