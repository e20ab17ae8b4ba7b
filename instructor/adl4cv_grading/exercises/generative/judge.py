"""Judge of 09_generative: the reparameterisation, the VAE loss and the GAN losses on secret inputs.

The probes (adl4cv_utils.checks.generative.probes) return what the student's functions computed, and
the gradients autograd gave their inputs, on inputs drawn here from the run's secret seed (shapes,
values, dtypes and how large the logits are); the self-checks' comparisons and mistake tables
(adl4cv_utils.checks.generative) compute the float64 references from torch in this process and rule.
"""

from __future__ import annotations

import torch

from adl4cv_grading.judge_tests import Context, judge_test
from adl4cv_utils.checks import generative as G

GAN = ("gan_discriminator_loss", "gan_generator_loss")


def _shape(gen, ndim: int) -> tuple[int, ...]:
    return tuple(int(s) for s in torch.randint(2, 7, (ndim,), generator=gen))


# ---------------------------------------------------------------------------------------------
# reparameterize
# ---------------------------------------------------------------------------------------------


def _reparameterize(ctx: Context, salt: str, ndims, scale: float) -> float:
    gen = ctx.generator("reparameterize:" + salt)
    diff = 0.0
    for i, ndim in enumerate(ndims):
        dtype = torch.float32 if i == len(ndims) - 1 else torch.float64
        inputs, g = G._reparameterize_inputs(gen, _shape(gen, ndim), dtype, scale)
        got = ctx.probe("generative.reparameterize", mu=inputs[0], logvar=inputs[1], eps=inputs[2], g=g)
        diff = max(diff, G.compare_reparameterize(inputs, got, got.get("again"), g))
    return diff


@judge_test("reparameterize_values", "reparameterize")
def reparameterize_values(ctx: Context):
    return "z matches mu + exp(logvar / 2) * eps on 3 batches", _reparameterize(ctx, "values", (2, 2, 2), 1.0)


@judge_test("reparameterize_gradients", "reparameterize")
def reparameterize_gradients(ctx: Context):
    diff = _reparameterize(ctx, "gradients", (3, 2, 1), 2.0)
    return "gradients to mu and logvar match autograd of the reference (3 shapes)", diff


@judge_test("reparameterize_hidden", "reparameterize")
def reparameterize_hidden(ctx: Context):
    return "z and its gradients match on other batches", _reparameterize(ctx, "hidden", (2, 3, 2), 1.5)


# ---------------------------------------------------------------------------------------------
# vae_loss
# ---------------------------------------------------------------------------------------------


def _vae_case(gen, dtype=torch.float64, logit_scale: float = 2.0):
    # at least 3 samples (a sum over the batch is not twice the mean) and 2 pixels and latent dimensions
    b, d = int(torch.randint(3, 8, (1,), generator=gen)), int(torch.randint(2, 7, (1,), generator=gen))
    pixels = _shape(gen, int(torch.randint(1, 4, (1,), generator=gen)))  # (P,), (C, H) or (C, H, W)
    return G._vae_inputs(gen, b, pixels, d, dtype, logit_scale)


def _vae(ctx: Context, cases) -> float:
    diff = 0.0
    for inputs in cases:
        diff = max(diff, G.compare_vae_loss(inputs, ctx.probe("generative.loss", fn="vae_loss", args=list(inputs))))
    return diff


@judge_test("vae_loss_values", "vae_loss")
def vae_loss_values(ctx: Context):
    gen = ctx.generator("values")
    diff = _vae(ctx, [_vae_case(gen) for _ in range(3)])
    return "loss and gradients match BCE-with-logits + kl_divergence on 3 batches", diff


@judge_test("vae_loss_stability", "vae_loss")
def vae_loss_stability(ctx: Context):
    gen = ctx.generator("large")
    big = 100.0 + 100.0 * float(torch.rand((), generator=gen))
    cases = [G._large_logits(_vae_case(gen, dtype), gen, big) for dtype in (torch.float64, torch.float32)]
    return f"finite and right for logits beyond +-{big:.0f} (float64 and float32)", _vae(ctx, cases)


@judge_test("vae_loss_hidden", "vae_loss")
def vae_loss_hidden(ctx: Context):
    gen = ctx.generator("hidden")
    diff = _vae(ctx, [_vae_case(gen, logit_scale=4.0) for _ in range(2)] + [_vae_case(gen, torch.float32)])
    return "loss and gradients match on other batches", diff


# ---------------------------------------------------------------------------------------------
# GAN losses
# ---------------------------------------------------------------------------------------------


def _gan(ctx: Context, fn: str, salt: str, count: int, scale: float, big: float = 0.0) -> float:
    gen = ctx.generator(f"{fn}:{salt}")
    diff = 0.0
    for i in range(count):
        dtype = torch.float32 if big and i == count - 1 else torch.float64
        # large logits: at least 4 per batch, so each holds +-big and +-3 big (both signs matter to both terms)
        shape = (int(torch.randint(4 if big else 1, 10, (1,), generator=gen)),) + ((1,) if i % 2 else ())
        for inputs in G._gan_cases(gen, fn, (shape,), scale, dtype, big):
            got = ctx.probe("generative.loss", fn=fn, args=list(inputs))
            diff = max(diff, G.compare_gan(fn, inputs, got))
    return diff


def _big(ctx: Context) -> float:
    return 100.0 + 50.0 * float(torch.rand((), generator=ctx.generator("big")))


@judge_test("discriminator_loss_values", "gan_discriminator_loss")
def discriminator_loss_values(ctx: Context):
    diff = _gan(ctx, GAN[0], "values", 3, 3.0)
    return "loss and gradients match softplus(-real).mean() + softplus(fake).mean() on 3 batches", diff


@judge_test("discriminator_loss_stability", "gan_discriminator_loss")
def discriminator_loss_stability(ctx: Context):
    big = _big(ctx)
    diff = _gan(ctx, GAN[0], "large", 2, 30.0, big)
    return f"finite and right for logits of +-{big:.0f} and +-{3 * big:.0f} (float64 and float32)", diff


@judge_test("generator_loss_values", "gan_generator_loss")
def generator_loss_values(ctx: Context):
    return "loss and gradient match softplus(-fake).mean() on 3 batches", _gan(ctx, GAN[1], "values", 3, 3.0)


@judge_test("generator_loss_stability", "gan_generator_loss")
def generator_loss_stability(ctx: Context):
    big = _big(ctx)
    diff = _gan(ctx, GAN[1], "large", 2, 30.0, big)
    return f"finite and right for logits of +-{big:.0f} and +-{3 * big:.0f} (float64 and float32)", diff


@judge_test("gan_losses_hidden", GAN)
def gan_losses_hidden(ctx: Context):
    diff = max(_gan(ctx, fn, "hidden", 3, 5.0) for fn in GAN)
    return "both GAN losses match on other batches", diff
