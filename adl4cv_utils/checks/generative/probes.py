"""Probes of 09_generative: call the student's reparameterisation, VAE loss and GAN losses on the judge's inputs.

Each probe returns the raw output and the gradients autograd gives the inputs (of ``sum(z * g)`` with the
judge's ``g`` for ``reparameterize``, of the loss itself for the losses); it decides nothing.
"""

from __future__ import annotations

from adl4cv_utils.checks.basics.probes import raw
from adl4cv_utils.checks.generative.common import _call
from adl4cv_utils.probing import probe, student

LOSSES = {"vae_loss": (0, 2, 3), "gan_discriminator_loss": (0, 1), "gan_generator_loss": (0,)}


@probe("generative.reparameterize")
def reparameterize(ns: dict, mu, logvar, eps, g) -> dict:
    """``reparameterize(mu, logvar, eps)`` twice: z with the gradients of ``sum(z * g)`` for mu and logvar,
    and z again (the same inputs must give the same z)."""
    fn = student(ns, "reparameterize")
    reply = _call(fn, (mu, logvar, eps), (0, 1), g)
    again = fn(mu.clone(), logvar.clone(), eps.clone())
    return {"value": raw(reply["value"]), "grads": raw(reply["grads"]), "again": raw(again)}


@probe("generative.loss")
def loss(ns: dict, fn: str, args: list) -> dict:
    """``fn(*args)`` (vae_loss or a GAN loss): its value and the gradients of the inputs it is trained through."""
    if fn not in LOSSES:
        raise ValueError(f"fn: expected one of {tuple(LOSSES)}, got {fn!r}")
    reply = _call(student(ns, fn), tuple(args), LOSSES[fn])
    return {"value": raw(reply["value"]), "grads": raw(reply["grads"])}
