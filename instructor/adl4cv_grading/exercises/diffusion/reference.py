"""Reference answers of 10_diffusion (schedules, q_sample, ddpm_loss, p_sample_step) with known mistakes.

Instructor only, never published: these ARE the answers. Positions are 0-based: position ``i`` of a
schedule holds the paper's step ``i + 1`` (Ho et al. 2020 count ``t = 1 .. T``). ``mistake`` switches on
one known mistake (the keys of ``adl4cv_utils.checks.diffusion.MISTAKES``); ``expected_values()`` runs
everything on the self-checks' cases for ``checks/expected/diffusion.pt``.
"""

from __future__ import annotations

import math

import torch

from adl4cv_utils.checks.diffusion import common as C


def reference_linear(T, beta_start=1e-4, beta_end=0.02, mistake: str = "") -> torch.Tensor:
    """beta_1 .. beta_T evenly spaced from beta_start to beta_end, both included (Ho et al. 2020, Sec. 4)."""
    if mistake == "hard_coded":
        beta_start, beta_end = 1e-4, 0.02
    if mistake == "swapped":
        beta_start, beta_end = beta_end, beta_start
    if mistake == "skip_first":
        return torch.linspace(beta_start, beta_end, T + 1, dtype=torch.float64)[1:]
    if mistake == "skip_last":
        return torch.linspace(beta_start, beta_end, T + 1, dtype=torch.float64)[:-1]
    return torch.linspace(beta_start, beta_end, T, dtype=torch.float64)


def reference_cosine(T, s=0.008, mistake: str = "") -> torch.Tensor:
    """beta_t = min(1 - f(t/T) / f((t-1)/T), 0.999), f(u) = cos((u + s)/(1 + s) pi/2)^2 (Nichol & Dhariwal 2021)."""
    s = {"no_offset": 0.0, "hard_coded_s": 0.008}.get(mistake, s)
    u = torch.arange(T + 1, dtype=torch.float64) / T  # t / T for t = 0 .. T
    f = torch.cos((u + s) / (1 + s) * math.pi / 2) ** (1 if mistake == "not_squared" else 2)
    if mistake == "alpha_bar":
        return f[1:] / f[0]
    betas = 1 - f[1:] / (f[0] if mistake == "one_minus_alpha_bar" else f[:-1])
    return betas if mistake == "no_clip" else betas.clamp(max=0.999)


def reference_q_sample(x0, t, noise, alphas_cumprod, mistake: str = "") -> torch.Tensor:
    """x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) noise (Ho et al. 2020, Eq. 4)."""
    ab = C.column(alphas_cumprod[t - 1 if mistake == "index_minus_one" else t], x0)  # (B, 1, ..., 1)
    signal = ab if mistake == "signal_no_sqrt" else ab.sqrt()
    spread = (1 - ab) if mistake == "noise_no_sqrt" else (1 - ab).sqrt()
    if mistake == "swapped":
        return signal * noise + spread * x0
    return signal * x0 + spread * noise


def reference_ddpm_loss(model, x0, t, noise, alphas_cumprod, mistake: str = "") -> torch.Tensor:
    """L_simple = mean of (noise - eps_theta(x_t, t))^2 over every element (Ho et al. 2020, Eq. 14)."""
    x_t = reference_q_sample(x0, t, noise, alphas_cumprod)
    pred = model(x0 if mistake == "model_sees_x0" else x_t, t)
    target = x0 if mistake == "predicts_x0" else noise
    err = (target - pred).abs() if mistake == "no_square" else (target - pred) ** 2
    if mistake == "sum":
        return err.sum()
    if mistake == "per_sample_sum":
        return err.reshape(len(x0), -1).sum(dim=1).mean()
    return err.mean()


def posterior_variance(betas, mistake: str = "") -> torch.Tensor:
    """beta_tilde_t = (1 - abar_{t-1}) / (1 - abar_t) beta_t with abar_0 = 1 (Ho et al. 2020, Eq. 7)."""
    ab = torch.cumprod(1 - betas, dim=0)
    ab_prev = ab.roll(1) if mistake == "roll" else torch.cat([ab.new_ones(1), ab[:-1]])
    var = (1 - ab_prev) / (1 - ab) * betas
    if mistake == "clipped":  # Ho et al.'s code clips log(var) at position 0 to var at position 1
        var = torch.cat([var[1:2], var[1:]])
    return var


def reference_p_sample_step(model, x_t, t, noise, betas, mistake: str = "") -> torch.Tensor:
    """x_{t-1} = (x_t - beta_t / sqrt(1 - abar_t) eps) / sqrt(alpha_t) + sqrt(beta_tilde_t) z, z = 0 at the
    paper's t = 1 (position 0) (Ho et al. 2020, Eqs. 7 and 11, Algorithm 2)."""
    alphas = 1 - betas
    ab = torch.cumprod(alphas, dim=0)
    eps = model(x_t, t)
    spread = (1 - ab) if mistake == "coef_no_sqrt" else (1 - ab).sqrt()
    scale = (ab if mistake == "abar_scale" else alphas).sqrt()
    sign = 1.0 if mistake == "eps_sign" else -1.0
    mean = (x_t + sign * C.column((betas / spread)[t], x_t) * eps) / C.column(scale[t], x_t)
    if mistake in ("beta", "beta_noise_at_0"):
        var = betas
    else:
        var = posterior_variance(betas, mistake)
    var_t = C.column(var[t - 1 if mistake == "var_prev" else t], x_t)
    std = var_t if mistake == "var_as_std" else var_t.sqrt()
    noisy = t >= 0 if mistake in ("roll", "clipped", "beta_noise_at_0") else t > 0
    return mean + C.column(noisy.to(x_t.dtype), x_t) * std * noise


REFERENCES = {
    "linear": reference_linear,
    "cosine": reference_cosine,
    "q_sample": reference_q_sample,
    "ddpm_loss": reference_ddpm_loss,
    "p_sample": reference_p_sample_step,
}


def loss_and_grads(model, loss) -> tuple:
    """(loss, d loss / d w, d loss / d b) of a loss of the stand-in model: what the loss checks compare."""
    return (loss.detach(), *(g.detach() for g in torch.autograd.grad(loss, list(model.parameters()))))


def expected_values() -> dict:
    """The table of ``checks/expected/diffusion.pt``: every stored case of the 10 self-checks."""
    from adl4cv_utils.checks.diffusion import MISTAKES

    table = {}
    for key, (fn, make_args) in C.cases().items():
        for mistake in ("", *MISTAKES[fn]):
            args = make_args()
            out = REFERENCES[fn](*args, mistake=mistake)
            table[C.key(key, mistake)] = loss_and_grads(args[0], out) if fn == "ddpm_loss" else out
    return table
