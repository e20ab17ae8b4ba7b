"""What 09_generative's checks share: calling the student's code with gradients, and comparing with hints.

Used by the self-checks (``__init__.py``, ``gan.py``), the probes and the judge. No answer here.
"""

from __future__ import annotations

import torch

from adl4cv_utils.checks.result import CheckFailed, compare, hinted, looks_like

ATOL, RTOL = 1e-9, 1e-7  # float64: only real mistakes exceed this
ATOL32, RTOL32 = 1e-4, 1e-4  # float32 inputs, compared with the float64 reference of the same numbers
NAIVE = (
    "the logarithm of a sigmoid overflows: for logit 100, 1 - sigmoid(100) is exactly 0 and log(0) = -inf "
    "(and exp(-x) overflows in float32 for x = -100); write log D = log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)) "
    "and log(1 - D) = log sigmoid(-x)"
)
CLAMPED = (
    "finite but wrong for |logit| >= 100: an eps or clamp inside the log caps -log D at -log(eps); "
    "write log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)) instead"
)
NAIVE_GRAD = (
    "the gradient is wrong for large logits although the value may be right: the formula overflows in the "
    "backward pass (the derivative of log(1 / (1 + exp(-x))) holds (1 + exp(-x))**2); write log sigmoid(x) = "
    "min(x, 0) - log1p(exp(-|x|)), whose gradient never overflows"
)
NAN_GRAD = (
    "the gradient is NaN or inf: torch.where evaluates both branches, and an exp that overflows in the branch "
    "not taken gives 0 * inf = NaN in the backward pass; use exp(-|x|), which never overflows"
)


def _close(a, b, atol: float = 1e-7, rtol: float = 1e-5) -> bool:
    if not torch.is_tensor(a) or not torch.is_tensor(b) or a.shape != b.shape:
        return False
    return bool(torch.allclose(a.detach().double(), b.detach().double(), atol=atol, rtol=rtol))


def _named(got, variants: dict) -> str:
    """The first known mistake whose value matches ``got`` ('' when none does)."""
    return next((hint for hint, value in variants.items() if _close(value, got)), "")


def _call(fn, args: tuple, wants: tuple[int, ...], g=None) -> dict:
    """``fn(*args)`` on fresh copies, those at ``wants`` requiring grad: the output and the gradients of
    ``sum(out * g)`` (of ``out`` itself when ``g`` is None) for those copies (None where none arrived)."""
    leaves = [a.detach().clone().requires_grad_(i in wants) for i, a in enumerate(args)]
    out = fn(*leaves)
    reply = {"value": out, "grads": None}
    if not torch.is_tensor(out) or not out.requires_grad:
        return reply
    target = out if g is None else (out * g).sum()
    if target.numel() != 1:
        return reply
    target.backward()
    reply["grads"] = [leaves[i].grad for i in wants]
    return reply


def _scalar_loss(what: str, got) -> torch.Tensor:
    if not torch.is_tensor(got):
        raise CheckFailed(f"{what}: expected a 0-dim tensor (it must carry a gradient), got {type(got).__name__}")
    if got.numel() != 1:
        raise CheckFailed(f"{what}: expected a 0-dim tensor (the mean over the batch), got shape {tuple(got.shape)}")
    return got.reshape(())


def _reference(loss_of, args: tuple, wants: tuple[int, ...], g=None):
    """The float64 reference value of ``loss_of(*args)`` and its gradients for ``wants`` (autograd)."""
    return _call(loss_of, tuple(a.detach().double() for a in args), wants, g)


def _compare_grads(
    what: str, ref: dict, got: dict, names: tuple[str, ...], atol: float, rtol: float, stable: bool = False
) -> float:
    grads = got.get("grads")
    if grads is None:
        raise CheckFailed(
            f"{what}: no gradient reaches {', '.join(names)}: compute with tensor operations on the inputs "
            "(no .detach(), .item(), numpy or torch.no_grad()), so that training can backpropagate"
        )
    diff = 0.0
    for name, expected, grad in zip(names, ref["grads"], grads):
        if grad is None:
            raise CheckFailed(f"{what}: no gradient reaches {name}")
        if torch.is_tensor(grad) and not torch.isfinite(grad).all() and torch.isfinite(expected).all():
            raise CheckFailed(f"gradient of {what} with respect to {name} contains NaN or inf; looks like {NAN_GRAD}")
        with hinted(lambda: NAIVE_GRAD if stable else ""):
            diff = max(diff, compare(f"gradient of {what} with respect to {name}", expected, grad, atol, rtol))
    return diff


def _compare_value(what: str, expected, got, variants: dict, atol: float, rtol: float, stable: str = "") -> float:
    """``compare``; on a difference name the matching known mistake (or the stability hint ``stable``)."""
    try:
        return compare(what, expected, got, atol, rtol)
    except CheckFailed as fail:
        hint = _named(got, variants) if torch.is_tensor(got) else ""
        if not hint and stable and torch.is_tensor(got):
            hint = NAIVE if not torch.isfinite(got).all() else CLAMPED
        fail.message += looks_like(hint)
        raise


def _tolerance(dtype) -> tuple[float, float]:
    return (ATOL32, RTOL32) if dtype == torch.float32 else (ATOL, RTOL)
