"""Probes of 10_diffusion: call the student's schedules, q_sample, ddpm_loss and p_sample_step on the judge's inputs.

Every probe returns raw outputs (tensors, numbers; other objects as their type's name) and whether an
input was changed in place. The noise model is the checks' stand-in ``TinyEps``, built from the judge's
parameters on both sides; ``ddpm_loss`` also returns the gradients of the student's loss for them.
"""

from __future__ import annotations

import torch

from adl4cv_utils.checks.diffusion.common import TinyEps, loss_outcome
from adl4cv_utils.probing import probe, student
from adl4cv_utils.probing.values import raw


@probe("diffusion.schedule")
def schedule(ns: dict, fn: str, args: list):
    """``fn(*args)`` (linear_beta_schedule or cosine_beta_schedule): its raw return value."""
    if fn not in ("linear_beta_schedule", "cosine_beta_schedule"):
        raise ValueError(f"fn: expected linear_beta_schedule or cosine_beta_schedule, got {fn!r}")
    return raw(student(ns, fn)(*args))


@probe("diffusion.q_sample")
def q_sample(ns: dict, x0, t, noise, alphas_cumprod) -> dict:
    """``q_sample(x0, t, noise, alphas_cumprod)``: the raw output, and whether x0 was changed."""
    x_in = x0.clone()
    out = student(ns, "q_sample")(x_in, t.clone(), noise.clone(), alphas_cumprod.clone())
    return {"out": raw(out), "changed": not torch.equal(x_in, x0)}


@probe("diffusion.ddpm_loss")
def ddpm_loss(ns: dict, w, b, x0, t, noise, alphas_cumprod) -> dict:
    """``ddpm_loss(TinyEps(w, b), ...)``: the raw loss and its gradients for w and b (None without a graph)."""
    model = TinyEps(w, b)
    loss = student(ns, "ddpm_loss")(model, x0.clone(), t.clone(), noise.clone(), alphas_cumprod.clone())
    out = loss_outcome(model, loss)
    return {"loss": raw(out["loss"]), "grads": raw(out["grads"])}


@probe("diffusion.p_sample")
def p_sample(ns: dict, w, b, x_t, t, noise, betas) -> dict:
    """``p_sample_step(TinyEps(w, b), x_t, t, noise, betas)``: the raw output, and whether x_t was changed."""
    x_in = x_t.clone()
    out = student(ns, "p_sample_step")(TinyEps(w, b), x_in, t.clone(), noise.clone(), betas.clone())
    return {"out": raw(out), "changed": not torch.equal(x_in, x_t)}
