"""Is a student's Dropout right? (chapter 5, exercise 06_training)

Checked statistically on a seeded run, with tolerances of several standard deviations: the
fraction dropped in training mode, the 1/(1-p) scaling of the kept elements, a new mask per call,
the gradient, the identity in eval mode and with p=0, and the ValueError for p outside [0, 1).
Known mistakes (keeping with probability p, no scaling, dividing by p, one mask per feature, ...)
are named in the message. No reference implementation is needed: the properties are the answer.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare, run_check


def _dropout(Dropout, p: float) -> nn.Module:
    layer = Dropout(p)
    if not isinstance(layer, nn.Module):
        raise CheckFailed(f"Dropout({p}) must be an nn.Module, got {type(layer).__name__}")
    return layer


def check_dropped_fraction(dropped: torch.Tensor, p: float) -> float:
    """The fraction of dropped elements; CheckFailed naming the mistake unless it is p within 6 standard deviations."""
    frac, n = float(dropped.double().mean()), dropped.numel()
    tol = 6 * math.sqrt(p * (1 - p) / n) + 1e-3  # six standard deviations of the dropped fraction
    if abs(frac - p) > tol:
        if frac == 0.0:
            hint = "nothing is dropped in training mode: zero each element with probability p"
        elif abs(frac - (1 - p)) <= tol:
            hint = "p is the probability to DROP an element; your layer keeps elements with probability p"
        elif frac == 1.0:
            hint = "everything is dropped"
        else:
            hint = "draw an independent Bernoulli mask per element (torch.rand(x.shape) < p drops)"
        raise CheckFailed(f"with p={p:g} a fraction {frac:.3f} of the elements is zero; {hint}", expected=p, got=frac)
    return frac


def check_kept_scale(ratio: torch.Tensor, p: float) -> None:
    """CheckFailed naming the mistake unless every kept element (output / input) is scaled by 1/(1-p)."""
    scale = 1 / (1 - p)
    if not torch.allclose(ratio, torch.full_like(ratio, scale), rtol=1e-5, atol=1e-6):
        mean = float(ratio.mean())
        hints = {
            1.0: "kept elements are not scaled: inverted dropout divides them by (1 - p) in training",
            1 / p: "kept elements are divided by p; divide by (1 - p), the probability to keep",
            1 - p: "kept elements are multiplied by (1 - p); inverted dropout divides by (1 - p)",
            p: "kept elements are multiplied by p; inverted dropout divides by (1 - p)",
        }
        hint = next((h for v, h in hints.items() if abs(mean - v) < 1e-4), "")
        raise CheckFailed(
            f"kept elements must be scaled by 1/(1-p) = {scale:.4f}" + (f"; looks like {hint}" if hint else ""),
            expected=scale,
            got=mean,
        )


@run_check("dropout in training mode")
def check_dropout_train(Dropout, p: float = 0.3, shape=(100, 200)):
    """In training mode, is a fraction p dropped, the rest scaled by 1/(1-p), fresh each call, with that gradient?"""
    if not 0.0 < p < 1.0:
        raise CheckArgumentError(f"p: expected a probability in (0, 1), got {p!r}")
    torch.manual_seed(0)
    layer = _dropout(Dropout, p).train()
    x = (torch.rand(shape) + 0.5).requires_grad_()  # positive: a zero in the output is a dropped element
    out = layer(x)
    if not torch.is_tensor(out) or tuple(out.shape) != tuple(shape):
        got = tuple(out.shape) if torch.is_tensor(out) else type(out).__name__
        raise CheckFailed(f"the output must be a tensor of the input's shape {tuple(shape)}", got=got)
    dropped = out.detach() == 0
    frac, n, scale = check_dropped_fraction(dropped, p), dropped.numel(), 1 / (1 - p)
    rows = dropped.reshape(shape[0], -1)
    if bool((rows == rows[0]).all()):
        raise CheckFailed("every sample gets the same mask: draw one Bernoulli per element, not per feature")
    kept = ~dropped
    check_kept_scale(out.detach()[kept] / x.detach()[kept], p)
    again = layer(x.detach()) == 0
    if torch.equal(again, dropped):
        raise CheckFailed("the second call drops exactly the same elements: draw a new mask at every forward call")
    if not out.requires_grad:
        raise CheckFailed("the output is detached from x: no gradient flows back through your Dropout")
    out.sum().backward()
    expected_grad = kept.float() * scale
    diff = compare("the gradient d(out.sum())/dx (mask / (1 - p))", expected_grad, x.grad, 1e-6, 1e-5)
    return f"dropped {frac:.3f} of {n} elements (p={p}), kept ones scaled by {scale:.4f}, right gradient", diff


@run_check("dropout in eval mode and with p=0")
def check_dropout_eval(Dropout):
    """Is Dropout the identity in eval mode (p=0.5) and in training mode with p=0?"""
    torch.manual_seed(1)
    x = torch.rand(50, 40) + 0.5
    layer = _dropout(Dropout, 0.5).eval()
    out = layer(x)
    check_eval_identity(x, out, p=0.5)
    layer = _dropout(Dropout, 0.0).train()
    out = layer(x)
    try:
        compare("output in training mode with p=0", x, out, 0.0, 0.0)
    except CheckFailed as fail:
        fail.message += "; with p=0 nothing may be dropped or scaled"
        raise
    return "identity in eval mode and with p=0"


@run_check("dropout rejects bad p")
def check_dropout_p(Dropout):
    """Does Dropout(p) raise ValueError for p outside [0, 1) and accept 0 and 0.99?"""
    for p in (-0.1, 1.0, 1.5):
        try:
            Dropout(p)
        except ValueError:
            continue
        except Exception as error:  # noqa: BLE001 - the student's code may raise anything
            raise CheckFailed(f"Dropout({p}) raised {type(error).__name__}; it must raise ValueError") from error
        raise CheckFailed(f"Dropout({p}) must raise ValueError: p is a probability in [0, 1) (p=1 drops everything)")
    for p in (0.0, 0.99):
        _dropout(Dropout, p)
    return "ValueError for p = -0.1, 1 and 1.5; p = 0 and 0.99 accepted"


def check_eval_identity(x: torch.Tensor, out, p: float) -> None:
    """Is a Dropout(p) in eval mode the identity? CheckFailed naming the mistake (scaling by 1 - p, dropping)."""
    try:
        compare("output in eval mode", x, out, 0.0, 0.0)
    except CheckFailed as fail:
        if torch.is_tensor(out) and out.shape == x.shape:
            if torch.allclose(out, x * (1 - p)):
                fail.message += (
                    "; looks like eval mode scales by (1 - p) (the old, non-inverted dropout): "
                    "inverted dropout already scaled in training, so eval is the identity"
                )
            elif bool((out == 0).any()):
                fail.message += "; elements are dropped in eval mode: only drop when self.training is True"
        raise
