"""Judge of 02_optimizers: the student's trajectories against torch.optim's, on secret inputs.

The student's optimizer runs in the grading kernel (probe ``optimizers.trajectory``) on parameters and
gradients drawn here from the run's secret seed; torch.optim runs here on the same data, in float64.
The mistake table of the self-checks (adl4cv_utils.checks.optimizers) names a known mistake.
"""

from __future__ import annotations

import torch
from torch import nn

from adl4cv_grading.judge_tests import Context, judge_test
from adl4cv_utils.checks.optimizers import ATOL, DEFAULT_HYPER, RTOL, SIGNATURES, TRAIN_HYPER, diagnose, reference
from adl4cv_utils.checks.optimizers.probes import train_losses
from adl4cv_utils.checks.result import CheckFailed, compare

CLASSES = {"sgd_momentum": "SGDMomentum", "rmsprop": "RMSProp", "adam": "Adam"}


def _hyper_for_probe(hyper: dict) -> dict:
    return {k: (tuple(v) if isinstance(v, list) else v) for k, v in hyper.items()}


def _side_by_side(ctx: Context, kind: str, hyper: dict, steps: int, group_lrs=None, missing=None, scale=None):
    gen = ctx.generator(kind)
    n = ctx.randint(2, 5, "nparams")
    shapes = [
        tuple(int(s) for s in torch.randint(1, 5, (int(torch.randint(1, 4, (1,), generator=gen)),), generator=gen))
        for _ in range(n)
    ]
    start = [torch.randn(s, generator=gen, dtype=torch.float64) for s in shapes]
    if group_lrs is not None:
        group_lrs = [hyper["lr"] * f for f in group_lrs][:n] + [hyper["lr"]] * max(0, n - len(group_lrs))
    grads = []
    for step in range(1, steps + 1):
        factor = scale(step) if scale else 1.0
        grads.append(
            [
                None if missing and missing(step, i) else torch.randn(s, generator=gen, dtype=torch.float64) * factor
                for i, s in enumerate(shapes)
            ]
        )
    path = ctx.probe(
        "optimizers.trajectory", cls=CLASSES[kind], hyper=hyper, start=start, grads=grads, group_lrs=group_lrs
    )
    if not (isinstance(path, list) and len(path) == steps and all(isinstance(p, list) and len(p) == n for p in path)):
        raise CheckFailed(f"expected {steps} steps of {n} parameters from the optimizer", got=repr(path)[:200])
    ref = [nn.Parameter(t.clone()) for t in start]
    arg = ref if group_lrs is None else [{"params": [p], "lr": lr} for p, lr in zip(ref, group_lrs)]
    ref_opt = reference(kind, arg, **hyper)
    lrs = group_lrs or [hyper["lr"]] * n
    max_diff = 0.0
    for step in range(steps):
        for p, g in zip(ref, grads[step]):
            p.grad = None if g is None else g.clone()
        ref_opt.step()
        for i, p in enumerate(ref):
            try:
                max_diff = max(max_diff, compare(f"parameter {i}", p.detach(), path[step][i], ATOL, RTOL))
            except CheckFailed as fail:
                got_path = [path[k][i] for k in range(step + 1)]
                hint = diagnose(
                    kind, start[i], [grads[k][i] for k in range(step + 1)], got_path, {**hyper, "lr": lrs[i]}
                )
                fail.message = f"after step {step + 1} parameter {i} (shape {tuple(p.shape)}): {fail.message}" + (
                    f"; looks like {hint}" if hint else ""
                )
                raise
    return f"matches torch.optim over {steps} step(s) on the judge's inputs", max_diff


def _interface(ctx: Context, kind: str):
    info = ctx.probe("optimizers.interface", cls=CLASSES[kind], hyper=DEFAULT_HYPER[kind])
    if not info.get("is_class") or not info.get("is_optimizer"):
        raise CheckFailed(f"{CLASSES[kind]} must be a subclass of torch.optim.Optimizer")
    arguments, has_default = info.get("arguments") or {}, info.get("has_default") or {}
    for name, default in SIGNATURES[kind].items():
        if name not in arguments:
            raise CheckFailed(f"{CLASSES[kind]}.__init__ has no argument {name!r}", expected=list(SIGNATURES[kind]))
        if isinstance(default, (int, float, tuple)):
            got = arguments[name]
            got = tuple(got) if isinstance(got, list) else got
            if not has_default.get(name) or got != default:
                raise CheckFailed(f"the default of {name!r} should be {default!r}", expected=default, got=got)
    if info.get("error"):
        raise CheckFailed(info["error"])
    group = info.get("group") or {}
    for name in DEFAULT_HYPER[kind]:
        if name not in group:
            raise CheckFailed(f"param_groups[0] has no {name!r}", got=sorted(group))
    return "signature, defaults and param_groups as in the contract"


def _training(ctx: Context, kind: str, steps: int = 30):
    gen = ctx.generator("training")
    x = torch.randn(256, 16, generator=gen)
    y = torch.randint(0, 5, (256,), generator=gen)
    torch.manual_seed(int(torch.randint(0, 2**31, (1,), generator=gen)))
    model = nn.Sequential(nn.Linear(16, 24), nn.ReLU(), nn.Linear(24, 5))
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    batches = [torch.randint(0, 256, (32,), generator=gen) for _ in range(steps)]
    hyper = TRAIN_HYPER[kind]
    losses = ctx.probe("optimizers.training", cls=CLASSES[kind], hyper=hyper, state=state, x=x, y=y, batches=batches)
    expected = train_losses(model, reference(kind, model.parameters(), **hyper), x, y, batches)
    if not (isinstance(losses, list) and all(type(v) is float for v in losses)):
        raise CheckFailed("the training run returned no losses", got=repr(losses)[:200])
    return compare("loss curve", torch.tensor(expected), torch.tensor(losses), atol=1e-4, rtol=1e-3)


def _register(kind: str, unit: str) -> None:
    h = DEFAULT_HYPER[kind]
    lr = h["lr"]

    judge_test(f"{kind}_interface", unit)(lambda ctx: _interface(ctx, kind))
    judge_test(f"{kind}_single_step", unit)(lambda ctx: _side_by_side(ctx, kind, h, steps=1))
    judge_test(f"{kind}_many_steps", unit)(
        lambda ctx: _side_by_side(ctx, kind, h, steps=25, scale=lambda s: 0.1 + (s % 4))
    )
    judge_test(f"{kind}_param_groups", unit)(
        lambda ctx: _side_by_side(ctx, kind, h, steps=5, group_lrs=[1, 0.1, 3, 0.5])
    )
    if kind != "sgd_momentum":
        judge_test(f"{kind}_eps", unit)(
            lambda ctx: _side_by_side(ctx, kind, {**h, "eps": 0.1}, steps=5, scale=lambda s: 0.01)
        )

    def hidden(ctx: Context):
        _side_by_side(ctx, kind, h, steps=6, missing=lambda step, i: i == 1 or (i == 0 and step % 2 == 0))
        other = {
            "sgd_momentum": {"lr": 0.05, "momentum": 0.5},
            "rmsprop": {"lr": 0.03, "beta": 0.6, "eps": 1e-6},
            "adam": {"lr": 0.03, "betas": (0.5, 0.7), "eps": 1e-6},
        }[kind]
        _side_by_side(ctx, kind, other, steps=8)
        _training(ctx, kind)
        return f"no-gradient parameters, other hyperparameters (lr {lr} -> {other['lr']}) and a training run match"

    judge_test(f"{kind}_hidden", unit)(hidden)


for _kind, _unit in CLASSES.items():
    _register(_kind, _unit)
