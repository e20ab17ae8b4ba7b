"""Are a student's noise schedules, forward process, loss and reverse step right? (chapter 13, exercise 10_diffusion)

The answers are compared with values stored in ``checks/expected/diffusion.pt``, computed once by the
instructor's references from the papers' equations (Ho et al. 2020: the linear schedule, Eq. 4 for
``q_sample``, Eq. 14 for the loss, Eqs. 7 and 11 and Algorithm 2 for the reverse step; Nichol &
Dhariwal 2021: the cosine schedule with its offset ``s`` and its clipping at 0.999) on seeded inputs
(``common.py``). The stored outputs of known mistakes (a schedule off by one step, sqrt(alpha_bar) vs
alpha_bar, the wrong step of the posterior variance, noise at the last step, ...) name the mistake when
one matches. The rules below (``rule_*``) are shared with the judge, which applies them to its own
references on secret inputs. Conventions: 0-based positions (position ``i`` holds the paper's step
``i + 1``), float64 schedules, sigma_t^2 = beta_tilde_t, the loss a mean over every element.
"""

from __future__ import annotations

import torch

from adl4cv_utils.checks.diffusion import common as C
from adl4cv_utils.checks.fixtures import expected
from adl4cv_utils.checks.result import CheckFailed, compare, looks_like, run_check

ATOL, RTOL = 1e-9, 1e-7  # float64 everywhere: only real mistakes exceed this

MISTAKES = {
    "linear": {
        "skip_first": "the schedule is off by one step: it starts one step after beta_start "
        "(torch.linspace(beta_start, beta_end, T) holds beta_1 = beta_start .. beta_T = beta_end)",
        "skip_last": "the schedule is off by one step: it stops one step before beta_end "
        "(torch.linspace(beta_start, beta_end, T) includes both ends)",
        "swapped": "the linspace endpoints are swapped: the schedule rises from beta_start to beta_end",
        "hard_coded": "beta_start and beta_end are hard-coded (1e-4, 0.02): use the arguments",
    },
    "cosine": {
        "no_clip": "the betas are not clipped: beta_t = min(1 - alpha_bar_t / alpha_bar_{t-1}, 0.999) "
        "(Nichol & Dhariwal; without it the last beta is 1)",
        "no_offset": "the offset s is missing: f(t) = cos((t/T + s) / (1 + s) * pi/2)**2",
        "hard_coded_s": "s is hard-coded to 0.008: use the s argument",
        "alpha_bar": "the schedule returns alpha_bar_t; it returns beta_t = 1 - alpha_bar_t / alpha_bar_{t-1}",
        "one_minus_alpha_bar": "beta_t is taken as 1 - alpha_bar_t; it is 1 - alpha_bar_t / alpha_bar_{t-1} "
        "(a ratio of consecutive steps)",
        "not_squared": "the cosine is not squared: f(t) = cos((t/T + s) / (1 + s) * pi/2)**2",
    },
    "q_sample": {
        "signal_no_sqrt": "x0 is scaled by alpha_bar_t; it is sqrt(alpha_bar_t) * x0",
        "noise_no_sqrt": "the noise is scaled by 1 - alpha_bar_t; it is sqrt(1 - alpha_bar_t) * noise "
        "(a standard deviation, not a variance)",
        "index_minus_one": "alphas_cumprod is indexed at t - 1; position t holds alpha_bar of step t (0-based)",
        "swapped": "x0 and noise are swapped: x_t = sqrt(alpha_bar_t) * x0 + sqrt(1 - alpha_bar_t) * noise",
    },
    "ddpm_loss": {
        "predicts_x0": "the model's output is compared with x0; it predicts the noise: "
        "mean((noise - model(x_t, t))**2)",
        "sum": "the loss is a sum; L_simple is the mean over every element (batch and dimensions)",
        "per_sample_sum": "the loss sums each sample's squared errors and averages over the batch; "
        "take the mean over every element",
        "model_sees_x0": "the model is called on x0; it gets x_t = q_sample(x0, t, noise, alphas_cumprod)",
        "no_square": "the loss is the mean absolute error; L_simple is the mean squared error",
    },
    "p_sample": {
        "beta": "the variance is beta_t; the contract's sigma_t^2 is the posterior variance "
        "beta_tilde_t = (1 - alpha_bar_{t-1}) / (1 - alpha_bar_t) * beta_t",
        "var_prev": "the posterior variance is of the wrong step (t - 1): use beta_tilde at position t",
        "clipped": "noise is added at t = 0 (the paper's t = 1): the last step returns the mean, z = 0 there",
        "roll": "noise is added at t = 0: alpha_bar_{t-1} at position 0 is 1 (prepend a 1; roll wraps "
        "alpha_bar_T around), and the last step returns the mean",
        "beta_noise_at_0": "the variance is beta_t and noise is added at t = 0: use beta_tilde_t, "
        "and return the mean at the last step",
        "coef_no_sqrt": "the noise coefficient misses the square root: it is beta_t / sqrt(1 - alpha_bar_t)",
        "abar_scale": "the mean divides by sqrt(alpha_bar_t); it divides by sqrt(alpha_t) = sqrt(1 - beta_t)",
        "eps_sign": "the predicted noise is added; it is subtracted: "
        "(x_t - beta_t / sqrt(1 - alpha_bar_t) * eps) / sqrt(alpha_t)",
        "var_as_std": "the noise is scaled by the variance; scale it by the standard deviation sqrt(beta_tilde_t)",
    },
}
DETACHED = (
    "the loss has no gradient for the model's parameters: return the tensor itself "
    "(no .item(), .detach() or torch.no_grad())"
)


def compare_named(what: str, want, got, variants: dict) -> float:
    """``compare``, and on a difference name the first known mistake ({message: output}) that matches ``got``."""
    try:
        return compare(what, want, got, ATOL, RTOL)
    except CheckFailed as fail:
        for hint, value in variants.items():
            if torch.is_tensor(got) and got.shape == value.shape and _close(value, got):
                fail.message += looks_like(hint)
                break
        raise


def _close(a, b) -> bool:
    a, b = a.detach().double().cpu(), b.detach().double().cpu()
    return bool(torch.all((a - b).abs() <= ATOL + RTOL * a.abs()))


def rule_schedule(what: str, T: int, want, got, variants: dict) -> float:
    """Rule on a schedule: a float64 tensor (T,) equal to ``want``, naming a matching mistake."""
    if torch.is_tensor(got) and got.ndim == 1 and len(got) in (T - 1, T + 1):
        raise CheckFailed(
            f"{what}: {len(got)} values for T={T}; looks like the schedule is off by one step "
            "(T betas, position i holds beta_{i+1})"
        )
    if torch.is_tensor(got) and got.shape == want.shape and got.dtype != torch.float64:
        raise CheckFailed(
            f"{what}: the schedule is {got.dtype}; make it torch.float64 (as Ho et al.'s code): "
            "in float32 a product of 1000 alphas and the cosine near pi/2 lose digits"
        )
    return compare_named(what, want, got, variants)


def rule_loss(what: str, want: tuple, got: dict, variants: dict, gradients: bool) -> float:
    """Rule on a loss: ``got = loss_outcome(...)`` against ``want = (loss, *grads)``; with ``gradients`` the
    gradients for the model's parameters must match too."""
    loss = got.get("loss")
    if not torch.is_tensor(loss) or loss.numel() != 1:
        kind = f"a tensor of shape {tuple(loss.shape)}" if torch.is_tensor(loss) else type(loss).__name__
        raise CheckFailed(
            f"{what}: the loss must be a 0-dim tensor, got {kind}"
            + looks_like(DETACHED if isinstance(loss, float) else "")
        )
    diff = compare_named(f"{what}: loss", want[0], loss.reshape(()), variants)
    if gradients:
        if got.get("grads") is None:
            raise CheckFailed(f"{what}: {DETACHED}")
        for name, w, g in zip(("w", "b"), want[1:], got["grads"]):
            diff = max(diff, compare(f"{what}: d loss / d model.{name}", w, g, ATOL, RTOL))
    return diff


def _stored_variants(fn: str, case: str) -> dict:
    table = {MISTAKES[fn][m]: expected("diffusion", C.key(case, m)) for m in MISTAKES[fn]}
    return {k: (v[0] if isinstance(v, tuple) else v) for k, v in table.items()}


# ---------------------------------------------------------------------------------------------
# Schedules
# ---------------------------------------------------------------------------------------------


def _schedules(fn: str, call, rows) -> float:
    diff = 0.0
    for args in rows:
        case = C.schedule_key(fn, args)
        where = f"{fn}_beta_schedule{args}"
        got = call(*args)
        diff = max(
            diff, rule_schedule(where, args[0], expected("diffusion", C.key(case)), got, _stored_variants(fn, case))
        )
    return diff


@run_check("linear beta schedule")
def check_linear_schedule(linear_beta_schedule, seed: int = 0):
    """Is the schedule T float64 betas evenly spaced from beta_start to beta_end, both included?"""
    rows = C.LINEAR_CASES[seed]
    return f"right for {len(rows)} schedules", _schedules("linear", linear_beta_schedule, rows)


@run_check("cosine beta schedule")
def check_cosine_schedule(cosine_beta_schedule, seed: int = 0):
    """With the default s = 0.008, is beta_t = min(1 - f(t/T) / f((t-1)/T), 0.999) (Nichol & Dhariwal)?"""
    rows = C.COSINE_CASES[seed]
    call = (lambda T, s: cosine_beta_schedule(T)) if seed == 0 else cosine_beta_schedule
    return f"right for {len(rows)} schedules", _schedules("cosine", call, rows)


@run_check("cosine beta schedule, offset s")
def check_cosine_offset(cosine_beta_schedule):
    """Is the offset argument s used (s = 0.02 and 0.1)?"""
    rows = C.COSINE_CASES["s"]
    return "right for s = 0.02 and s = 0.1", _schedules("cosine", cosine_beta_schedule, rows)


# ---------------------------------------------------------------------------------------------
# q_sample, ddpm_loss, p_sample_step
# ---------------------------------------------------------------------------------------------


def unchanged(what: str, before, after) -> None:
    """CheckFailed when the student's function changed one of its inputs in place."""
    if not torch.equal(before, after):
        raise CheckFailed(f"{what} was changed in place: compute new tensors instead")


def describe(x, t) -> str:
    """A batch described for a message: the shape of x and the steps t."""
    return f"x of shape {tuple(x.shape)}, t = {t.tolist()}"


@run_check("q_sample")
def check_q_sample(q_sample, seed: int = 0):
    """Is x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) noise, per sample, for 0-based positions t?"""
    diff = 0.0
    for i in range(len(C.SHAPES)):
        x0, t, noise, ab = C.tensor_case("q_sample", seed, i)
        case = C.tensor_key("q_sample", seed, i)
        got = q_sample(x0.clone(), t.clone(), noise.clone(), ab.clone())
        want = expected("diffusion", C.key(case))
        diff = max(diff, compare_named(f"q_sample ({describe(x0, t)})", want, got, _stored_variants("q_sample", case)))
    return f"right on {len(C.SHAPES)} batches", diff


def _ddpm_loss(ddpm_loss, seed: int, gradients: bool) -> float:
    diff = 0.0
    for i in range(len(C.SHAPES)):
        model, x0, t, noise, ab = C.tensor_case("ddpm_loss", seed, i)
        case = C.tensor_key("ddpm_loss", seed, i)
        got = C.loss_outcome(model, ddpm_loss(model, x0.clone(), t.clone(), noise.clone(), ab.clone()))
        want = expected("diffusion", C.key(case))
        variants = _stored_variants("ddpm_loss", case)
        diff = max(diff, rule_loss(f"ddpm_loss ({describe(x0, t)})", want, got, variants, gradients))
    return diff


@run_check("ddpm_loss")
def check_ddpm_loss(ddpm_loss, seed: int = 0):
    """Is the loss the mean over every element of (noise - model(x_t, t))**2 (Ho et al.'s L_simple)?"""
    return f"right on {len(C.SHAPES)} batches", _ddpm_loss(ddpm_loss, seed, gradients=False)


@run_check("ddpm_loss gradient")
def check_ddpm_loss_gradient(ddpm_loss):
    """Does the loss keep its graph, so that its gradients for the model's parameters are right?"""
    return f"loss and gradients right on {len(C.SHAPES)} batches", _ddpm_loss(ddpm_loss, 0, gradients=True)


def _p_sample(p_sample_step, seed: int, kind: str) -> float:
    diff = 0.0
    for i in range(len(C.SHAPES)):
        model, x_t, t, noise, betas = C.tensor_case("p_sample", seed, i, kind)
        case = C.tensor_key("p_sample", seed, i, kind)
        x_in = x_t.clone()
        got = p_sample_step(model, x_in, t.clone(), noise.clone(), betas.clone())
        unchanged("x_t", x_t, x_in)
        want = expected("diffusion", C.key(case))
        where = f"p_sample_step ({describe(x_t, t)}{', noise = 0' if kind == 'mean' else ''})"
        diff = max(diff, compare_named(where, want, got, _stored_variants("p_sample", case)))
    return diff


@run_check("p_sample_step: mean")
def check_p_sample_mean(p_sample_step):
    """With noise = 0, is x_{t-1} the mean (x_t - beta_t / sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_t) (Eq. 11)?"""
    return "the mean is right on 3 batches (t >= 1)", _p_sample(p_sample_step, 0, "mean")


@run_check("p_sample_step: variance")
def check_p_sample_variance(p_sample_step):
    """For t >= 1, is the noise scaled by sqrt(beta_tilde_t), the posterior standard deviation (Eq. 7)?"""
    return "mean and noise right on 3 batches (t >= 1)", _p_sample(p_sample_step, 0, "variance")


@run_check("p_sample_step: last step")
def check_p_sample_last_step(p_sample_step):
    """At t = 0 (the paper's t = 1), is no noise added, and are mixed batches right per sample?"""
    diff = _p_sample(p_sample_step, 0, "last")
    return "no noise at t = 0; mixed batches right", max(diff, _p_sample(p_sample_step, 0, "mixed"))


@run_check("p_sample_step")
def check_p_sample_step(p_sample_step, seed: int = 1):
    """Is the reverse step right on other batches mixing t = 0 and later steps?"""
    return "right on 3 mixed batches", _p_sample(p_sample_step, seed, "mixed")
