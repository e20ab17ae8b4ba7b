"""Inputs of the 10_diffusion checks: the stand-in noise model, seeded schedules and batches, the stored cases.

The checks hand the student's functions a fixed, tiny stand-in for the network eps_theta(x_t, t) (it
depends on both arguments, so calling it with x0 or the wrong t shows), random increasing schedules
(not the course's schedules: those are what the student writes) and batches whose steps ``t`` are
0-based positions. ``cases()`` names every input the self-checks use; their expected outputs are stored
in ``checks/expected/diffusion.pt``. No answer to the exercise is here.
"""

from __future__ import annotations

import torch
from torch import nn


def column(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Per-sample ``values`` (B,) shaped (B, 1, ..., 1) to broadcast against ``like`` (B, ...)."""
    return values.reshape(-1, *([1] * (like.ndim - 1)))


class TinyEps(nn.Module):
    """eps_theta(x, t) = tanh(w * x + b[t]) with parameters ``w`` (the shape of one sample) and ``b`` (T,)."""

    def __init__(self, w: torch.Tensor, b: torch.Tensor):
        super().__init__()
        self.w = nn.Parameter(w.detach().clone())
        self.b = nn.Parameter(b.detach().clone())

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.w * x + column(self.b[t], x))  # (B, ...)


def random_betas(gen: torch.Generator, T: int, low: float = 1e-4, high: float = 0.05) -> torch.Tensor:
    """T increasing betas drawn uniformly in (low, high), float64: a schedule that is neither linear nor cosine."""
    return (low + (high - low) * torch.rand(T, generator=gen, dtype=torch.float64)).sort().values


def random_model(gen: torch.Generator, sample_shape: tuple, T: int) -> TinyEps:
    """A TinyEps with weights drawn from ``gen`` (float64)."""
    w = 0.5 + torch.rand(sample_shape, generator=gen, dtype=torch.float64)
    return TinyEps(w, torch.randn(T, generator=gen, dtype=torch.float64))


def batch(gen: torch.Generator, shape: tuple, T: int, t_low: int = 0, t_high: int | None = None):
    """(x, t, noise): x and noise (B, ...) float64, t (B,) int64 positions in [t_low, t_high)."""
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    t = torch.randint(t_low, T if t_high is None else t_high, (shape[0],), generator=gen)
    return x, t, torch.randn(shape, generator=gen, dtype=torch.float64)


# ---------------------------------------------------------------------------------------------
# The self-checks' cases: {key: (function, make_args)}; make_args() builds fresh inputs each call
# ---------------------------------------------------------------------------------------------

LINEAR_CASES = {0: ((10, 1e-4, 0.02), (1000, 1e-4, 0.02), (7, 1e-3, 0.05)), 1: ((25, 5e-4, 0.03), (3, 0.01, 0.2))}
COSINE_CASES = {
    0: ((10, 0.008), (1000, 0.008), (50, 0.008)),
    1: ((100, 0.008), (7, 0.05)),
    "s": ((20, 0.02), (16, 0.1)),
}
SHAPES = ((4, 2), (5, 3, 4, 4), (1, 6))  # batches: 2-D points, small images, a batch of one
STEPS = (30, 100, 12)  # T of each shape's schedule
# p_sample kinds: noise (zero: only the mean counts) and the steps (t >= 1, all 0, or any)
P_KINDS = {"mean": (True, 1, None), "variance": (False, 1, None), "last": (False, 0, 1), "mixed": (False, 0, None)}


def key(case: str, mistake: str = "") -> str:
    """The key of a stored output: the case and the mistake ('right' for the reference)."""
    return f"{case}/{mistake or 'right'}"


def tensor_case(fn: str, seed: int, i: int, kind: str = "mixed"):
    """The inputs of case ``i`` of ``fn`` ('q_sample', 'ddpm_loss', 'p_sample') for ``seed``."""
    gen = torch.Generator().manual_seed(1000 * seed + 10 * i + list(P_KINDS).index(kind))
    shape, T = SHAPES[i], STEPS[i]
    betas = random_betas(gen, T)
    if fn == "q_sample":
        return (*batch(gen, shape, T), torch.cumprod(1 - betas, dim=0))
    model = random_model(gen, shape[1:], T)
    if fn == "ddpm_loss":
        return (model, *batch(gen, shape, T), torch.cumprod(1 - betas, dim=0))
    zero_noise, t_low, t_high = P_KINDS[kind]
    x_t, t, noise = batch(gen, shape, T, t_low, t_high)
    if kind == "mixed":
        t[0] = 0  # every mixed batch holds the last step and (for B > 1) others
    return model, x_t, t, torch.zeros_like(noise) if zero_noise else noise, betas


def schedule_key(fn: str, args: tuple) -> str:
    """The case of a schedule: ('linear', (T, beta_start, beta_end)) or ('cosine', (T, s))."""
    names = ("T", "start", "end") if fn == "linear" else ("T", "s")
    return fn + "".join(f"/{n}={v:g}" for n, v in zip(names, args))


def tensor_key(fn: str, seed: int, i: int, kind: str = "mixed") -> str:
    return f"{fn}/{kind}/seed={seed}/case={i}"


def cases() -> dict:
    """Every stored case: {key: (function, make_args)}."""
    out = {}
    for fn, table in (("linear", LINEAR_CASES), ("cosine", COSINE_CASES)):
        for rows in table.values():
            for args in rows:
                out[schedule_key(fn, args)] = (fn, lambda a=args: a)
    for seed in (0, 1):
        for i in range(len(SHAPES)):
            for fn in ("q_sample", "ddpm_loss"):
                out[tensor_key(fn, seed, i)] = (fn, lambda f=fn, s=seed, j=i: tensor_case(f, s, j))
            for kind in P_KINDS if seed == 0 else ("mixed",):
                out[tensor_key("p_sample", seed, i, kind)] = (
                    "p_sample",
                    lambda s=seed, j=i, k=kind: tensor_case("p_sample", s, j, k),
                )
    return out


def loss_outcome(model: nn.Module, loss) -> dict:
    """What a loss of ``model`` gives: the value and, when it is a tensor with a graph, d loss / d parameters."""
    out = {"loss": loss.detach().clone() if torch.is_tensor(loss) else loss, "grads": None}
    if torch.is_tensor(loss) and loss.requires_grad and loss.numel() == 1:
        grads = torch.autograd.grad(loss.sum(), list(model.parameters()), allow_unused=True)
        out["grads"] = tuple(
            torch.zeros_like(p) if g is None else g.detach() for g, p in zip(grads, model.parameters())
        )
    return out
