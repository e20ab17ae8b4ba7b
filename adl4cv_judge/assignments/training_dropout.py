"""INSTRUCTOR ONLY: the judge's statistical test of a student's Dropout in training mode (06_training).

On an input drawn from the secret seed (positive, so a zero in the output is a dropped element) the
fraction dropped must be p within six standard deviations, masks must differ between samples and
between calls, kept elements must be scaled by 1/(1-p), and the gradient must be grad_out * mask/(1-p).
Known mistakes are named as in the self-check (adl4cv_utils.checks.training.check_dropout_train).
"""

from __future__ import annotations

import math

import torch

from adl4cv_judge.registry import Context
from adl4cv_utils.checks.result import CheckFailed, compare


def tensor_like(what: str, value, shape) -> torch.Tensor:
    if not torch.is_tensor(value) or tuple(value.shape) != tuple(shape):
        got = tuple(value.shape) if torch.is_tensor(value) else value
        raise CheckFailed(f"{what} must be a tensor of the input's shape {tuple(shape)}", got=repr(got)[:100])
    return value.double()


def dropout_train(ctx: Context, p: float, shape: tuple[int, ...]):
    gen = ctx.generator(f"dropout:{p}:{shape}")
    x = torch.rand(shape, generator=gen) + 0.5  # positive: a zero in the output is a dropped element
    grad_out = torch.randn(shape, generator=gen)
    info = ctx.probe("training.dropout", p=p, x=x, grad_out=grad_out, seed=ctx.randint(0, 2**31 - 1, f"seed:{p}"))
    if not info.get("module"):
        raise CheckFailed(f"Dropout({p}) must be an nn.Module")
    out = tensor_like("the output", info.get("out"), shape)
    dropped = out == 0
    frac, n = float(dropped.double().mean()), dropped.numel()
    tol = 6 * math.sqrt(p * (1 - p) / n) + 1e-3  # six standard deviations of the dropped fraction
    rows = dropped.reshape(shape[0], -1)
    if 0.0 < frac < 1.0 and bool((rows == rows[0]).all()):
        raise CheckFailed("every sample gets the same mask: draw one Bernoulli per element, not per feature")
    if abs(frac - p) > tol:
        if frac == 0.0:
            hint = "nothing is dropped in training mode: zero each element with probability p"
        elif abs(frac - (1 - p)) <= tol:
            hint = "p is the probability to DROP an element; your layer keeps elements with probability p"
        elif frac == 1.0:
            hint = "everything is dropped"
        else:
            hint = "draw an independent Bernoulli mask per element (torch.rand(x.shape) < p drops)"
        raise CheckFailed(f"with p={p:.3f} a fraction {frac:.3f} of the elements is zero; {hint}", p, frac)
    kept = ~dropped
    ratio = out[kept] / x.double()[kept]
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
            scale,
            mean,
        )
    again = tensor_like("the output of a second call", info.get("again"), shape)
    if torch.equal(again == 0, dropped):
        raise CheckFailed("the second call drops exactly the same elements: draw a new mask at every forward call")
    if not info.get("requires_grad"):
        raise CheckFailed("the output is detached from x: no gradient flows back through your Dropout")
    grad = info.get("grad")
    if not torch.is_tensor(grad):
        raise CheckFailed("backward through your Dropout gave x no gradient")
    diff = compare("the gradient w.r.t. x (grad_out * mask / (1 - p))", grad_out * kept * scale, grad, 1e-6, 1e-5)
    return f"dropped {frac:.3f} of {n} elements (p={p:.3f}), kept ones scaled by {scale:.4f}, right gradient", diff


def draw_p(ctx: Context, salt: str, low: float, high: float) -> float:
    return round(low + (high - low) * float(torch.rand((), generator=ctx.generator("p:" + salt))), 3)
