"""Do the optimizer checks pass the reference and catch each deliberately wrong optimizer by name?"""

from __future__ import annotations

import pytest
import torch

from adl4cv_utils.checks import optimizers as checks


class Functional(torch.optim.Optimizer):
    """Base for the test optimizers: ``update(p, g, state, group)`` per parameter with a gradient."""

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.update(p, p.grad, self.state[p], group)


class SGDMomentum(Functional):
    variant = "correct"

    def __init__(self, params, lr, momentum=0.9):
        super().__init__(params, dict(lr=lr, momentum=momentum))

    def update(self, p, g, state, group):
        m, lr = group["momentum"], group["lr"]
        v_old = state.get("v", torch.zeros_like(p))
        v = {"ema": m * v_old + (1 - m) * g, "no_state": g}.get(self.variant, m * v_old + g)
        if self.variant != "no_state":
            state["v"] = v
        p.sub_(lr * (v_old if self.variant == "old_velocity" else v))


class RMSProp(Functional):
    variant = "correct"

    def __init__(self, params, lr=1e-2, beta=0.9, eps=1e-8):
        super().__init__(params, dict(lr=lr, beta=beta, eps=eps))

    def update(self, p, g, state, group):
        b, eps, lr = group["beta"], group["eps"], group["lr"]
        s_old = state.get("s", torch.zeros_like(p))
        s = b * s_old + (g * g if self.variant == "no_one_minus" else (1 - b) * g * g)
        state["s"] = s
        denom = torch.sqrt(s + eps) if self.variant == "eps_in_sqrt" else torch.sqrt(s) + eps
        p.sub_(lr * g / denom)


class Adam(Functional):
    variant = "correct"

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    def update(self, p, g, state, group):
        (b1, b2), eps, lr = group["betas"], group["eps"], group["lr"]
        if self.variant == "hard_coded_betas":
            b1, b2 = 0.9, 0.999
        state["t"] = t = state.get("t", 0) + 1
        m = b1 * state.get("m", torch.zeros_like(p)) + (1 - b1) * g
        v = b2 * state.get("v", torch.zeros_like(p)) + (1 - b2) * g * g
        state["m"], state["v"] = m, v
        if self.variant == "slide":
            m_hat, v_hat = m / (1 - b1), v / (1 - b2)
        elif self.variant == "slide_m":  # only the first moment uses the slide's correction
            m_hat, v_hat = m / (1 - b1), v / (1 - b2**t)
        elif self.variant == "no_bias_correction":
            m_hat, v_hat = m, v
        else:
            m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        denom = torch.sqrt(v_hat + eps) if self.variant == "eps_in_sqrt" else torch.sqrt(v_hat) + eps
        if self.variant == "global_lr":  # ignores param groups: uses the first group's lr for all
            lr = self.param_groups[0]["lr"]
        p.sub_(lr * m_hat / denom)


def variant(cls, name):
    return type(f"{cls.__name__}_{name}", (cls,), {"variant": name})


REFERENCE = [(SGDMomentum, "sgd_momentum"), (RMSProp, "rmsprop"), (Adam, "adam")]
ALL_CHECKS = [
    checks.check_interface,
    checks.check_single_step,
    checks.check_many_steps,
    checks.check_param_groups,
    checks.check_no_grad,
    checks.check_hyperparameters,
    checks.check_training_run,
]


@pytest.mark.parametrize("cls,kind", REFERENCE)
def test_reference_passes_everything(cls, kind):
    """Does a correct implementation pass every check? (timings: benchmarks/checks.py)"""
    for check in ALL_CHECKS + ([checks.check_eps] if kind != "sgd_momentum" else []):
        result = check(cls, kind)
        assert result.passed, result.summary()


WRONG = [
    # (optimizer, kind, check that must fail, words the message must contain)
    (variant(SGDMomentum, "ema"), "sgd_momentum", checks.check_single_step, "(1 - momentum)*grad"),
    (variant(SGDMomentum, "no_state"), "sgd_momentum", checks.check_many_steps, "not carried over between steps"),
    (variant(SGDMomentum, "old_velocity"), "sgd_momentum", checks.check_single_step, "uses the old velocity"),
    (variant(RMSProp, "eps_in_sqrt"), "rmsprop", checks.check_eps, "eps is inside the square root"),
    (variant(RMSProp, "no_one_minus"), "rmsprop", checks.check_single_step, "(1 - beta) factor"),
    (variant(Adam, "slide"), "adam", checks.check_many_steps, "divides by (1 - beta1) as on the slide"),
    (variant(Adam, "slide_m"), "adam", checks.check_many_steps, "correction of m divides by (1 - beta1) as on"),
    (variant(Adam, "no_bias_correction"), "adam", checks.check_single_step, "there is no bias correction"),
    (variant(Adam, "eps_in_sqrt"), "adam", checks.check_eps, "eps is inside the square root"),
    (variant(Adam, "hard_coded_betas"), "adam", checks.check_hyperparameters, "after step 2"),
    (variant(Adam, "global_lr"), "adam", checks.check_param_groups, "parameter 1"),
]


@pytest.mark.parametrize("cls,kind,check,words", WRONG, ids=[w[0].__name__ for w in WRONG])
def test_wrong_optimizer_fails_with_named_mistake(cls, kind, check, words):
    """Does each wrong optimizer fail its targeted check with a message that names the mistake?"""
    result = check(cls, kind)
    assert not result.passed
    assert words in result.message, result.summary()
    if check not in (checks.check_hyperparameters, checks.check_param_groups, checks.check_eps):
        assert not checks.check_training_run(cls, kind).passed  # a real training run exposes it too


def test_eps_in_sqrt_named_by_every_check():
    """Is eps inside the square root caught and named even with the default eps=1e-8 (float64 runs)?"""
    result = checks.check_single_step(variant(Adam, "eps_in_sqrt"), "adam")
    assert not result.passed and "eps is inside the square root" in result.message


class Raising(SGDMomentum):
    def step(self, closure=None):
        raise RuntimeError("boom")


class WrongShape(SGDMomentum):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.data = p.data.reshape(-1)[:1].clone()


class NoGradCrash(SGDMomentum):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.sub_(group["lr"] * p.grad)


class NotImplementedYet(torch.optim.Optimizer):
    def __init__(self, params, lr, momentum=0.9):
        raise NotImplementedError()


class NotAnOptimizer:
    def __init__(self, params, lr, momentum=0.9):
        pass


def test_broken_code_gives_failed_results_not_crashes():
    """Do raising, wrong-shape, None-grad-crashing, unimplemented and non-optimizer classes all fail cleanly?"""
    assert "step() raised RuntimeError: boom" in checks.check_single_step(Raising, "sgd_momentum").message
    assert "wrong shape" in checks.check_single_step(WrongShape, "sgd_momentum").message
    no_grad = checks.check_no_grad(NoGradCrash, "sgd_momentum")
    assert not no_grad.passed and "skip parameters whose p.grad is None" in no_grad.message
    assert "not implemented yet" in checks.check_single_step(NotImplementedYet, "sgd_momentum").message
    assert "subclass of torch.optim.Optimizer" in checks.check_interface(NotAnOptimizer, "sgd_momentum").message
    assert "must subclass" in checks.check_single_step(NotAnOptimizer, "sgd_momentum").message


def test_interface_catches_wrong_defaults_and_names():
    """Does the interface check name a wrong default and a renamed argument?"""

    class WrongDefault(RMSProp):
        def __init__(self, params, lr=1e-3, beta=0.9, eps=1e-8):
            super().__init__(params, lr, beta, eps)

    class Renamed(Functional):
        def __init__(self, params, lr=1e-2, alpha=0.9, eps=1e-8):
            super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps))

    assert "default of 'lr' should be 0.01" in checks.check_interface(WrongDefault, "rmsprop").message
    assert "has no argument 'beta'" in checks.check_interface(Renamed, "rmsprop").message


def test_wrong_arguments_to_checks():
    """Do unknown kinds and eps for momentum SGD raise ValueError naming the argument?"""
    with pytest.raises(ValueError, match="kind"):
        checks.check_single_step(SGDMomentum, "nesterov")
    with pytest.raises(ValueError, match="kind: 'sgd_momentum' has no eps"):
        checks.check_eps(SGDMomentum, "sgd_momentum")
    with pytest.raises(ValueError, match="steps"):
        checks.check_training_run(Adam, "adam", steps=0)


def test_first_check_time_excludes_torchs_one_time_imports():
    """In a fresh process, is the first check's reported time the check's own, not torch's lazy imports (about 1-2 s
    on an optimizer's first step)?"""
    import subprocess
    import sys

    code = (
        "import torch\n"
        "from adl4cv_utils.checks import optimizers\n"
        "class S(torch.optim.SGD):\n"
        "    def __init__(self, params, lr, momentum=0.9):\n"
        "        super().__init__(params, lr=lr, momentum=momentum)\n"
        "print(optimizers.check_single_step(S, 'sgd_momentum').seconds)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert float(out.stdout.split()[-1]) < 0.5, out.stdout
