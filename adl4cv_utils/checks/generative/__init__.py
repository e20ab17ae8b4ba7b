"""Are a student's reparameterisation, VAE loss and GAN losses right and stable? (chapters 11-12, exercise 09)

The references come from torch in float64: ``torch.distributions`` (``Normal.rsample`` semantics
and ``kl_divergence`` to N(0, I)), ``F.binary_cross_entropy_with_logits`` for the Bernoulli
reconstruction term and ``F.softplus`` for the GAN losses, with autograd for the gradients. When the
student's value differs, it is compared with a table of known mistakes (the KL's sign, its 1/2,
``exp(logvar)`` where ``exp(logvar / 2)`` belongs, sums where means belong, the saturating generator
loss, swapped labels, ...) so that the message names the mistake. The comparisons here are shared
with the judge (``adl4cv_grading.exercises.generative.judge``), which rules on the values the
probes (``probes.py``) record.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.distributions import Normal, kl_divergence

from adl4cv_utils.checks.generative.common import (  # noqa: F401 - shared with the probes and the judge
    _call,
    _compare_grads,
    _compare_value,
    _reference,
    _scalar_loss,
    _tolerance,
)
from adl4cv_utils.checks.generative.gan import (  # noqa: F401 - the GAN checks, for the test cells
    _discriminator_reference,
    _gan_cases,
    _generator_reference,
    check_discriminator_loss,
    check_discriminator_stability,
    check_generator_loss,
    check_generator_stability,
    compare_gan,
)
from adl4cv_utils.checks.result import CheckFailed, looks_like, run_check

# ---------------------------------------------------------------------------------------------
# reparameterize(mu, logvar, eps) -> z = mu + exp(logvar / 2) * eps
# ---------------------------------------------------------------------------------------------


def _reparameterize_reference(mu, logvar, eps):
    q = Normal(mu, torch.exp(logvar).sqrt())  # q(z | x) = N(mu, sigma^2)
    return q.loc + q.scale * eps  # what q.rsample() computes, with the given eps


def _reparameterize_variants(mu, logvar, eps) -> dict:
    mu, logvar, eps = mu.double(), logvar.double(), eps.double()
    return {
        "exp(logvar) is the variance, not the standard deviation: sigma = exp(logvar / 2)": mu + logvar.exp() * eps,
        "logvar is used as the standard deviation: sigma = exp(logvar / 2)": mu + logvar * eps,
        "the standard deviation is exp(-logvar / 2); it is exp(+logvar / 2)": mu + (-logvar / 2).exp() * eps,
        "mu is missing: z = mu + sigma * eps": (logvar / 2).exp() * eps,
        "eps is added instead of multiplied: z = mu + sigma * eps": mu + (logvar / 2).exp() + eps,
    }


def compare_reparameterize(inputs: tuple, got: dict, again, g) -> float:
    """Rule on ``reparameterize``'s recorded output (``_call`` with ``g``) and a second call's output ``again``."""
    mu, logvar, eps = inputs
    where = f"mu of shape {tuple(mu.shape)}, {str(mu.dtype).removeprefix('torch.')}"
    atol, rtol = _tolerance(mu.dtype)
    z = got.get("value")
    if torch.is_tensor(z) and torch.is_tensor(again) and z.shape == again.shape and not torch.equal(z, again):
        raise CheckFailed(
            f"z ({where}) changes between two calls with the same mu, logvar and eps; looks like the noise is "
            "drawn inside (torch.randn): use the eps argument, so that z is a deterministic function of it"
        )
    ref = _reference(_reparameterize_reference, inputs, (0, 1), g)
    diff = _compare_value(f"z ({where})", ref["value"], z, _reparameterize_variants(*inputs), atol, rtol)
    return max(diff, _compare_grads(f"sum(z * g) ({where})", ref, got, ("mu", "logvar"), atol, rtol))


def _reparameterize_inputs(gen, shape, dtype=torch.float64, scale: float = 1.0):
    mu = torch.randn(shape, generator=gen, dtype=torch.float64) * 2
    logvar = torch.randn(shape, generator=gen, dtype=torch.float64) * scale
    eps = torch.randn(shape, generator=gen, dtype=torch.float64)
    g = torch.randn(shape, generator=gen, dtype=torch.float64)
    return tuple(t.to(dtype) for t in (mu, logvar, eps)), g.to(dtype)


def _check_reparameterize(reparameterize, seed: int, shapes, dtype=torch.float64, scale: float = 1.0) -> float:
    gen = torch.Generator().manual_seed(seed)
    diff = 0.0
    for shape in shapes:
        inputs, g = _reparameterize_inputs(gen, shape, dtype, scale)
        got = _call(reparameterize, inputs, (0, 1), g)
        again = reparameterize(*(t.clone() for t in inputs))
        diff = max(diff, compare_reparameterize(inputs, got, again, g))
    return diff


@run_check("reparameterize")
def check_reparameterize(reparameterize, seed: int = 0):
    """Is z = mu + exp(logvar / 2) * eps, for the given eps, on (B, D) batches (float64 and float32)?"""
    diff = _check_reparameterize(reparameterize, seed, ((4, 3), (1, 8)))
    diff = max(diff, _check_reparameterize(reparameterize, seed + 100, ((5, 2),), torch.float32))
    return "z matches mu + exp(logvar / 2) * eps on 3 batches", diff


@run_check("reparameterize, gradients")
def check_reparameterize_gradients(reparameterize, seed: int = 0):
    """Do gradients reach mu and logvar (dz/dmu = 1, dz/dlogvar = exp(logvar / 2) * eps / 2), any shape?"""
    diff = _check_reparameterize(reparameterize, seed + 7, ((3, 4), (2, 3, 5)), scale=2.0)
    return "gradients to mu and logvar match autograd of the reference (2 shapes)", diff


# ---------------------------------------------------------------------------------------------
# vae_loss(recon_logits, x, mu, logvar): mean over the batch of BCE-with-logits (summed) + KL (summed)
# ---------------------------------------------------------------------------------------------


def _parts(recon_logits, x, mu, logvar):
    """Per-sample reconstruction (B, P) and per-dimension KL (B, D), from torch, in the inputs' dtype."""
    b = recon_logits.shape[0]
    rec = F.binary_cross_entropy_with_logits(recon_logits, x, reduction="none").reshape(b, -1)  # (B, P)
    std = torch.exp(logvar).sqrt()
    kl = kl_divergence(Normal(mu, std), Normal(torch.zeros_like(mu), torch.ones_like(mu)))  # (B, D)
    return rec, kl


def _vae_reference(recon_logits, x, mu, logvar):
    rec, kl = _parts(recon_logits, x, mu, logvar)
    return (rec.sum(1) + kl.sum(1)).mean()


def _vae_variants(recon_logits, x, mu, logvar) -> dict:
    recon_logits, x, mu, logvar = (t.detach().double() for t in (recon_logits, x, mu, logvar))
    rec, kl = _parts(recon_logits, x, mu, logvar)
    r, k = rec.sum(1).mean(), kl.sum(1).mean()
    b = rec.shape[0]
    m2, var = mu**2, logvar.exp()
    squared = ((torch.sigmoid(recon_logits) - x) ** 2).reshape(b, -1).sum(1).mean()
    return {
        "the KL has the wrong sign: loss = reconstruction + KL (the negative ELBO), "
        "KL = 1/2 sum(mu^2 + sigma^2 - 1 - log sigma^2) >= 0": r - k,
        "the KL misses the factor 1/2": r + 2 * k,
        "the KL uses the standard deviation exp(logvar / 2) where the variance sigma^2 = exp(logvar) belongs": r
        + (0.5 * (m2 + (logvar / 2).exp() - 1 - logvar)).sum(1).mean(),
        "the KL misses its -log sigma^2 (= -logvar) term": r + (0.5 * (m2 + var - 1)).sum(1).mean(),
        "the KL misses its -1 term": r + (0.5 * (m2 + var - logvar)).sum(1).mean(),
        "the KL is summed over the batch; the loss is the mean over the batch": r + kl.sum(),
        "the KL is averaged over the latent dimensions; sum it over them (then average over the batch)": r
        + kl.mean(1).mean(),
        "the reconstruction term is averaged over the pixels; sum it over them (then average over the batch)": (
            rec.mean(1).mean() + k
        ),
        "the reconstruction term is summed over the batch; the loss is the mean over the batch": rec.sum() + k,
        "the loss is summed over the batch instead of averaged": b * (r + k),
        "the KL is missing: loss = reconstruction + KL": r,
        "the reconstruction term is missing: loss = reconstruction + KL": k,
        "the reconstruction is a squared error; it is the binary cross-entropy of the logits": squared + k,
        "the reconstruction has the wrong sign: it is -log p(x | z) = BCE(logits, x) >= 0": -r + k,
    }


def compare_vae_loss(inputs: tuple, got: dict) -> float:
    """Rule on ``vae_loss``'s recorded output and gradients (``_call`` with wants (0, 2, 3))."""
    logits, x, mu, logvar = inputs
    where = f"recon_logits of shape {tuple(logits.shape)}, mu of shape {tuple(mu.shape)}, " + str(logits.dtype)[6:]
    atol, rtol = _tolerance(logits.dtype)
    ref = _reference(_vae_reference, inputs, (0, 2, 3))
    value = _scalar_loss(f"vae_loss ({where})", got.get("value"))
    large = bool((logits.abs() >= 50).any())
    try:
        diff = _compare_value(f"vae_loss ({where})", ref["value"], value, _vae_variants(*inputs), atol, rtol, "")
    except CheckFailed as fail:
        if "NaN or inf" in fail.message and "looks like" not in fail.message:
            fail.message += looks_like(
                "0 * log(0) = NaN: for large logits sigmoid is exactly 0 or 1; write the binary cross-entropy with "
                "the logits, max(l, 0) - l * x + log1p(exp(-|l|))"
                if large
                else "a log of logvar (logvar is already log sigma^2: sigma^2 = exp(logvar))"
            )
        raise
    names = ("recon_logits", "mu", "logvar")
    return max(diff, _compare_grads(f"vae_loss ({where})", ref, got, names, atol, rtol))


def _vae_inputs(gen, b: int, pixels, d: int, dtype=torch.float64, logit_scale: float = 2.0):
    logits = torch.randn(b, *pixels, generator=gen, dtype=torch.float64) * logit_scale
    x = torch.rand(b, *pixels, generator=gen, dtype=torch.float64)
    x = torch.where(torch.rand(x.shape, generator=gen, dtype=torch.float64) < 0.5, x.round(), x)  # 0/1 and grey
    mu = torch.randn(b, d, generator=gen, dtype=torch.float64)
    logvar = torch.randn(b, d, generator=gen, dtype=torch.float64)
    return tuple(t.to(dtype) for t in (logits, x, mu, logvar))


def _check_vae(vae_loss, inputs_list) -> float:
    diff = 0.0
    for inputs in inputs_list:
        diff = max(diff, compare_vae_loss(inputs, _call(vae_loss, inputs, (0, 2, 3))))
    return diff


@run_check("vae loss")
def check_vae_loss(vae_loss, seed: int = 0):
    """Does vae_loss equal mean_i [sum BCE-with-logits + closed-form KL to N(0, I)] with its gradients?"""
    gen = torch.Generator().manual_seed(seed)
    cases = [_vae_inputs(gen, 4, (6,), 3), _vae_inputs(gen, 3, (1, 4, 4), 2), _vae_inputs(gen, 1, (5,), 4)]
    return "loss and gradients match BCE-with-logits + kl_divergence on 3 batches", _check_vae(vae_loss, cases)


def _large_logits(inputs: tuple, gen, big: float) -> tuple:
    """``inputs`` with their reconstruction logits pushed to +-big (the targets x both 0 and 1 there)."""
    logits, x, mu, logvar = inputs
    sign = torch.where(torch.rand(logits.shape, generator=gen) < 0.5, -1.0, 1.0).to(logits.dtype)
    logits = sign * (big + logits.abs())
    x = x.clone()
    x.view(-1)[:2] = torch.tensor([0.0, 1.0], dtype=x.dtype)
    return logits, x, mu, logvar


@run_check("vae loss, large logits")
def check_vae_stability(vae_loss):
    """Are loss and gradients finite and right for reconstruction logits of +-100 and more (float64, float32)?"""
    gen = torch.Generator().manual_seed(11)
    cases = [_large_logits(_vae_inputs(gen, 4, (8,), 3), gen, 100.0)]
    cases.append(_large_logits(_vae_inputs(gen, 3, (6,), 2, torch.float32), gen, 100.0))
    return "finite and right for logits beyond +-100 (float64 and float32)", _check_vae(vae_loss, cases)
