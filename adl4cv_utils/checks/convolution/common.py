"""Helpers shared by the conv2d/max_pool2d checks and the Conv2d module checks (exercise 03_convolution).

Case descriptions, the guard that forbids torch's own convolution and pooling while student code
runs, output and gradient comparison with the recognised mistakes named. No answers here.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from adl4cv_utils.checks.convolution.mistakes import diagnose
from adl4cv_utils.checks.convolution.no_builtins import builtin_message, builtin_nodes, forbid_builtins
from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare

ATOL, RTOL = 1e-9, 1e-7  # float64: only real mistakes exceed this
DTYPE = torch.float64
SHAPE_HINT = "the output size is floor((I - K + 2P) / S) + 1 along each of height and width"
POOL_SHAPE_HINT = "the output size is floor((I - K) / S) + 1 along each of height and width"


def pair(value) -> tuple[int, int]:
    """An int or a pair -> a pair of ints."""
    return (value, value) if isinstance(value, int) else tuple(value)


def describe(case: dict) -> str:
    """A short text naming a case: shapes, bias, stride, padding."""
    parts = [f"x {tuple(case['x'])}"]
    if "w" in case:
        parts.append(f"weight {tuple(case['w'])}" + (", bias" if case.get("bias") else ", no bias"))
    if "k" in case:
        parts.append(f"kernel_size {case['k']}")
    parts += [f"{name} {case[name]}" for name in ("stride", "padding") if name in case]
    return ", ".join(parts)


def guarded(call: Callable, *student):
    """Run ``call()`` (student code) with torch's convolution and pooling forbidden; return its result."""
    used: list[str] = []
    try:
        with forbid_builtins(*student, record=used):
            result = call()
    except Exception:
        if used:
            raise CheckFailed(builtin_message(used)) from None
        raise
    if used:
        raise CheckFailed(builtin_message(used))
    return result


def check_graph(output, where: str) -> None:
    """Fail if ``output``'s autograd graph contains torch's convolution or pooling."""
    nodes = builtin_nodes(output)
    if nodes:
        raise CheckFailed(
            f"{where}: the autograd graph of your output contains {', '.join(nodes)}, so torch's own "
            "convolution or pooling was used; build it from tensor operations (unfold is fine)"
        )


def compare_output(expected, got, where: str, mistakes, shape_hint: str, what: str = "output") -> float:
    """compare() with the case in the message and, on a difference, the name of a recognised mistake."""
    if not torch.is_tensor(got):
        raise CheckFailed(f"{where}: expected a tensor, got {type(got).__name__}", expected, got)
    if got.shape == expected.shape and got.dtype != expected.dtype:
        raise CheckFailed(
            f"{where}: your {what} is {got.dtype} for {expected.dtype} inputs; torch keeps the input's dtype: "
            "make new tensors with dtype=x.dtype (or x.new_zeros(...))",
            expected.dtype,
            got.dtype,
        )
    try:
        return compare(what, expected, got, ATOL, RTOL)
    except CheckFailed as fail:
        hint = diagnose(got, mistakes)
        extra = f"; looks like {hint}" if hint else (f" ({shape_hint})" if got.shape != expected.shape else "")
        fail.message = f"{where}: {fail.message}{extra}"
        raise


def _callable(fn, name: str) -> None:
    if not callable(fn):
        raise CheckFailed(f"{name} must be a function, got {type(fn).__name__}")


def _seed(seed) -> int:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise CheckArgumentError(f"seed: expected a non-negative int, got {seed!r}")
    return seed


def _randn(shape, gen) -> torch.Tensor:
    return torch.randn(tuple(shape), generator=gen, dtype=DTYPE)


def _backward(out, g, student, where: str) -> None:
    """Backpropagate ``sum(out * g)`` through the student's graph (builtins forbidden)."""
    if out.grad_fn is None:
        raise CheckFailed(
            f"{where}: your output is not connected to the autograd graph (no grad_fn): build it from tensor "
            "operations, without .detach(), .numpy(), .item(), torch.no_grad() or torch.tensor(...) of values"
        )
    check_graph(out, where)
    guarded(lambda: (out * g).sum().backward(), student)


def _compare_grads(pairs, where: str) -> float:
    diff = 0.0
    for name, mine, ref in pairs:
        if ref is None:
            continue
        if mine.grad is None:
            raise CheckFailed(
                f"{where}: no gradient reached {name}: is the output built from {name} by tensor operations?"
            )
        try:
            diff = max(diff, compare(f"gradient w.r.t. {name}", ref.grad, mine.grad, ATOL, RTOL))
        except CheckFailed as fail:
            fail.message = f"{where}: {fail.message}"
            raise
    return diff


def compare_gradients(reference: Callable, inputs: dict, mine: dict, got, student, where: str, gen) -> float:
    """The largest difference of the input gradients when one upstream gradient, drawn from ``gen`` in the
    output's shape, is backpropagated through torch's ``reference`` (run on fresh copies of ``inputs``, by
    name) and through the student's output ``got`` (built from ``mine``, the same names); None inputs skip."""
    ref = {name: t.clone().requires_grad_() if t is not None else None for name, t in inputs.items()}
    out = reference(*ref.values())
    g = _randn(out.shape, gen)
    (out * g).sum().backward()
    _backward(got, g, student, where)
    return _compare_grads(((name, mine[name], ref[name]) for name in ref), where)
