"""Judge of 10_diffusion: schedules, q_sample, ddpm_loss and p_sample_step on secret inputs.

The probes (adl4cv_utils.checks.diffusion.probes) return what the student's functions computed on
inputs drawn here; the references and the outputs of the known mistakes come from ``reference.py``
(the papers' equations), and the self-checks' rules (adl4cv_utils.checks.diffusion) rule on them.
Schedules for the tensor functions are linear (Ho et al.) or random increasing ones, never so long
that alpha_bar_T underflows: a valid x0-prediction form of the reverse step stays within tolerance.
"""

from __future__ import annotations

import torch

from adl4cv_grading.exercises.diffusion.reference import REFERENCES, loss_and_grads, reference_linear
from adl4cv_grading.judge_tests import Context, judge_test
from adl4cv_utils.checks import diffusion as D
from adl4cv_utils.checks.diffusion import common as C
from adl4cv_utils.checks.result import CheckFailed


def _variants(fn: str, *args) -> dict:
    return {D.MISTAKES[fn][m]: REFERENCES[fn](*args, mistake=m) for m in D.MISTAKES[fn]}


def _uniform(gen, low: float, high: float) -> float:
    return round(low + (high - low) * float(torch.rand((), generator=gen)), 6)


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------


def _schedule(ctx: Context, fn: str, rows) -> float:
    """``rows`` of (arguments of the call, all arguments with the defaults filled in)."""
    diff = 0.0
    for args, full in rows:
        got = ctx.probe("diffusion.schedule", fn=f"{fn}_beta_schedule", args=list(args))
        want = REFERENCES[fn](*full)
        diff = max(diff, D.rule_schedule(f"{fn}_beta_schedule{tuple(args)}", full[0], want, got, _variants(fn, *full)))
    return diff


def _linear_rows(ctx: Context, salt: str):
    gen = ctx.generator("linear:" + salt)
    rows = [(int(torch.randint(5, 400, (1,), generator=gen)), _uniform(gen, 1e-5, 1e-3), _uniform(gen, 0.01, 0.05))]
    rows.append((int(torch.randint(2, 12, (1,), generator=gen)), _uniform(gen, 1e-3, 0.01), _uniform(gen, 0.1, 0.3)))
    return [(r, r) for r in rows] + [((1000,), (1000, 1e-4, 0.02))]  # and the defaults of Ho et al.


@judge_test("linear_schedule_values", "linear_beta_schedule")
def linear_schedule_values(ctx: Context):
    rows = _linear_rows(ctx, "values")
    return f"right for {[r[0] for r in rows]}", _schedule(ctx, "linear", rows)


@judge_test("linear_schedule_hidden", "linear_beta_schedule")
def linear_schedule_hidden(ctx: Context):
    return "right for other schedules", _schedule(ctx, "linear", _linear_rows(ctx, "hidden"))


def _cosine_rows(ctx: Context, salt: str, offset: bool):
    gen = ctx.generator("cosine:" + salt)
    sizes = [int(torch.randint(5, 60, (1,), generator=gen)), int(torch.randint(200, 1200, (1,), generator=gen))]
    if not offset:
        return [((T,), (T, 0.008)) for T in sizes]
    return [((T, s), (T, s)) for T, s in ((T, _uniform(gen, 0.01, 0.2)) for T in sizes)]


@judge_test("cosine_schedule_values", "cosine_beta_schedule")
def cosine_schedule_values(ctx: Context):
    rows = _cosine_rows(ctx, "values", offset=False)
    return f"right for T = {[r[0][0] for r in rows]} (s = 0.008)", _schedule(ctx, "cosine", rows)


@judge_test("cosine_schedule_offset", "cosine_beta_schedule")
def cosine_schedule_offset(ctx: Context):
    rows = _cosine_rows(ctx, "offset", offset=True)
    return f"right for (T, s) = {[r[0] for r in rows]}", _schedule(ctx, "cosine", rows)


@judge_test("cosine_schedule_hidden", "cosine_beta_schedule")
def cosine_schedule_hidden(ctx: Context):
    rows = _cosine_rows(ctx, "hidden", offset=False) + _cosine_rows(ctx, "hidden-s", offset=True)
    return "right for other schedules", _schedule(ctx, "cosine", rows)


# ---------------------------------------------------------------------------------------------
# q_sample, ddpm_loss, p_sample_step
# ---------------------------------------------------------------------------------------------


def _draws(ctx: Context, salt: str, t_low: int = 0, t_high=None, count: int = 3):
    """(shape, betas, x, t, noise, w, b) for 2-D points, images and a batch of one, with secret sizes."""
    gen = ctx.generator(salt)
    for i in range(count):
        T = int(torch.randint(20, 300, (1,), generator=gen))
        if i % 2:
            betas = C.random_betas(gen, T, 1e-4, _uniform(gen, 0.01, 0.04))
        else:
            betas = reference_linear(T, _uniform(gen, 1e-5, 1e-3), _uniform(gen, 0.01, 0.03))
        n = 1 if i == count - 1 else int(torch.randint(2, 7, (1,), generator=gen))
        dims = [(2,), (3, 4, 4), (int(torch.randint(1, 9, (1,), generator=gen)),)][i % 3]
        shape = (n, *dims)
        x, t, noise = C.batch(gen, shape, T, t_low, T if t_high is None else t_high)
        if t_high is None and t_low == 0 and n > 1:
            t[0], t[-1] = 0, T - 1  # the first and the last step in every mixed batch
        model = C.random_model(gen, dims, T)
        yield betas, x, t, noise, model


def _q_sample(ctx: Context, salt: str) -> float:
    diff = 0.0
    for betas, x0, t, noise, _ in _draws(ctx, salt):
        ab = torch.cumprod(1 - betas, dim=0)
        info = ctx.probe("diffusion.q_sample", x0=x0, t=t, noise=noise, alphas_cumprod=ab)
        if info.get("changed"):
            raise CheckFailed("x0 was changed in place: compute new tensors instead")
        want = REFERENCES["q_sample"](x0, t, noise, ab)
        where = f"q_sample ({D.describe(x0, t)})"
        diff = max(diff, D.compare_named(where, want, info.get("out"), _variants("q_sample", x0, t, noise, ab)))
    return diff


@judge_test("q_sample_values", "q_sample")
def q_sample_values(ctx: Context):
    return "right on 3 batches", _q_sample(ctx, "values")


@judge_test("q_sample_hidden", "q_sample")
def q_sample_hidden(ctx: Context):
    return "right on other batches", _q_sample(ctx, "hidden")


def _loss(ctx: Context, salt: str, gradients: bool) -> float:
    diff = 0.0
    for betas, x0, t, noise, model in _draws(ctx, salt):
        ab = torch.cumprod(1 - betas, dim=0)
        args = (x0, t, noise, ab)
        got = ctx.probe("diffusion.ddpm_loss", w=model.w.detach(), b=model.b.detach(), x0=x0, t=t, noise=noise,
                        alphas_cumprod=ab)  # fmt: skip
        if isinstance(got.get("grads"), list):
            got["grads"] = tuple(got["grads"])
        want = loss_and_grads(model, REFERENCES["ddpm_loss"](model, *args))
        variants = {k: v.detach() for k, v in _variants("ddpm_loss", model, *args).items()}
        diff = max(diff, D.rule_loss(f"ddpm_loss ({D.describe(x0, t)})", want, got, variants, gradients))
    return diff


@judge_test("ddpm_loss_values", "ddpm_loss")
def ddpm_loss_values(ctx: Context):
    return "right on 3 batches", _loss(ctx, "values", gradients=False)


@judge_test("ddpm_loss_gradient", "ddpm_loss")
def ddpm_loss_gradient(ctx: Context):
    return "loss and gradients right on 3 batches", _loss(ctx, "gradient", gradients=True)


@judge_test("ddpm_loss_hidden", "ddpm_loss")
def ddpm_loss_hidden(ctx: Context):
    return "right on other batches", _loss(ctx, "hidden", gradients=False)


def _p_sample(ctx: Context, salt: str, kind: str) -> float:
    zero_noise, t_low, t_high = C.P_KINDS[kind]
    diff = 0.0
    for betas, x_t, t, noise, model in _draws(ctx, salt, t_low, t_high):
        noise = torch.zeros_like(noise) if zero_noise else noise
        info = ctx.probe("diffusion.p_sample", w=model.w.detach(), b=model.b.detach(), x_t=x_t, t=t, noise=noise,
                         betas=betas)  # fmt: skip
        if info.get("changed"):
            raise CheckFailed("x_t was changed in place: compute new tensors instead")
        with torch.no_grad():
            want = REFERENCES["p_sample"](model, x_t, t, noise, betas)
            variants = _variants("p_sample", model, x_t, t, noise, betas)
        where = f"p_sample_step ({D.describe(x_t, t)}{', noise = 0' if zero_noise else ''})"
        diff = max(diff, D.compare_named(where, want, info.get("out"), variants))
    return diff


@judge_test("p_sample_mean", "p_sample_step")
def p_sample_mean(ctx: Context):
    return "the mean is right on 3 batches (t >= 1)", _p_sample(ctx, "mean", "mean")


@judge_test("p_sample_variance", "p_sample_step")
def p_sample_variance(ctx: Context):
    return "mean and noise right on 3 batches (t >= 1)", _p_sample(ctx, "variance", "variance")


@judge_test("p_sample_last_step", "p_sample_step")
def p_sample_last_step(ctx: Context):
    diff = max(_p_sample(ctx, "last", "last"), _p_sample(ctx, "last-mixed", "mixed"))
    return "no noise at t = 0; mixed batches right", diff


@judge_test("p_sample_hidden", "p_sample_step")
def p_sample_hidden(ctx: Context):
    return "right on other mixed batches", _p_sample(ctx, "hidden", "mixed")
