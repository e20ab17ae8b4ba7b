"""INSTRUCTOR ONLY: the judge's statistical test of a student's Dropout in training mode (06_training).

On an input drawn from the secret seed (positive, so a zero in the output is a dropped element) the
fraction dropped must be p within six standard deviations, masks must differ between samples and
between calls, kept elements must be scaled by 1/(1-p), and the gradient must be grad_out * mask/(1-p).
Known mistakes are named by the self-check's own helpers (adl4cv_utils.checks.training.dropout).
"""

from __future__ import annotations

import torch

from adl4cv_grading.judge_tests import Context
from adl4cv_utils.checks.result import CheckFailed, compare
from adl4cv_utils.checks.training.dropout import check_dropped_fraction, check_kept_scale


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
    rows = dropped.reshape(shape[0], -1)
    if 0.0 < frac < 1.0 and bool((rows == rows[0]).all()):
        raise CheckFailed("every sample gets the same mask: draw one Bernoulli per element, not per feature")
    check_dropped_fraction(dropped, p)
    kept = ~dropped
    check_kept_scale(out[kept] / x.double()[kept], p)
    scale = 1 / (1 - p)
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
