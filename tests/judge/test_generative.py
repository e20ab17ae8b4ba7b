"""Does the judge give 09_generative's points for what the code computes on its secret inputs, and only then?

Wrong answers are the reference cells with one known mistake edited in (the self-checks' mistake table,
tests/checks/test_generative.py); one judge run in a shared kernel rules on a group of them (one per
answer cell).
"""

from __future__ import annotations

import functools

import pytest

from tests.judge import harness
from tests.judge.harness import edited, groups

A = "09_generative"
CELLS = {
    "reparameterize": ("reparameterize_values", "reparameterize_gradients", "reparameterize_hidden"),
    "vae_loss": ("vae_loss_values", "vae_loss_stability", "vae_loss_hidden"),
    "gan_losses": ("discriminator_loss_values", "discriminator_loss_stability", "generator_loss_values",
                   "generator_loss_stability", "gan_losses_hidden"),
}  # fmt: skip
R, V, GAN = CELLS["reparameterize"], CELLS["vae_loss"], CELLS["gan_losses"]
YOURSELF = "the exercise is to write it yourself"
DISC = {"discriminator_loss_values", "discriminator_loss_stability", "gan_losses_hidden"}
GEN = {"generator_loss_values", "generator_loss_stability", "gan_losses_hidden"}


def _x(cell: str, *edits):
    return cell, edited(A, cell, *edits)


def _r(*edits):  # the answer cell of reparameterize with ``edits``; _v and _g likewise
    return _x("reparameterize", *edits)


_v = functools.partial(_x, "vae_loss")
_g = functools.partial(_x, "gan_losses")


STD = "torch.exp(0.5 * logvar)"
BCE = "bce = logits.clamp(min=0) - logits * target + torch.log1p(torch.exp(-logits.abs()))"
KL = "kl = 0.5 * (mu**2 + torch.exp(logvar) - 1 - logvar)"
SUM = "(bce.sum(dim=1) + kl.sum(dim=1)).mean()"
LOGSIG = "torch.minimum(x, torch.zeros_like(x)) - torch.log1p(torch.exp(-x.abs()))"
DLOSS = "-log_sigmoid(real_logits).mean() - log_sigmoid(-fake_logits).mean()"
GLOSS = "return -log_sigmoid(fake_logits).mean()"

WRONG = {
    "reparameterize with exp(logvar)": (_r((STD, "torch.exp(logvar)")),
                                        dict.fromkeys(R, "exp(logvar) is the variance")),
    "reparameterize with logvar as std": (_r((STD, "logvar")), dict.fromkeys(R, "used as the standard deviation")),
    "reparameterize with exp(-logvar / 2)": (_r((STD, "torch.exp(-0.5 * logvar)")),
                                             dict.fromkeys(R, "exp(-logvar / 2)")),
    "reparameterize detached": (_r(("return mu + std * eps", "return (mu + std * eps).detach()")),
                                dict.fromkeys(R, "no gradient reaches")),
    "reparameterize drawing its own noise": (_r(("std * eps", "std * torch.randn_like(std)")),
                                             dict.fromkeys(R, "use the eps argument")),
    "reparameterize by torch.distributions": (
        _r((STD, "torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).stddev")), dict.fromkeys(R, YOURSELF)),
    "vae KL with the wrong sign": (_v((SUM, SUM.replace("+ kl", "- kl"))),
                                   {**dict.fromkeys(V, "the KL has the wrong sign"), "vae_loss_stability": ""}),
    "vae KL without the 1/2": (_v((KL, KL.replace("0.5 * ", ""))),
                               {**dict.fromkeys(V, "misses the factor 1/2"), "vae_loss_stability": ""}),
    "vae KL with the std for the variance": (_v((KL, KL.replace("torch.exp(logvar)", "torch.exp(0.5 * logvar)"))),
                                             {**dict.fromkeys(V, "exp(logvar / 2) where the variance"),
                                              "vae_loss_stability": ""}),
    "vae KL with logvar as the variance": (_v((KL, "kl = 0.5 * (mu**2 + logvar - 1 - torch.log(logvar))")),
                                           {**dict.fromkeys(V, "a log of logvar"), "vae_loss_stability": ""}),
    "vae KL without the log term": (_v((KL, KL.replace(" - 1 - logvar", " - 1"))),
                                    {**dict.fromkeys(V, "misses its -log sigma^2"), "vae_loss_stability": ""}),
    "vae KL summed over the batch": (_v((SUM, "bce.sum(dim=1).mean() + kl.sum()")),
                                     {**dict.fromkeys(V, "KL is summed over the batch"), "vae_loss_stability": ""}),
    "vae KL averaged over the latent dimensions": (_v((SUM, SUM.replace("kl.sum(dim=1)", "kl.mean(dim=1)"))),
                                                   {**dict.fromkeys(V, "averaged over the latent dimensions"),
                                                    "vae_loss_stability": ""}),
    "vae reconstruction averaged over the pixels": (_v((SUM, SUM.replace("bce.sum(dim=1)", "bce.mean(dim=1)"))),
                                                    {**dict.fromkeys(V, "averaged over the pixels"),
                                                     "vae_loss_stability": ""}),
    "vae loss summed over the batch": (_v((SUM, SUM.replace(".mean()", ".sum()"))),
                                       {**dict.fromkeys(V, "summed over the batch instead of averaged"),
                                        "vae_loss_stability": ""}),
    "vae squared-error reconstruction": (_v((BCE, "bce = (torch.sigmoid(logits) - target) ** 2")),
                                         {**dict.fromkeys(V, "squared error"), "vae_loss_stability": ""}),
    "vae naive log of sigmoids": (
        _v((BCE, "p = torch.sigmoid(logits)\n    bce = -(target * torch.log(p) + (1 - target) * torch.log(1 - p))")),
        {"vae_loss_values": None, "vae_loss_stability": "0 * log(0) = NaN", "vae_loss_hidden": None}),
    "vae by F.binary_cross_entropy_with_logits": (
        _v((BCE, "bce = torch.nn.functional.binary_cross_entropy_with_logits(logits, target, reduction='none')")),
        dict.fromkeys(V, YOURSELF)),
    "vae KL by torch.distributions": (
        _v((KL, "kl = torch.distributions.kl_divergence(torch.distributions.Normal(mu, torch.exp(0.5 * logvar)), "
                "torch.distributions.Normal(0.0, 1.0))")), dict.fromkeys(V, YOURSELF)),
    "gan labels swapped": (_g((DLOSS, "-log_sigmoid(-real_logits).mean() - log_sigmoid(fake_logits).mean()")),
                           dict.fromkeys(DISC, "labels are swapped")),
    "gan discriminator without the fake term": (_g((DLOSS, "-log_sigmoid(real_logits).mean()")),
                                                dict.fromkeys(DISC, "fake term")),
    "gan discriminator without the real term": (_g((DLOSS, "-log_sigmoid(-fake_logits).mean()")),
                                                dict.fromkeys(DISC, "real term")),
    "gan discriminator terms averaged": (_g((DLOSS, f"({DLOSS}) / 2")), dict.fromkeys(DISC, "averaged")),
    "gan discriminator with naive log(1 - sigmoid)": (
        _g((DLOSS, "-log_sigmoid(real_logits).mean() - torch.log(1 - torch.sigmoid(fake_logits)).mean()")),
        {"discriminator_loss_stability": "logarithm of a sigmoid overflows"}),
    "gan saturating generator loss": (_g((GLOSS, "return log_sigmoid(-fake_logits).mean()")),
                                      dict.fromkeys(GEN, "saturating loss")),
    "gan generator loss with the wrong sign": (_g((GLOSS, "return log_sigmoid(fake_logits).mean()")),
                                               # at +-big, +-3 big the saturating loss has the same mean
                                               {**dict.fromkeys(GEN, "the sign is wrong"),
                                                "generator_loss_stability": ""}),
    "gan generator loss summed": (_g((GLOSS, GLOSS.replace(".mean()", ".sum()"))), dict.fromkeys(GEN, "summed")),
    "gan naive log(sigmoid)": (_g((LOGSIG, "torch.log(1 / (1 + torch.exp(-x)))")),
                               {"discriminator_loss_stability": "overflows", "generator_loss_stability": "overflows"}),
    "gan clamped log(sigmoid)": (_g((LOGSIG, "torch.log(torch.sigmoid(x).clamp_min(1e-7))")),
                                 {"discriminator_loss_stability": "an eps or clamp",
                                  "generator_loss_stability": "an eps or clamp", "gan_losses_hidden": None}),
    "gan where with a NaN gradient": (
        _g((LOGSIG, "torch.where(x < 0, x - torch.log1p(torch.exp(x)), -torch.log1p(torch.exp(-x)))")),
        {"discriminator_loss_stability": "torch.where", "generator_loss_stability": "torch.where"}),
    "gan by F.logsigmoid": (_g((LOGSIG, "torch.nn.functional.logsigmoid(x)")), dict.fromkeys(GAN, YOURSELF)),
    "gan by F.softplus": (_g((LOGSIG, "-torch.nn.functional.softplus(-x)")), dict.fromkeys(GAN, YOURSELF)),
}  # fmt: skip
GROUPS = groups(WRONG)

RIGHT = {  # valid answers written differently: full marks
    "reparameterize with sqrt(exp(logvar))": _r((STD, "torch.sqrt(torch.exp(logvar))")),
    "vae with log-sigmoids and the KL as -1/2 (1 + logvar - mu^2 - sigma^2)": _v(
        (BCE, "ls = torch.minimum(logits, torch.zeros_like(logits)) - torch.log1p(torch.exp(-logits.abs()))\n"
              "    bce = -(target * ls + (1 - target) * (ls - logits))  # log(1 - sigmoid(l)) = log sigmoid(l) - l"),
        (KL, "kl = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())")),
    "gan with softplus written out and BCE labels": _g(
        (LOGSIG, "-(torch.clamp(-x, min=0) + torch.log1p(torch.exp(-x.abs())))"),
        (DLOSS, "(real_logits.clamp(min=0) - real_logits + torch.log1p(torch.exp(-real_logits.abs()))).mean() "
                "+ (fake_logits.clamp(min=0) + torch.log1p(torch.exp(-fake_logits.abs()))).mean()")),
}  # fmt: skip

BROKEN = {  # raising or mistyped code: failed verdicts, not a crash
    "reparameterize": "def reparameterize(mu, logvar, eps):\n    raise RuntimeError('boom')\n",
    "vae_loss": "def vae_loss(recon_logits, x, mu, logvar):\n    return (mu**2).sum(dim=1)\n",
    "gan_losses": "def gan_discriminator_loss(real_logits, fake_logits):\n    return 'loss'\n\n\n"
    "def gan_generator_loss(fake_logits):\n    return fake_logits[:2].sum()[None].expand(3)\n",
}
BROKEN_EXPECTED = {
    "reparameterize_values": "raised RuntimeError: boom",
    "vae_loss_values": "expected a 0-dim tensor",
    "discriminator_loss_values": "got str",
    "generator_loss_values": "expected a 0-dim tensor",
}

judged = harness.session_fixture(A)


def test_every_test_cell_has_a_judge_test(judged):
    """Does every graded cell of the notebook have a judge test, and no judge test lack a cell?"""
    harness.assert_every_test_cell_judged(judged, A, [c for cells in CELLS.values() for c in cells])


def test_release_notebook_gets_zero():
    """Does the release notebook (stubs) get zero on every cell, each saying it is not implemented?"""
    harness.assert_release_zero(A)


def test_submitted_reference_gets_full_marks_in_a_session(judged):
    """Does the reference, submitted into the release, pass every cell for 10 secret seeds (no chance failures)?"""
    harness.assert_session_full_marks(judged, seeds=range(1, 11))


def test_there_are_enough_known_mistakes():
    """Does the table hold at least 10 known-wrong implementations, each answer cell at least 3?"""
    assert len(WRONG) >= 10
    assert all(sum(cell == c for (cell, _), _ in WRONG.values()) >= 3 for c in CELLS)


@pytest.mark.parametrize("names", GROUPS, ids=[" | ".join(g) for g in GROUPS])
def test_wrong_answers_lose_the_right_cells(judged, names):
    """Does each known mistake or delegation lose the points of the cells that test it, with a message naming it?"""
    harness.assert_group(A, WRONG, CELLS, names, session=judged)


@pytest.mark.parametrize("name", list(RIGHT))
def test_valid_variants_get_full_marks(judged, name):
    """Does a valid answer written differently (other formulas, allowed building blocks) keep every point?"""
    cell, source = RIGHT[name]
    got = judged.verdicts({cell: source}, CELLS[cell], seed=3)
    assert all(v.passed and v.score == v.points for v in got.values()), {k: v.message for k, v in got.items()}


def test_broken_code_gets_failed_verdicts(judged):
    """Do raising code, a per-sample loss, a string and a wrong shape give failed verdicts, not a crash?"""
    got = judged.verdicts(BROKEN, seed=4)
    assert all(v.score == 0 for v in got.values()), {k: v.message for k, v in got.items() if v.score}
    for test, text in BROKEN_EXPECTED.items():
        assert text in got[test].message, (test, got[test].message)
