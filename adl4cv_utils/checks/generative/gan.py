"""Are a student's GAN losses right and stable? (chapter 12, exercise 09_generative)

The references are ``F.softplus`` in float64 (``-log sigmoid(x) = softplus(-x)``) and autograd; the
mistake tables name swapped labels, a missing term, the saturating generator loss, sums, ...
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from adl4cv_utils.checks.generative import common as C
from adl4cv_utils.checks.result import run_check

# ---------------------------------------------------------------------------------------------
# GAN losses (Goodfellow et al. 2014) with D = sigmoid(logit): both take logits
# ---------------------------------------------------------------------------------------------


def _discriminator_reference(real, fake):
    # -log D(x) = softplus(-x); -log(1 - D(G(z))) = softplus(fake)
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def _generator_reference(fake):
    return F.softplus(-fake).mean()  # the non-saturating loss -log D(G(z))


def _discriminator_variants(real, fake) -> dict:
    real, fake = real.double(), fake.double()
    a, b = F.softplus(-real), F.softplus(fake)
    return {
        "the real and fake labels are swapped: real logits get -log D, fake logits -log(1 - D)": (
            F.softplus(real).mean() + F.softplus(-fake).mean()
        ),
        "the fake term -mean log(1 - D(G(z))) is missing": a.mean(),
        "the real term -mean log D(x) is missing": b.mean(),
        "the two terms are averaged; the loss is their sum": (a.mean() + b.mean()) / 2,
        "the sign is wrong: the discriminator minimises -log D(x) - log(1 - D(G(z)))": -(a.mean() + b.mean()),
        "the terms are summed over the batch instead of averaged": a.sum() + b.sum(),
        "the real and fake logits are averaged together (one mean over both batches)": torch.cat([a, b]).mean(),
    }


def _generator_variants(fake) -> dict:
    fake = fake.double()
    return {
        "this is the saturating loss mean log(1 - D(G(z))) of the minimax game; the non-saturating loss is "
        "-mean log D(G(z)) (Goodfellow et al. 2014), which keeps a gradient when D rejects the fakes": (
            -F.softplus(fake).mean()
        ),
        "the generator minimises -log(1 - D(G(z))), the discriminator's fake term: that pushes D(G(z)) down; "
        "the non-saturating loss is -mean log D(G(z))": F.softplus(fake).mean(),
        "the sign is wrong: the non-saturating loss is -mean log D(G(z)) >= 0": -F.softplus(-fake).mean(),
        "the loss is summed over the batch instead of averaged": F.softplus(-fake).sum(),
    }


def compare_gan(fn: str, inputs: tuple, got: dict) -> float:
    """Rule on ``fn`` (gan_discriminator_loss or gan_generator_loss): its recorded value and gradients."""
    if fn == "gan_discriminator_loss":
        reference, variants, names = _discriminator_reference, _discriminator_variants(*inputs), ("real", "fake")
    elif fn == "gan_generator_loss":
        reference, variants, names = _generator_reference, _generator_variants(*inputs), ("fake",)
    else:
        raise ValueError(f"fn: expected gan_discriminator_loss or gan_generator_loss, got {fn!r}")
    wants = tuple(range(len(inputs)))
    big = max(float(t.abs().max()) for t in inputs)
    where = f"logits of shape {tuple(inputs[-1].shape)}, |logit| up to {big:.0f}, {str(inputs[0].dtype)[6:]}"
    atol, rtol = C._tolerance(inputs[0].dtype)
    ref = C._reference(reference, inputs, wants)
    value = C._scalar_loss(f"{fn} ({where})", got.get("value"))
    stable = "large" if big >= 50 else ""
    diff = C._compare_value(f"{fn} ({where})", ref["value"], value, variants, atol, rtol, stable)
    grads = tuple(f"{n}_logits" for n in names)
    return max(diff, C._compare_grads(f"{fn} ({where})", ref, got, grads, atol, rtol, bool(stable)))


def _logits(gen, shape, scale: float, dtype=torch.float64, big: float = 0.0):
    """Random logits; with ``big``, also exactly +-big and values beyond it."""
    x = torch.randn(shape, generator=gen, dtype=torch.float64) * scale
    if big:
        flat = x.view(-1)
        flat[:4] = torch.tensor([big, -big, 3 * big, -3 * big], dtype=torch.float64)[: flat.numel()]
    return x.to(dtype)


def _gan_cases(gen, fn: str, shapes, scale: float, dtype=torch.float64, big: float = 0.0):
    for shape in shapes:
        real = _logits(gen, shape, scale, dtype, big)
        fake = _logits(gen, (shape[0] + 1, *shape[1:]), scale, dtype, big)  # the batches may differ in size
        yield (real, fake) if fn == "gan_discriminator_loss" else (fake,)


def _check_gan(fn_name: str, fn, cases) -> float:
    diff = 0.0
    for inputs in cases:
        diff = max(diff, compare_gan(fn_name, inputs, C._call(fn, inputs, tuple(range(len(inputs))))))
    return diff


@run_check("gan discriminator loss")
def check_discriminator_loss(gan_discriminator_loss, seed: int = 0):
    """Is it -mean log D(real) - mean log(1 - D(fake)) with D = sigmoid, with its gradients?"""
    cases = _gan_cases(torch.Generator().manual_seed(seed), "gan_discriminator_loss", ((6,), (4, 1), (1,)), 3.0)
    diff = _check_gan("gan_discriminator_loss", gan_discriminator_loss, cases)
    return "loss and gradients match softplus(-real).mean() + softplus(fake).mean() on 3 batches", diff


@run_check("gan generator loss")
def check_generator_loss(gan_generator_loss, seed: int = 0):
    """Is it the non-saturating -mean log D(fake) with D = sigmoid, with its gradient?"""
    cases = _gan_cases(torch.Generator().manual_seed(seed), "gan_generator_loss", ((6,), (4, 1), (1,)), 3.0)
    diff = _check_gan("gan_generator_loss", gan_generator_loss, cases)
    return "loss and gradient match softplus(-fake).mean() on 3 batches", diff


def _check_gan_stability(fn_name: str, fn) -> float:
    gen = torch.Generator().manual_seed(5)
    cases = list(_gan_cases(gen, fn_name, ((8,),), 30.0, torch.float64, big=100.0))
    cases += list(_gan_cases(gen, fn_name, ((6, 1),), 30.0, torch.float32, big=100.0))
    return _check_gan(fn_name, fn, cases)


@run_check("gan discriminator loss, large logits")
def check_discriminator_stability(gan_discriminator_loss):
    """Are loss and gradients finite and right for logits of +-100 and +-300 (float64 and float32)?"""
    diff = _check_gan_stability("gan_discriminator_loss", gan_discriminator_loss)
    return "finite and right for logits of +-100 and +-300 (float64 and float32)", diff


@run_check("gan generator loss, large logits")
def check_generator_stability(gan_generator_loss):
    """Are loss and gradient finite and right for logits of +-100 and +-300 (float64 and float32)?"""
    diff = _check_gan_stability("gan_generator_loss", gan_generator_loss)
    return "finite and right for logits of +-100 and +-300 (float64 and float32)", diff
