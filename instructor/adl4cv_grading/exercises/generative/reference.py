"""Reference answers of 09_generative, written out as the solution notebook writes them.

Instructor only, never published: this IS the answer. The checks and the judge compare with torch's
own functions instead (``torch.distributions``, ``F.binary_cross_entropy_with_logits``, ``F.softplus``);
tests/checks/test_generative.py checks that both agree and edits these into the known mistakes.
"""

from __future__ import annotations

import torch


def reparameterize(mu, logvar, eps):
    """z = mu + exp(logvar / 2) * eps (Kingma & Welling 2014)."""
    return mu + torch.exp(0.5 * logvar) * eps


def log_sigmoid(x):
    """log(sigmoid(x)) = min(x, 0) - log1p(exp(-|x|)): finite, with a finite gradient, for every x."""
    return torch.minimum(x, torch.zeros_like(x)) - torch.log1p(torch.exp(-x.abs()))


def vae_parts(recon_logits, x, mu, logvar):
    """Per-sample reconstruction -log p(x | z) (B,) and KL to N(0, I) (B,)."""
    b = x.shape[0]
    logits, target = recon_logits.reshape(b, -1), x.reshape(b, -1)  # (B, P)
    bce = logits.clamp(min=0) - logits * target + torch.log1p(torch.exp(-logits.abs()))  # (B, P)
    kl = 0.5 * (mu**2 + torch.exp(logvar) - 1 - logvar)  # (B, D)
    return bce.sum(dim=1), kl.sum(dim=1)


def vae_loss(recon_logits, x, mu, logvar):
    """The negative ELBO, mean over the batch."""
    rec, kl = vae_parts(recon_logits, x, mu, logvar)
    return (rec + kl).mean()


def gan_discriminator_loss(real_logits, fake_logits):
    """-mean log D(x) - mean log(1 - D(G(z))) (Goodfellow et al. 2014), 1 - sigmoid(f) = sigmoid(-f)."""
    return -log_sigmoid(real_logits).mean() - log_sigmoid(-fake_logits).mean()


def gan_generator_loss(fake_logits):
    """The non-saturating generator loss -mean log D(G(z))."""
    return -log_sigmoid(fake_logits).mean()
