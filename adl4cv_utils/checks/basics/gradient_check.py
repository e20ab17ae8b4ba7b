"""Is a student's gradient_check right? (chapter 3, exercise 01_basics)

No reference implementation: the expected answers are closed forms. For f(x) = sum(exp(3x)) / 3
the centered differences have the relative error 1 - 3 eps / sinh(3 eps) at every element (and
forward differences 1 - 3 eps / expm1(3 eps)); a gradient with two planted errors has its worst
relative error 1/3 at a known element; where analytic and numeric gradients are both exactly 0
the relative error is 0. The test cells reach these checks through ``basics``.
"""

from __future__ import annotations

import math

import torch

from adl4cv_utils.checks.result import CheckFailed, looks_like, run_check


def _pair(name: str, out, what: str = "(loss, dscores)"):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"{name} must return a pair {what}, got {type(out).__name__}")
    return out


def _scalar(what: str, got) -> torch.Tensor:
    if isinstance(got, (int, float)) and not isinstance(got, bool):
        return torch.tensor(float(got), dtype=torch.float64)
    if torch.is_tensor(got) and got.numel() == 1:
        return got.detach().reshape(()).double()
    shape = f" of shape {tuple(got.shape)}" if torch.is_tensor(got) else ""
    raise CheckFailed(f"{what}: expected a scalar (0-dim tensor or float), got {type(got).__name__}{shape}")


# ---------------------------------------------------------------------------------------------
# gradient_check(f, x, eps) -> (max_rel_error, worst_index)
# ---------------------------------------------------------------------------------------------


def _run_gradient_check(gradient_check, f, x, **kwargs):
    x_in = x.clone()
    out = _pair("gradient_check", gradient_check(f, x_in, **kwargs), "(max_rel_error, worst_index)")
    if not torch.equal(x_in, x):
        raise CheckFailed("gradient_check changed x: restore every element after perturbing it (or work on a copy)")
    err = float(_scalar("max_rel_error", out[0]))
    idx = out[1]
    if isinstance(idx, int) or (torch.is_tensor(idx) and idx.numel() == 1 and x.ndim > 1):
        raise CheckFailed(
            f"worst_index must be a tuple index into x (one int per dimension of x {tuple(x.shape)}), "
            f"got the flat index {int(idx)}: convert it with torch.unravel_index"
        )
    try:
        idx = tuple(int(i) for i in idx)
    except (TypeError, ValueError) as error:
        raise CheckFailed(f"worst_index must be a tuple of ints, got {type(idx).__name__}") from error
    if len(idx) != x.ndim:
        raise CheckFailed(f"worst_index must have one int per dimension of x {tuple(x.shape)}, got {idx}")
    return err, idx


def _exp3(x):
    """f(x) = sum(exp(3x)) / 3 with its exact gradient exp(3x).

    Its finite differences have closed forms: centered ones give exp(3x) sinh(3 eps) / (3 eps), a
    relative error 1 - 3 eps / sinh(3 eps) ~ 1.5 eps**2 for every element; forward ones give
    exp(3x) (exp(3 eps) - 1) / (3 eps), a relative error ~ 1.5 eps.
    """
    e = torch.exp(3 * x)
    return e.sum() / 3, e


def _centered_error(eps: float) -> float:
    return 1 - 3 * eps / math.sinh(3 * eps)


def _forward_error(eps: float) -> float:
    return 1 - 3 * eps / math.expm1(3 * eps)


def _with_zeros(x):
    """f(x) = sum(w * x) with w zero at two elements: analytic and numeric gradient both exactly 0 there."""
    w = torch.ones_like(x)
    w.view(-1)[[1, 5]] = 0.0
    return (w * x).sum(), w.clone()


@run_check("gradient check, right gradient")
def check_gradient_check_correct(gradient_check):
    """For a right analytic gradient, is the error tiny (centered, float64), and 0 where both gradients are 0?"""
    x = torch.randn(3, 4, generator=torch.Generator().manual_seed(0)) * 0.5  # float32 on purpose
    err, _ = _run_gradient_check(gradient_check, _exp3, x)
    if not err < 1e-7:
        forward = _forward_error(1e-6)
        if abs(err - forward) <= 0.2 * forward:
            hint = (
                "forward differences (f(x + eps) - f(x)) / eps, whose error is O(eps): "
                "use centered differences (f(x + eps) - f(x - eps)) / (2 eps)"
            )
        elif err > 1e-4:
            hint = "x is perturbed in float32 (x here is float32): convert it to float64 first (x.double())"
        else:
            hint = ""
        raise CheckFailed(
            "a right gradient of sum(exp(3x))/3 gets a relative error far above the ~1e-10 of centered differences "
            "in float64" + (f"; looks like {hint}" if hint else ""),
            expected="below 1e-7",
            got=err,
        )
    zeros = torch.randn(2, 4, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    err0, _ = _run_gradient_check(gradient_check, _with_zeros, zeros)
    if not err0 < 1e-7:
        raise CheckFailed(
            "for sum(w * x) with w = 0 at two elements (analytic and numeric gradient both exactly 0 there) the "
            "error must be tiny: the relative error is 0 where both are 0 (0 / 0 would give NaN)",
            expected="below 1e-7",
            got=err0,
        )
    return f"max relative error {err:.1e} for a right gradient, 0 where both gradients are 0"


@run_check("gradient check, wrong gradient")
def check_gradient_check_wrong(gradient_check):
    """For an analytic gradient with two planted errors, are the worst element and its relative error found?"""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, generator=gen, dtype=torch.float64)
    w = torch.rand(3, 4, generator=gen, dtype=torch.float64) + 0.5
    x[0, 1], w[0, 1] = 0.1, 1.0  # true gradient 0.1, reported 0.15: relative error 1/3, absolute 0.05
    x[2, 3], w[2, 3] = 10.0, 10.0  # true gradient 100, reported 101: relative error ~0.0099, absolute 1

    def f(x):
        grad = w * x
        grad[0, 1] *= 1.5
        grad[2, 3] += 1.0
        return 0.5 * (w * x * x).sum(), grad

    # Worst relative error at (0, 1): |0.15 - 0.1| / 0.15 = 1/3. The worst absolute error is at (2, 3):
    # |101 - 100| = 1 (relative ~0.0099); dividing by |numeric| only gives 0.05 / 0.1 = 0.5 at (0, 1).
    expected = (1 / 3, (0, 1))
    err, idx = _run_gradient_check(gradient_check, f, x)
    if idx != expected[1] or abs(err - expected[0]) > 1e-4 * expected[0]:
        raise planted_failure(err, idx, expected, absolute=(1.0, (2, 3)), numeric_only=0.5)
    return f"found the worst element {idx} with relative error {err:.4f}"


@run_check("gradient check, eps")
def check_gradient_check_eps(gradient_check):
    """Is the eps argument used (eps=1e-4 gives the centered-difference error ~1.5e-8 on sum(exp(3x))/3)?"""
    x = torch.randn(2, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 0.5
    expected = _centered_error(1e-4)  # the same for every element: 1 - 3 eps / sinh(3 eps)
    err, _ = _run_gradient_check(gradient_check, _exp3, x, eps=1e-4)
    if abs(err - expected) > 0.05 * expected:
        hint = "; looks like eps is hard-coded: use the eps argument" if err < 0.2 * expected else ""
        raise CheckFailed(f"with eps=1e-4 the relative error should be the O(eps**2) error{hint}", expected, err)
    return f"eps=1e-4 gives {err:.2e} as expected"


def planted_failure(err: float, idx, expected, absolute, numeric_only: float) -> CheckFailed:
    """The failure for a wrong answer on planted errors, naming the mistake its (err, idx) matches.

    ``absolute``: the (error, index) that reporting |a - n| gives; ``numeric_only``: the error that dividing
    by |numeric| alone gives."""
    hint = ""
    if idx == absolute[1] or abs(err - absolute[0]) < 1e-3:
        hint = "the absolute error |a - n| is reported; use the relative |a - n| / max(|a|, |n|)"
    elif abs(err - numeric_only) < 1e-3:
        hint = "the error is divided by |numeric| only; divide by max(|analytic|, |numeric|)"
    return CheckFailed(
        "wrong worst element or relative error for a gradient with planted errors" + looks_like(hint),
        expected=expected,
        got=(err, idx),
    )
