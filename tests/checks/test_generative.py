"""Do the 09_generative checks pass the reference and name each deliberate mistake?"""

from __future__ import annotations

import pytest
import torch

from adl4cv_grading.exercises.generative import reference as ref
from adl4cv_utils.checks import generative as G


def _ls(x):
    return ref.log_sigmoid(x)


def _vae(rec_i=None, kl_i=None, reduce=torch.mean, pixels=torch.sum, latent=torch.sum, kl_sign=1.0):
    """A vae_loss with its parts swapped out: rec_i(l, x) (B, P) and kl_i(mu, logvar) (B, D) per element."""

    def vae_loss(recon_logits, x, mu, logvar):
        b = x.shape[0]
        logits, target = recon_logits.reshape(b, -1), x.reshape(b, -1)
        rec = (rec_i or (lambda l, t: l.clamp(min=0) - l * t + torch.log1p(torch.exp(-l.abs()))))(logits, target)
        kl = (kl_i or (lambda m, v: 0.5 * (m**2 + v.exp() - 1 - v)))(mu, logvar)
        return reduce(pixels(rec, dim=1) + kl_sign * latent(kl, dim=1))

    return vae_loss


def _kl_summed_over_the_batch(recon_logits, x, mu, logvar):
    rec, kl = ref.vae_parts(recon_logits, x, mu, logvar)
    return rec.mean() + kl.sum()


def _naive_bce(l, t):
    p = torch.sigmoid(l)
    return -(t * torch.log(p) + (1 - t) * torch.log(1 - p))


def _disc(log_d=_ls, real_term=True, fake_term=True, swap=False, scale=1.0, reduce=torch.mean):
    def loss(real, fake):
        real, fake = (-real, -fake) if swap else (real, fake)
        out = torch.zeros((), dtype=real.dtype)
        if real_term:
            out = out - reduce(log_d(real))
        if fake_term:
            out = out - reduce(log_d(-fake))
        return scale * out

    return loss


def _where_log_sigmoid(x):
    return torch.where(x < 0, x - torch.log1p(torch.exp(x)), -torch.log1p(torch.exp(-x)))


def _fresh_noise(mu, logvar, eps):
    return mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)


def test_reference_passes_every_check():
    """Does the reference pass every check, each in well under 2 s?"""
    results = [
        G.check_reparameterize(ref.reparameterize),
        G.check_reparameterize(ref.reparameterize, seed=1),
        G.check_reparameterize_gradients(ref.reparameterize),
        G.check_reparameterize_gradients(ref.reparameterize, seed=1),
        G.check_vae_loss(ref.vae_loss),
        G.check_vae_loss(ref.vae_loss, seed=1),
        G.check_vae_stability(ref.vae_loss),
        G.check_discriminator_loss(ref.gan_discriminator_loss),
        G.check_discriminator_loss(ref.gan_discriminator_loss, seed=1),
        G.check_discriminator_stability(ref.gan_discriminator_loss),
        G.check_generator_loss(ref.gan_generator_loss),
        G.check_generator_loss(ref.gan_generator_loss, seed=1),
        G.check_generator_stability(ref.gan_generator_loss),
    ]
    for r in results:
        assert r.passed, r.summary()
        assert r.seconds < 2.0, r.summary()


def test_valid_variants_pass():
    """Do correct answers written differently (sqrt(exp(logvar)), -1/2 (1 + logvar - mu^2 - sigma^2), BCE labels)
    pass?"""
    kl = _vae(kl_i=lambda m, v: -0.5 * (1 + v - m.pow(2) - v.exp()))
    with_labels = _vae(rec_i=lambda l, t: -(t * _ls(l) + (1 - t) * _ls(-l)))
    results = [
        G.check_reparameterize(lambda mu, logvar, eps: mu + torch.sqrt(torch.exp(logvar)) * eps),
        G.check_reparameterize_gradients(lambda mu, logvar, eps: mu + logvar.mul(0.5).exp() * eps),
        G.check_vae_loss(kl),
        G.check_vae_stability(with_labels),
        G.check_discriminator_stability(lambda r, f: torch.nn.functional.softplus(-r).mean() + f.clamp(min=0).mean()
                                        + torch.log1p(torch.exp(-f.abs())).mean()),
        G.check_generator_stability(lambda f: (torch.clamp(-f, min=0) + torch.log1p(torch.exp(-f.abs()))).mean()),
    ]  # fmt: skip
    for r in results:
        assert r.passed, r.summary()


WRONG = {
    "reparameterize with exp(logvar)": (
        lambda: G.check_reparameterize(lambda mu, logvar, eps: mu + torch.exp(logvar) * eps),
        "exp(logvar) is the variance",
    ),
    "reparameterize with logvar as std": (
        lambda: G.check_reparameterize(lambda mu, logvar, eps: mu + logvar * eps),
        "used as the standard deviation",
    ),
    "reparameterize with exp(-logvar / 2)": (
        lambda: G.check_reparameterize(lambda mu, logvar, eps: mu + torch.exp(-0.5 * logvar) * eps),
        "exp(-logvar / 2)",
    ),
    "reparameterize without mu": (
        lambda: G.check_reparameterize(lambda mu, logvar, eps: torch.exp(0.5 * logvar) * eps),
        "mu is missing",
    ),
    "reparameterize detached": (
        lambda: G.check_reparameterize_gradients(lambda mu, logvar, eps: ref.reparameterize(mu, logvar, eps).detach()),
        "no gradient reaches",
    ),
    "reparameterize drawing its own noise": (lambda: G.check_reparameterize(_fresh_noise), "use the eps argument"),
    "vae KL with the wrong sign": (lambda: G.check_vae_loss(_vae(kl_sign=-1.0)), "the KL has the wrong sign"),
    "vae KL without the 1/2": (
        lambda: G.check_vae_loss(_vae(kl_i=lambda m, v: m**2 + v.exp() - 1 - v)),
        "misses the factor 1/2",
    ),
    "vae KL with the std for the variance": (
        lambda: G.check_vae_loss(_vae(kl_i=lambda m, v: 0.5 * (m**2 + (v / 2).exp() - 1 - v))),
        "exp(logvar / 2) where the variance",
    ),
    "vae KL with logvar as the variance": (
        lambda: G.check_vae_loss(_vae(kl_i=lambda m, v: 0.5 * (m**2 + v - 1 - torch.log(v)))),
        "a log of logvar",
    ),
    "vae KL without the log term": (
        lambda: G.check_vae_loss(_vae(kl_i=lambda m, v: 0.5 * (m**2 + v.exp() - 1))),
        "misses its -log sigma^2",
    ),
    "vae KL summed over the batch": (
        lambda: G.check_vae_loss(_kl_summed_over_the_batch),
        "KL is summed over the batch",
    ),
    "vae KL averaged over the latent dimensions": (
        lambda: G.check_vae_loss(_vae(latent=torch.mean)),
        "averaged over the latent dimensions",
    ),
    "vae reconstruction averaged over the pixels": (
        lambda: G.check_vae_loss(_vae(pixels=torch.mean)),
        "averaged over the pixels",
    ),
    "vae loss summed over the batch": (
        lambda: G.check_vae_loss(_vae(reduce=torch.sum)),
        "summed over the batch instead of averaged",
    ),
    "vae squared-error reconstruction": (
        lambda: G.check_vae_loss(_vae(rec_i=lambda l, t: (torch.sigmoid(l) - t) ** 2)),
        "squared error",
    ),
    "vae naive log of sigmoids": (lambda: G.check_vae_stability(_vae(rec_i=_naive_bce)), "0 * log(0) = NaN"),
    "gan labels swapped": (lambda: G.check_discriminator_loss(_disc(swap=True)), "labels are swapped"),
    "gan discriminator without the fake term": (
        lambda: G.check_discriminator_loss(_disc(fake_term=False)),
        "fake term",
    ),
    "gan discriminator without the real term": (
        lambda: G.check_discriminator_loss(_disc(real_term=False)),
        "real term",
    ),
    "gan discriminator terms averaged": (lambda: G.check_discriminator_loss(_disc(scale=0.5)), "averaged"),
    "gan discriminator maximised": (lambda: G.check_discriminator_loss(_disc(scale=-1.0)), "the sign is wrong"),
    "gan discriminator summed": (lambda: G.check_discriminator_loss(_disc(reduce=torch.sum)), "summed over the batch"),
    "gan discriminator with naive log(1 - sigmoid)": (
        lambda: G.check_discriminator_stability(_disc(log_d=lambda x: torch.log(torch.sigmoid(x)))),
        "logarithm of a sigmoid overflows",
    ),
    "gan saturating generator loss": (
        lambda: G.check_generator_loss(lambda f: _ls(-f).mean()),
        "saturating loss mean log(1 - D(G(z)))",
    ),
    "gan generator minimising -log(1 - D)": (
        lambda: G.check_generator_loss(lambda f: -_ls(-f).mean()),
        "the discriminator's fake term",
    ),
    "gan generator loss with the wrong sign": (
        lambda: G.check_generator_loss(lambda f: _ls(f).mean()),
        "sign is wrong",
    ),
    "gan generator loss summed": (lambda: G.check_generator_loss(lambda f: -_ls(f).sum()), "summed over the batch"),
    "gan generator naive log(sigmoid)": (
        lambda: G.check_generator_stability(lambda f: -torch.log(1 / (1 + torch.exp(-f))).mean()),
        "overflows",
    ),
    "gan clamped log(sigmoid)": (
        lambda: G.check_generator_stability(lambda f: -torch.log(torch.sigmoid(f).clamp_min(1e-7)).mean()),
        "an eps or clamp",
    ),
    "gan where with a NaN gradient": (
        lambda: G.check_discriminator_stability(_disc(log_d=_where_log_sigmoid)),
        "torch.where evaluates both branches",
    ),
}


@pytest.mark.parametrize(("run", "text"), list(WRONG.values()), ids=list(WRONG))
def test_wrong_implementation_is_named(run, text):
    """Does each deliberately wrong implementation fail with a message that names its mistake?"""
    result = run()
    assert not result.passed and text in result.message, result.summary()


def _raising(error):
    def fn(*args):
        raise error

    return fn


BROKEN = [  # (check, function, text its message must hold)
    (G.check_reparameterize, _raising(RuntimeError("boom")), "raised RuntimeError: boom"),
    (G.check_reparameterize, _raising(NotImplementedError()), "not implemented"),
    (G.check_reparameterize, lambda mu, logvar, eps: mu[:, :1], "wrong shape"),
    (G.check_vae_loss, lambda logits, x, mu, logvar: (mu**2).sum(1), "expected a 0-dim tensor"),
    (G.check_discriminator_loss, lambda r, f: 1.5, "got float"),
    (G.check_generator_loss, lambda f: torch.zeros(3), "expected a 0-dim tensor"),
    (G.check_generator_loss, _raising(NotImplementedError()), "not implemented"),
]


@pytest.mark.parametrize(("check", "fn", "text"), BROKEN, ids=[t for _, _, t in BROKEN])
def test_broken_code_gives_a_failed_result(check, fn, text):
    """Do raising code, a stub, a per-sample loss, a python float and a wrong shape give failed results?"""
    result = check(fn)
    assert not result.passed and text in result.message, result.summary()


def test_references_agree_with_the_written_out_formulas():
    """Do torch's references of the checks equal the closed forms the notebook derives, for large logits too?"""
    gen = torch.Generator().manual_seed(3)
    inputs = G._large_logits(G._vae_inputs(gen, 4, (5,), 3), gen, 100.0)
    assert torch.allclose(G._vae_reference(*inputs), ref.vae_loss(*inputs), atol=1e-10, rtol=1e-12)
    x = torch.tensor([-1000.0, -100.0, -1.0, 0.0, 2.0, 100.0, 1000.0], dtype=torch.float64)
    assert torch.allclose(G._generator_reference(x), ref.gan_generator_loss(x), atol=0, rtol=1e-14)
    assert torch.allclose(G._discriminator_reference(x, -x[:3]), ref.gan_discriminator_loss(x, -x[:3]), rtol=1e-14)
    mu, logvar, eps = (torch.randn(3, 2, generator=gen, dtype=torch.float64) for _ in range(3))
    assert torch.allclose(G._reparameterize_reference(mu, logvar, eps), ref.reparameterize(mu, logvar, eps))


def test_checks_leave_the_global_rng_alone():
    """Does a check leave torch's global random state as it found it (a student's fresh noise included)?"""
    torch.manual_seed(0)
    before = torch.get_rng_state()
    G.check_reparameterize(_fresh_noise)
    assert torch.equal(torch.get_rng_state(), before)
