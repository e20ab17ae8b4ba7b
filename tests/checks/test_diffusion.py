"""Do the 10_diffusion self-checks pass the reference and valid variants, and name each deliberate mistake?

Every wrong implementation is the solution notebook's answer cell with one known mistake edited in
(``MUTANTS``: the same table drives tests/judge/test_diffusion.py), so the mistakes are independent of
the instructor's reference that stored the expected values.
"""

from __future__ import annotations

import math
import time

import pytest
import torch

from adl4cv_grading.exercises.diffusion import reference as R
from adl4cv_utils.checks import diffusion as D
from adl4cv_utils.checks.diffusion import common as C
from adl4cv_utils.checks.fixtures import expected
from tests.judge.harness import edit, solution_cell

A = "10_diffusion"
# answer cell -> its self-checks (the last one is the hidden test's call)
CHECKS = {
    "linear_beta_schedule": ("check_linear_schedule", "check_linear_schedule_hidden"),
    "cosine_beta_schedule": ("check_cosine_schedule", "check_cosine_offset", "check_cosine_schedule_hidden"),
    "q_sample": ("check_q_sample", "check_q_sample_hidden"),
    "ddpm_loss": ("check_ddpm_loss", "check_ddpm_loss_gradient", "check_ddpm_loss_hidden"),
    "p_sample_step": (
        "check_p_sample_mean",
        "check_p_sample_variance",
        "check_p_sample_last_step",
        "check_p_sample_step",
    ),
}
HIDDEN_SEED = {
    name: name.removesuffix("_hidden") for cells in CHECKS.values() for name in cells if name.endswith("_hidden")
}


def run(check: str, fn):
    """The CheckResult of self-check ``check`` (a ``*_hidden`` name: the hidden test's call with seed=1)."""
    if check in HIDDEN_SEED:
        return getattr(D, HIDDEN_SEED[check])(fn, seed=1)
    return getattr(D, check)(fn)


def load(cell: str, source: str | None = None):
    """The function that answer cell ``cell`` defines (``source``: an edited version of the reference cell)."""
    namespace = {"torch": torch, "math": math}
    exec(source or solution_cell(A, cell), namespace)  # noqa: S102 - our own reference cells, edited
    if cell == "ddpm_loss":  # a variant may call the student's own q_sample
        exec(solution_cell(A, "q_sample"), namespace)  # noqa: S102
    return namespace[cell]


P_VAR = "var = (1 - alphas_cumprod_prev[t].reshape(shape)) / (1 - ab_t) * beta_t"
NO_MASK = ("nonzero * var.sqrt()", "var.sqrt()")
LINSPACE = "torch.linspace(beta_start, beta_end, T, dtype=torch.float64)"
CLAMP = "return betas.clamp(max=0.999)"
F_OF_U = "(u + s) / (1 + s)"
# name: (answer cell, (old, new) edits, {self-check: text its message must hold, or None: it may pass})
MUTANTS = {
    "linear off by one (skips beta_start)": ("linear_beta_schedule",
                                             ((LINSPACE, LINSPACE.replace("T,", "T + 1,") + "[1:]"),),
                                             dict.fromkeys(CHECKS["linear_beta_schedule"], "off by one step")),
    "linear off by one (stops before beta_end)": ("linear_beta_schedule",
                                                  ((LINSPACE, LINSPACE.replace("T,", "T + 1,") + "[:-1]"),),
                                                  dict.fromkeys(CHECKS["linear_beta_schedule"], "off by one step")),
    "linear with T - 1 points": ("linear_beta_schedule", ((LINSPACE, LINSPACE.replace("T,", "T - 1,")),),
                                 dict.fromkeys(CHECKS["linear_beta_schedule"], "off by one step")),
    "linear endpoints swapped": ("linear_beta_schedule", (("(beta_start, beta_end,", "(beta_end, beta_start,"),),
                                 dict.fromkeys(CHECKS["linear_beta_schedule"], "endpoints are swapped")),
    "linear endpoints hard-coded": ("linear_beta_schedule", (("(beta_start, beta_end,", "(1e-4, 0.02,"),),
                                    dict.fromkeys(CHECKS["linear_beta_schedule"], "hard-coded")),
    "linear in float32": ("linear_beta_schedule", (("torch.float64", "torch.float32"),),
                          dict.fromkeys(CHECKS["linear_beta_schedule"], "torch.float64")),
    "cosine without clipping": ("cosine_beta_schedule", ((CLAMP, "return betas"),),
                                dict.fromkeys(CHECKS["cosine_beta_schedule"], "not clipped")),
    "cosine without the offset s": ("cosine_beta_schedule", ((F_OF_U, "u"),),
                                    dict.fromkeys(CHECKS["cosine_beta_schedule"], "offset s is missing")),
    "cosine with s hard-coded": ("cosine_beta_schedule", ((F_OF_U, "(u + 0.008) / 1.008"),),
                                 {"check_cosine_offset": "hard-coded", "check_cosine_schedule_hidden": "hard-coded"}),
    "cosine returning alpha_bar": ("cosine_beta_schedule", ((CLAMP, "return f[1:] / f[0]"),),
                                   dict.fromkeys(CHECKS["cosine_beta_schedule"], "returns alpha_bar_t")),
    "cosine beta = 1 - alpha_bar": ("cosine_beta_schedule", (("1 - f[1:] / f[:-1]", "1 - f[1:] / f[0]"),),
                                    dict.fromkeys(CHECKS["cosine_beta_schedule"], "taken as 1 - alpha_bar_t")),
    "cosine not squared": ("cosine_beta_schedule", (("math.pi / 2) ** 2", "math.pi / 2)"),),
                           dict.fromkeys(CHECKS["cosine_beta_schedule"], "not squared")),
    "cosine in float32": ("cosine_beta_schedule", (("torch.float64", "torch.float32"),),
                          dict.fromkeys(CHECKS["cosine_beta_schedule"], "torch.float64")),
    "q_sample alpha_bar instead of its sqrt": ("q_sample", (("ab.sqrt() * x0", "ab * x0"),),
                                               dict.fromkeys(CHECKS["q_sample"], "scaled by alpha_bar_t")),
    "q_sample 1 - alpha_bar instead of its sqrt": ("q_sample", (("(1 - ab).sqrt() * noise", "(1 - ab) * noise"),),
                                                   dict.fromkeys(CHECKS["q_sample"], "a standard deviation")),
    "q_sample indexed at t - 1": ("q_sample", (("alphas_cumprod[t]", "alphas_cumprod[t - 1]"),),
                                  dict.fromkeys(CHECKS["q_sample"], "indexed at t - 1")),
    "q_sample x0 and noise swapped": ("q_sample",
                                      (("* x0 + (1 - ab).sqrt() * noise", "* noise + (1 - ab).sqrt() * x0"),),
                                      dict.fromkeys(CHECKS["q_sample"], "swapped")),
    "loss predicting x0": ("ddpm_loss", (("(noise - model(x_t, t))", "(x0 - model(x_t, t))"),),
                           dict.fromkeys(CHECKS["ddpm_loss"], "compared with x0")),
    "loss summed": ("ddpm_loss", ((").mean()", ").sum()"),), dict.fromkeys(CHECKS["ddpm_loss"], "is a sum")),
    "loss summed per sample": ("ddpm_loss", ((").mean()", ").flatten(1).sum(1).mean()"),),
                               dict.fromkeys(CHECKS["ddpm_loss"], "sums each sample")),
    "loss on x0": ("ddpm_loss", (("model(x_t, t)", "model(x0, t)"),),
                   dict.fromkeys(CHECKS["ddpm_loss"], "called on x0")),
    "loss absolute error": ("ddpm_loss",
                            (("((noise - model(x_t, t)) ** 2).mean()", "(noise - model(x_t, t)).abs().mean()"),),
                            dict.fromkeys(CHECKS["ddpm_loss"], "mean absolute error")),
    "loss detached": ("ddpm_loss", ((").mean()", ").mean().detach()"),), {"check_ddpm_loss_gradient": "no gradient"}),
    "loss as a python float": ("ddpm_loss", ((").mean()", ").mean().item()"),),
                               dict.fromkeys(CHECKS["ddpm_loss"], "0-dim tensor, got float")),
    "step with sigma^2 = beta_t": ("p_sample_step", ((P_VAR, "var = beta_t"),),
                                   {"check_p_sample_variance": "the variance is beta_t",
                                    "check_p_sample_last_step": "the variance is beta_t",
                                    "check_p_sample_step": "the variance is beta_t"}),
    "step with the variance of step t - 1": ("p_sample_step", (
        (P_VAR, "var = ((1 - alphas_cumprod_prev) / (1 - alphas_cumprod) * betas)[t - 1].reshape(shape)"),),
        dict.fromkeys(CHECKS["p_sample_step"][1:], "wrong step")),
    "step with noise at t = 0 (roll)": ("p_sample_step", (
        ("torch.cat([alphas_cumprod.new_ones(1), alphas_cumprod[:-1]])", "alphas_cumprod.roll(1)"), NO_MASK),
        dict.fromkeys(CHECKS["p_sample_step"][2:], "noise is added at t = 0")),
    "step with noise at t = 0 (clipped log-variance)": ("p_sample_step", (
        (P_VAR, P_VAR + "\n    var = torch.where(t.reshape(shape) == 0, "
         "(1 - alphas_cumprod[0]) / (1 - alphas_cumprod[1]) * betas[1], var)"), NO_MASK),
        dict.fromkeys(CHECKS["p_sample_step"][2:], "noise is added at t = 0")),
    "step with sigma^2 = beta_t and noise at t = 0": ("p_sample_step", ((P_VAR, "var = beta_t"), NO_MASK),
                                                      {"check_p_sample_variance": "the variance is beta_t",
                                                       "check_p_sample_last_step": "noise is added at t = 0",
                                                       "check_p_sample_step": "variance is beta_t"}),
    "step coefficient without the sqrt": ("p_sample_step", (("beta_t / (1 - ab_t).sqrt()", "beta_t / (1 - ab_t)"),),
                                          dict.fromkeys(CHECKS["p_sample_step"], "misses the square root")),
    "step divided by sqrt(alpha_bar)": ("p_sample_step", (("/ alpha_t.sqrt()", "/ ab_t.sqrt()"),),
                                        dict.fromkeys(CHECKS["p_sample_step"], "divides by sqrt(alpha_bar_t)")),
    "step adding the predicted noise": ("p_sample_step", (("(x_t - beta_t", "(x_t + beta_t"),),
                                        dict.fromkeys(CHECKS["p_sample_step"], "predicted noise is added")),
    "step scaling the noise by the variance": ("p_sample_step", (("var.sqrt() * noise", "var * noise"),),
                                               dict.fromkeys(CHECKS["p_sample_step"][1:], "scaled by the variance")),
}  # fmt: skip

VARIANTS = {  # valid answers written differently: every self-check passes
    "linear_beta_schedule": """def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):
    steps = torch.arange(T, dtype=torch.float64) / (T - 1)
    return beta_start + (beta_end - beta_start) * steps
""",
    "cosine_beta_schedule": """def cosine_beta_schedule(T, s=0.008):
    steps = torch.linspace(0, T, T + 1, dtype=torch.float64)
    alphas_cumprod = torch.cos(((steps / T) + s) / (1 + s) * math.pi * 0.5) ** 2
    alphas_cumprod = alphas_cumprod / alphas_cumprod[0]
    betas = 1 - (alphas_cumprod[1:] / alphas_cumprod[:-1])
    return torch.clip(betas, 0, 0.999)
""",
    "q_sample": """def q_sample(x0, t, noise, alphas_cumprod):
    scale, spread = alphas_cumprod.sqrt()[t], (1 - alphas_cumprod).sqrt()[t]
    while scale.ndim < x0.ndim:
        scale, spread = scale[..., None], spread[..., None]
    return scale * x0 + spread * noise
""",
    "ddpm_loss": """def ddpm_loss(model, x0, t, noise, alphas_cumprod):
    x_t = q_sample(x0, t, noise, alphas_cumprod)
    return (noise - model(x_t, t)).pow(2).mean()
""",
    "p_sample_step": """def p_sample_step(model, x_t, t, noise, betas):
    alphas = 1 - betas
    ab = torch.cumprod(alphas, 0)
    ab_prev = torch.nn.functional.pad(ab[:-1], (1, 0), value=1.0)

    def at(v):
        return v[t].view(-1, *[1] * (x_t.ndim - 1))

    eps = model(x_t, t)
    x0_hat = (x_t - at((1 - ab).sqrt()) * eps) / at(ab.sqrt())  # then the posterior mean of Eq. 7
    mean = at(ab_prev.sqrt() * betas / (1 - ab)) * x0_hat + at(alphas.sqrt() * (1 - ab_prev) / (1 - ab)) * x_t
    std = at((betas * (1 - ab_prev) / (1 - ab)).sqrt())
    return torch.where((t > 0).view(-1, *[1] * (x_t.ndim - 1)), mean + std * noise, mean)
""",
}
BROKEN = {  # raising or mistyped code: a failed result with this text, not a crash
    "linear_beta_schedule": ("def linear_beta_schedule(T, beta_start=1e-4, beta_end=0.02):\n"
                             "    return [beta_start] * T\n",
                             "expected a tensor"),
    "cosine_beta_schedule": ("def cosine_beta_schedule(T, s=0.008):\n    raise ValueError('boom')\n",
                             "raised ValueError"),
    "q_sample": ("def q_sample(x0, t, noise, alphas_cumprod):\n    ab = alphas_cumprod[t]\n"
                 "    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise\n", "raised RuntimeError"),
    "ddpm_loss": ("def ddpm_loss(model, x0, t, noise, alphas_cumprod):\n    return (noise - model(x0, t)) ** 2\n",
                  "must be a 0-dim tensor"),
    "p_sample_step": ("def p_sample_step(model, x_t, t, noise, betas):\n    return x_t, betas\n", "expected a tensor"),
}  # fmt: skip


@pytest.mark.parametrize("cell", list(CHECKS))
def test_reference_passes(cell):
    """Does the notebook's reference pass every self-check of its answer cell, each well under 2 s?"""
    fn = load(cell)
    for check in CHECKS[cell]:
        start = time.perf_counter()
        result = run(check, fn)
        assert result.passed, result.summary()
        assert time.perf_counter() - start < 2.0, check


@pytest.mark.parametrize("cell", list(VARIANTS))
def test_valid_variants_pass(cell):
    """Does a valid answer written differently (another formulation) pass every self-check?"""
    fn = load(cell, VARIANTS[cell])
    for check in CHECKS[cell]:
        assert run(check, fn).passed, run(check, fn).summary()


@pytest.mark.parametrize("name", list(MUTANTS))
def test_mutants_fail_naming_the_mistake(name):
    """Does each known mistake fail the self-checks that test it, with a message naming it, and pass the others?"""
    cell, edits, failing = MUTANTS[name]
    fn = load(cell, edit(solution_cell(A, cell), *edits))
    for check in CHECKS[cell]:
        result = run(check, fn)
        if check not in failing:
            assert result.passed, f"{name}: {check} should pass: {result.summary()}"
        elif failing[check] is not None:
            assert not result.passed, f"{name}: {check} passed"
            assert failing[check] in result.message, f"{name}: {check}: {result.message}"


def test_at_least_ten_mutants_per_exercise():
    """Are there at least ten known-wrong implementations, and does every MISTAKES entry have a mutant?"""
    assert len(MUTANTS) >= 10
    hints = {hint for table in D.MISTAKES.values() for hint in table.values()}
    cells = {cell for cell, _, _ in MUTANTS.values()}
    assert cells == set(CHECKS) and len(hints) >= 25


@pytest.mark.parametrize("cell", list(BROKEN))
def test_broken_code_gives_a_failed_result(cell):
    """Does code that raises or returns the wrong type or shape give a failed result naming it (no crash)?"""
    source, text = BROKEN[cell]
    result = run(CHECKS[cell][0], load(cell, source))
    assert not result.passed and text in result.message, result.summary()


def test_stored_values_match_the_reference():
    """Are the stored expected values exactly what the instructor's reference computes now?"""
    table = R.expected_values()
    for key, value in table.items():
        stored = expected("diffusion", key)
        pairs = zip(value, stored) if isinstance(value, tuple) else [(value, stored)]
        for a, b in pairs:
            assert torch.equal(a, b), key


def test_stored_mistakes_differ_from_the_answer():
    """Does every stored mistake differ from the right answer on at least one case of its function (no dead hint)?"""
    for fn, table in D.MISTAKES.items():
        keys = [k for k, (f, _) in C.cases().items() if f == fn]
        for mistake in table:

            def first(v):
                return v[0] if isinstance(v, tuple) else v

            outs = [
                (first(expected("diffusion", C.key(k))), first(expected("diffusion", C.key(k, mistake)))) for k in keys
            ]
            assert any(a.shape != b.shape or not torch.allclose(a, b, atol=1e-6) for a, b in outs), (fn, mistake)


def test_checks_leave_the_global_rng_alone():
    """Does a self-check leave torch's global random state as it found it?"""
    torch.manual_seed(3)
    before = torch.get_rng_state()
    run("check_p_sample_step", load("p_sample_step"))
    assert torch.equal(before, torch.get_rng_state())
