"""Judge of 01_basics: losses, activations, Maxout and the gradient check on secret inputs.

The probes (adl4cv_utils.checks.basics.probes) return what the student's functions computed on
inputs drawn here; the references are torch's autograd in float64 (as in the self-checks), and the
self-checks' comparison and mistake tables (adl4cv_utils.checks.basics) rule on the recorded outputs.
The gradient check's reference (centered differences, relative error, 0 where both are 0) is written
here, with the known mistakes (forward differences, float32, absolute error) switchable.
"""

from __future__ import annotations

import math

import torch

from adl4cv_grading.exercises.basics.reference import reference_gradient_check
from adl4cv_grading.judge_tests import Context, judge_test
from adl4cv_utils.checks import basics as B
from adl4cv_utils.checks.basics.gradient_check import planted_failure
from adl4cv_utils.checks.basics.probes import make_f
from adl4cv_utils.checks.result import CheckFailed, compare


def _batches(ctx: Context, salt: str, count: int, scale: float, shift: float = 0.0, dtype=torch.float64):
    gen = ctx.generator("batches:" + salt)
    for i in range(count):
        n = 1 if i == count - 1 else int(torch.randint(2, 9, (1,), generator=gen))  # a batch of one, too
        c = int(torch.randint(2, 11, (1,), generator=gen))
        scores = torch.randn(n, c, generator=gen, dtype=torch.float64) * scale + shift
        yield scores.to(dtype), torch.randint(0, c, (n,), generator=gen)


def _recorded(value):
    return lambda *args: value


# ---------------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------------


def _softmax(ctx: Context, batches, atol=B.ATOL, rtol=B.RTOL) -> float:
    diff = 0.0
    for scores, y in batches:
        out = ctx.probe("basics.loss", fn="softmax_loss", scores=scores, y=y)
        diff = max(diff, B._check_softmax_case(_recorded(out), scores, y, atol, rtol))
    return diff


@judge_test("softmax_loss_values", "softmax_loss")
def softmax_loss_values(ctx: Context):
    return "loss and gradient match F.cross_entropy on 3 batches", _softmax(ctx, _batches(ctx, "values", 3, 3.0))


@judge_test("softmax_loss_stability", "softmax_loss")
def softmax_loss_stability(ctx: Context):
    shift = 800.0 + 1200.0 * float(torch.rand((), generator=ctx.generator("shift")))
    diff = _softmax(ctx, _batches(ctx, "high", 1, 500.0, shift))
    diff = max(diff, _softmax(ctx, _batches(ctx, "low", 1, 500.0, -2 * shift)))
    high32 = _batches(ctx, "f32", 1, 300.0, 700.0 + shift / 10, dtype=torch.float32)
    diff = max(diff, _softmax(ctx, high32, atol=1e-4, rtol=1e-4))
    return f"finite and right for scores around +{shift:.0f} and -{2 * shift:.0f} (float64) and float32", diff


@judge_test("softmax_loss_hidden", "softmax_loss")
def softmax_loss_hidden(ctx: Context):
    return "loss and gradient match on other random batches", _softmax(ctx, _batches(ctx, "hidden", 3, 4.0))


def _hinge(ctx: Context, batches, margins) -> float:
    diff = 0.0
    for margin, (scores, y) in zip(margins, batches):
        out = ctx.probe("basics.loss", fn="hinge_loss", scores=scores, y=y, margin=margin)
        diff = max(
            diff, B._check_hinge_case(_recorded(out), scores, y, 1.0 if margin is None else margin, margin is not None)
        )
    return diff


@judge_test("hinge_loss_values", "hinge_loss")
def hinge_loss_values(ctx: Context):
    diff = _hinge(ctx, _batches(ctx, "values", 3, 1.0), [None] * 3)
    return "loss and gradient match torch's multi_margin_loss (times C) on 3 batches", diff


@judge_test("hinge_loss_margin", "hinge_loss")
def hinge_loss_margin(ctx: Context):
    gen = ctx.generator("margins")
    margins = [
        round(0.2 + 0.6 * float(torch.rand((), generator=gen)), 3),
        round(1.5 + float(torch.rand((), generator=gen)), 3),
        0.0,
    ]
    return f"right for margins {margins}", _hinge(ctx, _batches(ctx, "margin", 3, 1.0), margins)


@judge_test("hinge_loss_hidden", "hinge_loss")
def hinge_loss_hidden(ctx: Context):
    return "loss and gradient match on other random batches", _hinge(ctx, _batches(ctx, "hidden", 3, 1.5), [None] * 3)


# ---------------------------------------------------------------------------------------------
# Activations and Maxout
# ---------------------------------------------------------------------------------------------


def _activation(ctx: Context, kind: str, salt: str) -> float:
    gen = ctx.generator(f"{kind}:{salt}")
    diff = 0.0
    for ndim in (2, 3):
        shape = tuple(int(s) for s in torch.randint(2, 7, (ndim,), generator=gen))
        x = torch.randn(shape, generator=gen, dtype=torch.float64) * 3
        x.view(-1)[torch.randperm(x.numel(), generator=gen)[:3]] = 0.0  # exact zeros: ReLU's gradient there is 0
        dout = torch.randn(shape, generator=gen, dtype=torch.float64)
        info = ctx.probe("basics.activation", kind=kind, x=x, dout=dout)
        if not info.get("pair"):
            raise CheckFailed(f"{kind}_forward must return a pair (out, cache)", got=repr(info.get("got"))[:100])
        if info.get("changed"):
            raise CheckFailed(f"{kind}_forward changed its input x in place; compute a new tensor instead")
        xg = x.clone().requires_grad_()
        ref = B.ACTIVATIONS[kind](xg)
        ref.backward(dout)
        where = f"x of shape {shape}"
        diff = max(diff, compare(f"{kind}_forward output ({where})", ref.detach(), info.get("out"), B.ATOL, B.RTOL))
        variants = B._activation_variants(kind, x, ref.detach(), dout)
        diff = max(diff, B._compare_named(f"{kind}_backward dx ({where})", xg.grad, info.get("dx"), variants))
    return diff


@judge_test("sigmoid_test", ("sigmoid_forward", "sigmoid_backward"))
def sigmoid_test(ctx: Context):
    return "sigmoid forward and backward match torch (2 shapes)", _activation(ctx, "sigmoid", "test")


@judge_test("tanh_test", ("tanh_forward", "tanh_backward"))
def tanh_test(ctx: Context):
    return "tanh forward and backward match torch (2 shapes)", _activation(ctx, "tanh", "test")


@judge_test("relu_test", ("relu_forward", "relu_backward"))
def relu_test(ctx: Context):
    return "relu forward and backward match torch (2 shapes)", _activation(ctx, "relu", "test")


@judge_test("activations_hidden", tuple(f"{k}_{d}" for k in B.ACTIVATIONS for d in ("forward", "backward")))
def activations_hidden(ctx: Context):
    diff = max(_activation(ctx, kind, "hidden") for kind in B.ACTIVATIONS)
    return "sigmoid, tanh and relu match on other random inputs", diff


def _maxout(ctx: Context, salt: str) -> float:
    gen = ctx.generator("maxout:" + salt)
    diff = 0.0
    for _ in range(2):
        n, d, k, m = (int(v) for v in torch.randint(2, 8, (4,), generator=gen))
        x = torch.randn(n, d, generator=gen, dtype=torch.float64)
        W = torch.randn(k, d, m, generator=gen, dtype=torch.float64)
        b = torch.randn(k, m, generator=gen, dtype=torch.float64)
        dout = torch.randn(n, m, generator=gen, dtype=torch.float64)
        info = ctx.probe("basics.maxout", x=x, W=W, b=b, dout=dout)
        if not info.get("pair"):
            raise CheckFailed("maxout_forward must return a pair (out, cache)", got=repr(info.get("got"))[:100])
        xs, Ws, bs = (t.clone().requires_grad_() for t in (x, W, b))
        z = torch.einsum("nd,kdm->nkm", xs, Ws) + bs[None]
        ref = z.max(dim=1).values
        ref.backward(dout)
        where = f"x {(n, d)}, W {(k, d, m)}"
        zd = z.detach()
        fwd_variants = {
            "the max is taken over the wrong axis: it runs over the k pieces (W[j] for j < k)": zd.max(dim=2).values,
            "the bias is missing: z_j = x @ W[j] + b[j]": torch.einsum("nd,kdm->nkm", x, W).max(dim=1).values,
        }
        diff = max(diff, B._compare_named(f"maxout_forward output ({where})", ref.detach(), info["out"], fwd_variants))
        grads = info.get("grads")
        if not isinstance(grads, (tuple, list)) or len(grads) != 3:
            raise CheckFailed(f"maxout_backward must return (dx, dW, db), got {type(grads).__name__}")
        spread = "the gradient flows into every piece; only the piece that won the max (argmax over k) gets it"
        wrong = (
            torch.einsum("nm,kdm->nd", dout, W),
            torch.einsum("nd,nm->dm", x, dout)[None].expand_as(W),
            dout.sum(0)[None].expand_as(b),
        )
        for name, expected, got, bad in zip(("dx", "dW", "db"), (xs.grad, Ws.grad, bs.grad), grads, wrong):
            diff = max(diff, B._compare_named(f"maxout_backward {name} ({where})", expected, got, {spread: bad}))
    return diff


@judge_test("maxout_test", ("maxout_forward", "maxout_backward"))
def maxout_test(ctx: Context):
    return "forward, dx, dW and db match autograd (2 shapes)", _maxout(ctx, "test")


@judge_test("maxout_hidden", ("maxout_forward", "maxout_backward"))
def maxout_hidden(ctx: Context):
    return "forward, dx, dW and db match autograd on other shapes", _maxout(ctx, "hidden")


# ---------------------------------------------------------------------------------------------
# gradient_check(f, x, eps=1e-6) -> (max_rel_error, worst_index)
# ---------------------------------------------------------------------------------------------


def _run(ctx: Context, kind: str, params: dict, x, eps=None):
    info = ctx.probe("basics.gradient_check", kind=kind, params=params, x=x, eps=eps)
    out = info.get("out")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"gradient_check must return a pair (max_rel_error, worst_index), got {out!r}"[:200])
    if info.get("changed"):
        raise CheckFailed("gradient_check changed x: restore every element after perturbing it (or work on a copy)")
    err = float(B._scalar("max_rel_error", out[0]))
    idx = out[1]
    if type(idx) is int or (torch.is_tensor(idx) and idx.numel() == 1 and x.ndim > 1):
        raise CheckFailed(
            f"worst_index must be a tuple index into x (one int per dimension of x {tuple(x.shape)}), "
            f"got the flat index {int(idx)}: convert it with torch.unravel_index"
        )
    if torch.is_tensor(idx) and idx.ndim == 1 and not idx.is_floating_point():
        idx = tuple(int(i) for i in idx)
    if not isinstance(idx, (tuple, list)) or not all(type(i) is int or torch.is_tensor(i) for i in idx):
        raise CheckFailed(f"worst_index must be a tuple of ints, got {idx!r}"[:200])
    idx = tuple(int(i) for i in idx)
    if len(idx) != x.ndim:
        raise CheckFailed(f"worst_index must have one int per dimension of x {tuple(x.shape)}, got {idx}")
    return err, idx


def _exp_case(ctx: Context, salt: str, dtype, a=(1.5, 2.5)):
    """sum(w * exp(a x)) / a with |x| <= 0.5: gradients within a factor ~40 of each other, so the rounding
    error of centered differences with eps=1e-6 stays near 1e-8, far below the 1e-7 a right answer must meet
    (and far below forward differences' a * eps / 2)."""
    gen = ctx.generator("exp:" + salt)
    shape = tuple(int(s) for s in torch.randint(2, 5, (2,), generator=gen))
    x = ((torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1) * 0.5).to(dtype)
    w = torch.rand(shape, generator=gen, dtype=torch.float64) + 0.5
    w.view(-1)[torch.randperm(w.numel(), generator=gen)[:2]] = 0.0  # analytic and numeric both exactly 0 there
    return {"a": round(a[0] + (a[1] - a[0]) * float(torch.rand((), generator=gen)), 3), "w": w}, x


@judge_test("gradient_check_right", "gradient_check")
def gradient_check_right(ctx: Context):
    params, x = _exp_case(ctx, "right", torch.float32)  # float32 on purpose: the check must work in float64
    err, _ = _run(ctx, "exp", params, x)
    if math.isnan(err):
        raise CheckFailed(
            "the relative error is NaN: where the analytic and numeric gradients are both 0 the relative "
            "error is 0 (0/0 must not reach the maximum)"
        )
    if err < 1e-7:
        return f"max relative error {err:.1e} for a right gradient"
    f = make_f("exp", params)
    forward, _ = reference_gradient_check(f, x, centered=False)
    single, _ = reference_gradient_check(f, x, dtype=torch.float32)
    if abs(err - forward) <= 0.2 * forward:
        hint = (
            "forward differences (f(x + eps) - f(x)) / eps, whose error is O(eps): "
            "use centered differences (f(x + eps) - f(x - eps)) / (2 eps)"
        )
    elif err > 1e-4 or abs(err - single) <= 0.5 * single:
        hint = "x is perturbed in float32 (x here is float32): convert it to float64 first (x.double())"
    else:
        hint = ""
    raise CheckFailed(
        "a right gradient gets a relative error far above the ~1e-10 of centered differences in float64"
        + (f"; looks like {hint}" if hint else ""),
        expected="below 1e-7",
        got=err,
    )


@judge_test("gradient_check_wrong", "gradient_check")
def gradient_check_wrong(ctx: Context):
    gen = ctx.generator("planted")
    shape = tuple(int(s) for s in torch.randint(2, 5, (2,), generator=gen))
    x = torch.randn(shape, generator=gen, dtype=torch.float64)
    w = torch.rand(shape, generator=gen, dtype=torch.float64) + 0.5
    factor, add = torch.ones(shape, dtype=torch.float64), torch.zeros(shape, dtype=torch.float64)
    small, big = (int(i) for i in torch.randperm(x.numel(), generator=gen)[:2])
    ratio = 1.3 + 0.4 * float(torch.rand((), generator=gen))
    x.view(-1)[small], w.view(-1)[small], factor.view(-1)[small] = 0.1, 1.0, ratio  # large relative, small absolute
    x.view(-1)[big], w.view(-1)[big], add.view(-1)[big] = 10.0, 10.0, 1.0  # small relative, large absolute
    params = {"w": w, "factor": factor, "add": add}
    f = make_f("planted", params)
    expected = reference_gradient_check(f, x)
    err, idx = _run(ctx, "planted", params, x)
    if idx != expected[1] or not abs(err - expected[0]) <= 1e-4 * expected[0]:
        absolute = reference_gradient_check(f, x, relative=False)
        raise planted_failure(err, idx, expected, absolute=absolute, numeric_only=ratio - 1)
    return f"found the worst element {idx} with relative error {err:.4f}"


@judge_test("gradient_check_hidden", "gradient_check")
def gradient_check_hidden(ctx: Context):
    # the O(eps**2) error (a eps)**2 / 6 must stand well above the rounding error of eps=1e-6 (~1e-7 here)
    eps = [2e-3, 3e-3, 5e-3][ctx.randint(0, 3, "eps")]
    params, x = _exp_case(ctx, "eps", torch.float64, a=(2.0, 3.0))
    expected = reference_gradient_check(make_f("exp", params), x, eps=eps)
    err, _ = _run(ctx, "exp", params, x, eps=eps)
    if not abs(err - expected[0]) <= 0.05 * expected[0]:
        hint = "; looks like eps is hard-coded: use the eps argument" if err < 0.2 * expected[0] else ""
        raise CheckFailed(f"with eps={eps:g} the relative error should be the O(eps**2) error{hint}", expected[0], err)
    return f"eps={eps:g} gives {err:.2e} as expected"
