"""Are a student's SGDMomentum, RMSProp and Adam right? (chapter 4, exercise 02_optimizers)

Every check runs the student's optimizer and torch's own (``torch.optim.SGD(momentum=...)``,
``torch.optim.RMSprop(alpha=beta, ...)``, ``torch.optim.Adam``) side by side on the same
parameters and the same gradients, in float64, and reports the first step where they part.
When they part, the student's trajectory is compared with a list of known mistakes (eps inside
the square root, the slide's bias correction, a velocity that is not kept, ...) so that the
message can name the mistake.
"""

from __future__ import annotations

import copy
import inspect

import torch

# An optimizer's first step imports torch._dynamo lazily (1-2 s): paid here, once, so that the first check's
# reported time is the check's own, not torch's one-time import.
import torch._dynamo  # noqa: F401
from torch import nn

from adl4cv_utils.checks.optimizers.mistakes import ATOL, MISTAKES, RTOL, diagnose  # noqa: F401
from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare, run_check

KINDS = ("sgd_momentum", "rmsprop", "adam")
# The grading contract (DESIGN.md): constructor arguments and their defaults.
SIGNATURES = {
    "sgd_momentum": {"lr": inspect.Parameter.empty, "momentum": 0.9},
    "rmsprop": {"lr": 1e-2, "beta": 0.9, "eps": 1e-8},
    "adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8},
}
DEFAULT_HYPER = {
    "sgd_momentum": {"lr": 0.1, "momentum": 0.9},
    "rmsprop": {"lr": 1e-2, "beta": 0.9, "eps": 1e-8},
    "adam": {"lr": 1e-2, "betas": (0.9, 0.999), "eps": 1e-8},
}
SHAPES = ((3,), (2, 4), (5, 1, 2))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise CheckArgumentError(f"kind: expected one of {KINDS}, got {kind!r}")


def reference(kind: str, params, **hyper) -> torch.optim.Optimizer:
    """torch's own optimizer for ``kind`` with the course's argument names."""
    _check_kind(kind)
    if kind == "sgd_momentum":
        return torch.optim.SGD(params, lr=hyper["lr"], momentum=hyper.get("momentum", 0.9))
    if kind == "rmsprop":
        return torch.optim.RMSprop(
            params, lr=hyper.get("lr", 1e-2), alpha=hyper.get("beta", 0.9), eps=hyper.get("eps", 1e-8)
        )
    return torch.optim.Adam(
        params, lr=hyper.get("lr", 1e-3), betas=hyper.get("betas", (0.9, 0.999)), eps=hyper.get("eps", 1e-8)
    )


# ---------------------------------------------------------------------------------------------
# The side-by-side harness.
# ---------------------------------------------------------------------------------------------


def _build(cls, kind: str, params, hyper: dict) -> torch.optim.Optimizer:
    try:
        opt = cls(params, **hyper)
    except TypeError as error:
        names = ", ".join(SIGNATURES[kind])
        raise CheckFailed(
            f"{cls.__name__}(params, **{hyper}) failed: {error}. The constructor must accept: params, {names}"
        ) from error
    if not isinstance(opt, torch.optim.Optimizer):
        raise CheckFailed(f"{cls.__name__} must subclass torch.optim.Optimizer")
    return opt


def _side_by_side(
    cls,
    kind: str,
    hyper: dict,
    steps: int,
    seed: int = 0,
    group_lrs=None,
    missing=lambda step, index: False,
    grad_scale=lambda step: 1.0,
    hint_on_raise: str = "",
) -> tuple[str, float]:
    """Run student and reference for ``steps`` steps on the same gradients; raise CheckFailed on a difference.

    ``group_lrs`` puts every parameter in its own group with that learning rate; ``missing(step, i)``
    says when parameter i gets no gradient (``.grad = None``).
    """
    gen = torch.Generator().manual_seed(seed)
    start = [torch.randn(s, generator=gen, dtype=torch.float64) for s in SHAPES]
    mine = [p.clone().requires_grad_() for p in start]
    ref = [p.clone().requires_grad_() for p in start]
    if group_lrs is None:
        mine_arg, ref_arg, lrs = mine, ref, [hyper["lr"]] * len(SHAPES)
    else:
        mine_arg = [{"params": [p], "lr": lr} for p, lr in zip(mine, group_lrs)]
        ref_arg = [{"params": [p], "lr": lr} for p, lr in zip(ref, group_lrs)]
        lrs = list(group_lrs)
    opt, ref_opt = _build(cls, kind, mine_arg, hyper), reference(kind, ref_arg, **hyper)
    grads = [[] for _ in SHAPES]  # per parameter: the gradient at each step (None = no gradient)
    paths = [[] for _ in SHAPES]  # per parameter: the student's value after each step
    max_diff = 0.0
    for step in range(1, steps + 1):
        for i, (a, b) in enumerate(zip(mine, ref)):
            if missing(step, i):
                a.grad = b.grad = None
                grads[i].append(None)
            else:
                g = torch.randn(a.shape, generator=gen, dtype=torch.float64) * grad_scale(step)
                a.grad, b.grad = g.clone(), g.clone()
                grads[i].append(g)
        try:
            opt.step()
        except NotImplementedError:
            raise
        except Exception as error:
            raise CheckFailed(
                f"at step {step}, {cls.__name__}.step() raised {type(error).__name__}: {error}"
                + (f"; {hint_on_raise}" if hint_on_raise else "")
            ) from error
        ref_opt.step()
        for i, (a, b) in enumerate(zip(mine, ref)):
            paths[i].append(a.detach().clone())
            try:
                max_diff = max(max_diff, compare(f"parameter {i}", b, a, ATOL, RTOL))
            except CheckFailed as fail:
                hint = diagnose(kind, start[i], grads[i], paths[i], {**hyper, "lr": lrs[i]})
                where = f"after step {step} parameter {i} (shape {tuple(b.shape)})"
                fail.message = f"{where}: {fail.message}" + (f"; looks like {hint}" if hint else "")
                raise
    return f"matches torch.optim over {steps} step(s)", max_diff


# ---------------------------------------------------------------------------------------------
# The checks, one per graded property.
# ---------------------------------------------------------------------------------------------


@run_check("interface")
def check_interface(cls, kind: str):
    """Does ``cls`` subclass torch.optim.Optimizer with the contract's arguments, defaults and param_groups?"""
    _check_kind(kind)
    if not (isinstance(cls, type) and issubclass(cls, torch.optim.Optimizer)):
        raise CheckFailed(f"{getattr(cls, '__name__', cls)} must be a subclass of torch.optim.Optimizer")
    params = inspect.signature(cls.__init__).parameters
    for name, default in SIGNATURES[kind].items():
        if name not in params:
            raise CheckFailed(
                f"{cls.__name__}.__init__ has no argument {name!r}",
                expected=list(SIGNATURES[kind]),
                got=[p for p in params if p != "self"],
            )
        got = params[name].default
        if default is not inspect.Parameter.empty and got != default:
            raise CheckFailed(f"the default of {name!r} should be {default!r}", expected=default, got=got)
    p = torch.zeros(2, requires_grad=True)
    opt = _build(cls, kind, [p], DEFAULT_HYPER[kind])
    group = opt.param_groups[0]
    for name in DEFAULT_HYPER[kind]:
        if name not in group:
            raise CheckFailed(
                f"param_groups[0] has no {name!r}: pass the hyperparameters to "
                "super().__init__(params, defaults) as a dict",
                got=sorted(group),
            )
    return "signature, defaults and param_groups as in the contract"


@run_check("single step")
def check_single_step(cls, kind: str):
    """Does one step from fresh state move every parameter exactly like torch.optim?"""
    _check_kind(kind)
    return _side_by_side(cls, kind, DEFAULT_HYPER[kind], steps=1)


@run_check("many steps")
def check_many_steps(cls, kind: str):
    """Do 25 steps with gradients of changing size stay on torch.optim's trajectory (state kept right)?"""
    _check_kind(kind)
    return _side_by_side(cls, kind, DEFAULT_HYPER[kind], steps=25, seed=1, grad_scale=lambda step: 0.1 + (step % 4))


@run_check("parameter groups")
def check_param_groups(cls, kind: str):
    """Does each parameter group use its own learning rate?"""
    _check_kind(kind)
    lr = DEFAULT_HYPER[kind]["lr"]
    return _side_by_side(
        cls,
        kind,
        DEFAULT_HYPER[kind],
        steps=5,
        seed=2,
        group_lrs=(lr, lr * 0.1, lr * 3),
        hint_on_raise="loop over self.param_groups and read group['lr'] there",
    )


@run_check("parameter without gradient")
def check_no_grad(cls, kind: str):
    """Are parameters whose ``.grad`` is None skipped, without error and without touching their state?"""
    _check_kind(kind)
    return _side_by_side(
        cls,
        kind,
        DEFAULT_HYPER[kind],
        steps=6,
        seed=3,
        missing=lambda step, i: i == 1 or (i == 2 and step % 2 == 0),
        hint_on_raise="skip parameters whose p.grad is None",
    )


@run_check("hyperparameters")
def check_hyperparameters(cls, kind: str):
    """Are non-default hyperparameters used (nothing hard-coded to 0.9 or 0.999)?"""
    _check_kind(kind)
    hyper = {
        "sgd_momentum": {"lr": 0.05, "momentum": 0.5},
        "rmsprop": {"lr": 0.03, "beta": 0.6, "eps": 1e-6},
        "adam": {"lr": 0.03, "betas": (0.5, 0.7), "eps": 1e-6},
    }[kind]
    return _side_by_side(cls, kind, hyper, steps=8, seed=4)


@run_check("eps")
def check_eps(cls, kind: str):
    """With a large eps (0.1) and small gradients, is eps added where torch adds it (outside the sqrt)?"""
    _check_kind(kind)
    if kind == "sgd_momentum":
        raise CheckArgumentError("kind: 'sgd_momentum' has no eps; check_eps takes 'rmsprop' or 'adam'")
    hyper = {**DEFAULT_HYPER[kind], "eps": 0.1}
    return _side_by_side(cls, kind, hyper, steps=5, seed=5, grad_scale=lambda step: 0.01)


TRAIN_HYPER = {
    "sgd_momentum": {"lr": 0.05, "momentum": 0.9},
    "rmsprop": {"lr": 1e-3, "beta": 0.9, "eps": 1e-8},
    "adam": {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8},
}


@run_check("training run")
def check_training_run(cls, kind: str, steps: int = 40):
    """Does a small network trained on the digits follow the same loss curve as with torch.optim?"""
    _check_kind(kind)
    if steps < 1:
        raise CheckArgumentError(f"steps: expected a positive int, got {steps!r}")
    from adl4cv_utils.data import digits_splits

    train, _, _ = digits_splits(seed=0)
    x, y = train.tensors
    gen = torch.Generator().manual_seed(6)
    torch.manual_seed(6)
    model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
    ref_model = copy.deepcopy(model)
    opt = _build(cls, kind, model.parameters(), TRAIN_HYPER[kind])
    ref_opt = reference(kind, ref_model.parameters(), **TRAIN_HYPER[kind])
    losses, ref_losses = [], []
    for _ in range(steps):
        idx = torch.randint(0, len(x), (64,), generator=gen)
        for m, o, record in ((model, opt, losses), (ref_model, ref_opt, ref_losses)):
            o.zero_grad()
            loss = nn.functional.cross_entropy(m(x[idx]), y[idx])
            loss.backward()
            o.step()
            record.append(loss.item())
    got, expected = torch.tensor(losses), torch.tensor(ref_losses)
    try:
        compare("loss curve", expected, got, atol=1e-4, rtol=1e-3)
    except CheckFailed as fail:
        first = int(((got - expected).abs() > 1e-4 + 1e-3 * expected.abs()).float().argmax())
        fail.message = (
            f"the loss curve leaves torch.optim's at step {first + 1} of {steps} "
            f"(loss {got[first]:.5f} vs {expected[first]:.5f})"
        )
        raise
    diff = max(
        compare(f"parameter {name}", b, a, atol=1e-4, rtol=1e-3)
        for (name, a), b in zip(model.named_parameters(), ref_model.parameters())
    )
    return f"{steps} training steps, final loss {losses[-1]:.4f} (torch: {ref_losses[-1]:.4f})", diff
