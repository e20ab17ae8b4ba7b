"""Known mistakes of SGD with momentum, RMSProp and Adam, and how to recognise them (exercise 02_optimizers).

Each mistake is a functional update ``(param, grad, state, hyper, t) -> param``; a trajectory that
matches one names it. The right updates are torch's own optimizers (``optimizers.py``): these
simulators refuse an empty mistake, so nothing here is an answer.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

ATOL, RTOL = 1e-10, 1e-8  # float64 runs: only real mistakes exceed this


# ---------------------------------------------------------------------------------------------
# Known mistakes: one functional update per variant, (param, grad, state, hyper, t) -> param.
# t counts steps from 1. Each returns the new parameter and mutates ``state``.
# ---------------------------------------------------------------------------------------------


def _sgd(variant: str):
    if not variant:
        raise ValueError("variant: expected a known mistake (the reference is torch's own optimizer)")

    def step(p, g, s, h, t):
        lr, m = h["lr"], h["momentum"]
        v_old = s.get("v", torch.zeros_like(p))
        if variant == "ema":
            v = m * v_old + (1 - m) * g
        elif variant == "no_state":
            v = g
        elif variant == "no_momentum":
            v = g
        else:
            v = m * v_old + g
        s["v"] = v
        if variant == "sign":
            return p + lr * v
        if variant == "nesterov":
            return p - lr * (g + m * v)
        if variant == "old_velocity":
            return p - lr * v_old
        return p - lr * v

    return step


def _rmsprop(variant: str):
    if not variant:
        raise ValueError("variant: expected a known mistake (the reference is torch's own optimizer)")

    def step(p, g, s, h, t):
        lr, b, eps = h["lr"], h["beta"], h["eps"]
        s_old = s.get("s", torch.zeros_like(p))
        if variant == "no_one_minus":
            sq = b * s_old + g * g
        elif variant == "no_state":
            sq = (1 - b) * g * g
        elif variant == "swapped":
            sq = (1 - b) * s_old + b * g * g
        else:
            sq = b * s_old + (1 - b) * g * g
        s["s"] = sq
        if variant == "bias_corrected":
            sq = sq / (1 - b**t)
        if variant == "eps_in_sqrt":
            return p - lr * g / torch.sqrt(sq + eps)
        if variant == "no_sqrt":
            return p - lr * g / (sq + eps)
        if variant == "sign":
            return p + lr * g / (torch.sqrt(sq) + eps)
        return p - lr * g / (torch.sqrt(sq) + eps)

    return step


def _adam(variant: str):
    if not variant:
        raise ValueError("variant: expected a known mistake (the reference is torch's own optimizer)")

    def step(p, g, s, h, t):
        lr, (b1, b2), eps = h["lr"], h["betas"], h["eps"]
        if variant == "betas_swapped":
            b1, b2 = b2, b1
        m_old, v_old = s.get("m", torch.zeros_like(p)), s.get("v", torch.zeros_like(p))
        m = b1 * m_old + (g if variant == "no_one_minus" else (1 - b1) * g)
        v = b2 * v_old + (1 - b2) * g * g
        tt = t + 1 if variant == "t_plus_one" else t
        if variant == "no_bias_correction":
            m_hat, v_hat = m, v
        else:
            m_hat, v_hat = m / (1 - b1**tt), v / (1 - b2**tt)
            if variant in ("slide_bias_correction", "slide_m"):
                m_hat = m / (1 - b1)
            if variant in ("slide_bias_correction", "slide_v"):
                v_hat = v / (1 - b2)
        s["m"], s["v"] = (m_hat, v_hat) if variant == "store_corrected" else (m, v)
        if variant == "eps_in_sqrt":
            return p - lr * m_hat / torch.sqrt(v_hat + eps)
        if variant == "sign":
            return p + lr * m_hat / (torch.sqrt(v_hat) + eps)
        return p - lr * m_hat / (torch.sqrt(v_hat) + eps)

    return step


HINTS: dict[str, dict[str, str]] = {  # optimizer -> known mistake -> what the failure message says
    "sgd_momentum": {
        "ema": (
            "the velocity is an average v = momentum*v + (1 - momentum)*grad; the lecture "
            "and torch.optim.SGD use v = momentum*v + grad"
        ),
        "no_state": "the velocity is not carried over between steps: keep it in self.state[p]",
        "no_momentum": "momentum has no effect: this is plain SGD",
        "sign": "the step goes uphill: subtract lr * v from the parameter",
        "nesterov": "this is Nesterov momentum; use theta = theta - lr * v",
        "old_velocity": (
            "the update uses the old velocity: compute v^(k+1) first, then theta^(k+1) = theta^k - lr * v^(k+1)"
        ),
    },
    "rmsprop": {
        "eps_in_sqrt": "eps is inside the square root; RMSProp divides by sqrt(s) + eps",
        "no_sqrt": "the square root is missing: divide by sqrt(s) + eps",
        "no_one_minus": "the (1 - beta) factor on grad**2 is missing",
        "no_state": "the running average s is not carried over between steps: keep it in self.state[p]",
        "swapped": "beta and (1 - beta) are swapped: s = beta*s + (1 - beta)*grad**2",
        "bias_corrected": "RMSProp has no bias correction (that is Adam)",
        "sign": "the step goes uphill: subtract the update",
    },
    "adam": {
        "slide_bias_correction": (
            "the bias correction divides by (1 - beta1) "
            "as on the slide; it must divide by (1 - beta1**t) with t the step count from 1"
        ),
        "slide_m": (
            "the bias correction of m divides by (1 - beta1) as on the slide; it must divide by (1 - beta1**t) "
            "with t the step count from 1"
        ),
        "slide_v": (
            "the bias correction of v divides by (1 - beta2) as on the slide; it must divide by (1 - beta2**t) "
            "with t the step count from 1"
        ),
        "no_bias_correction": "there is no bias correction: use m/(1 - beta1**t) and v/(1 - beta2**t)",
        "eps_in_sqrt": "eps is inside the square root (as on the slide); Adam divides by sqrt(v_hat) + eps",
        "t_plus_one": "the bias correction uses t + 1: the first step must use t = 1",
        "store_corrected": "the bias-corrected m_hat and v_hat are stored in the state; keep the raw m and v there",
        "no_one_minus": "the first moment misses the (1 - beta1) factor on grad",
        "betas_swapped": "beta1 and beta2 are swapped: beta1 is for m, beta2 for v",
        "sign": "the step goes uphill: subtract the update",
    },
}

UPDATES: dict[str, Callable] = {"sgd_momentum": _sgd, "rmsprop": _rmsprop, "adam": _adam}
# optimizer -> known mistake -> (its functional update, its hint)
MISTAKES: dict[str, dict[str, tuple[Callable, str]]] = {
    kind: {name: (UPDATES[kind](name), hint) for name, hint in hints.items()} for kind, hints in HINTS.items()
}


def diagnose(kind: str, p0: torch.Tensor, grads: list, got_path: list, hyper: dict) -> str:
    """Name the known mistake whose trajectory matches the student's, or return ''."""
    for update, hint in MISTAKES[kind].values():
        p, state, t, ok = p0.clone(), {}, 0, True
        for g, got in zip(grads, got_path):
            if g is not None:
                t += 1
                p = update(p, g, state, hyper, t)
            if not torch.allclose(p, got, atol=ATOL, rtol=RTOL):  # as strict as the check itself
                ok = False
                break
        if ok:
            return hint
    return ""
