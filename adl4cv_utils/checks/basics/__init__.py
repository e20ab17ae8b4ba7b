"""Are a student's losses, activations and gradient check right? (chapters 2-3, exercise 01_basics)

The references come from torch's autograd: ``F.cross_entropy`` for the softmax loss,
``F.multi_margin_loss(margin=...)`` times the number of classes for the hinge loss (torch also
divides by the number of classes), ``torch.sigmoid`` / ``torch.tanh`` / ``torch.relu`` and a
max over affine pieces for Maxout, all in float64. When the student's answer differs, it is
compared with a list of known mistakes (no max-subtraction, gradient not divided by N, the
correct class counted in the hinge loss, the sigmoid derivative taken from the input, ...) so
that the message names the mistake.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from adl4cv_utils.checks.basics.gradient_check import (  # noqa: F401 - the gradient check's checks, for the test cells
    _pair,
    _scalar,
    check_gradient_check_correct,
    check_gradient_check_eps,
    check_gradient_check_wrong,
)
from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare, run_check

ATOL, RTOL = 1e-9, 1e-7  # float64 references: only real mistakes exceed this


def _close(a: torch.Tensor, b: torch.Tensor, atol: float = 1e-7, rtol: float = 1e-5) -> bool:
    if not torch.is_tensor(a) or not torch.is_tensor(b) or a.shape != b.shape:
        return False
    return bool(torch.allclose(a.detach().double(), b.detach().double(), atol=atol, rtol=rtol, equal_nan=False))


def _compare_named(what: str, expected, got, variants: dict, atol: float = ATOL, rtol: float = RTOL) -> float:
    """``compare``, and on a difference name the first known mistake whose output matches ``got``."""
    try:
        return compare(what, expected, got, atol, rtol)
    except CheckFailed as fail:
        for hint, value in variants.items():
            if torch.is_tensor(got) and _close(value, got):
                fail.message += f"; looks like {hint}"
                break
        raise


def _score_cases(seed: int, shapes, scale: float = 3.0, shift: float = 0.0, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    for n, c in shapes:
        scores = torch.randn(n, c, generator=gen, dtype=torch.float64) * scale + shift
        yield scores.to(dtype), torch.randint(0, c, (n,), generator=gen)


def _autograd(loss_of, scores):
    s = scores.detach().double().clone().requires_grad_()
    loss = loss_of(s)
    loss.backward()
    return loss.detach(), s.grad


# ---------------------------------------------------------------------------------------------
# Softmax (cross-entropy) loss
# ---------------------------------------------------------------------------------------------


def _softmax_variants(scores, y, ref_loss, ref_d):
    n = len(y)
    p = torch.softmax(scores.double(), dim=1)
    return {
        "loss": {"the loss is summed over the batch instead of averaged (divide by N)": ref_loss * n},
        "dscores": {
            "dscores is not divided by the batch size N (the loss is a mean over the batch)": ref_d * n,
            "dscores misses the -1 at the correct class: dL/ds = (softmax(s) - onehot(y)) / N": p / n,
            "dscores has the wrong sign: dL/ds = (softmax(s) - onehot(y)) / N": -ref_d,
        },
    }


def _check_softmax_case(softmax_loss, scores, y, atol=ATOL, rtol=RTOL) -> float:
    ref_loss, ref_d = _autograd(lambda s: F.cross_entropy(s, y), scores)
    loss, d = _pair("softmax_loss", softmax_loss(scores.clone(), y.clone()))
    variants = _softmax_variants(scores, y, ref_loss, ref_d)
    where = f"scores of shape {tuple(scores.shape)}"
    stable = (
        "NaN or inf: subtract each row's maximum score before exp (softmax does not change under a shift), "
        "and take log-probabilities as (s - max) - log(sum(exp(s - max))) so a tiny probability is not log(0)"
    )
    try:
        diff = _compare_named(f"loss ({where})", ref_loss, _scalar("loss", loss), variants["loss"], atol, rtol)
        return max(diff, _compare_named(f"dscores ({where})", ref_d, d, variants["dscores"], atol, rtol))
    except CheckFailed as fail:
        if "contains NaN or inf" in fail.message:
            fail.message += f"; looks like {stable}"
        raise


@run_check("softmax loss")
def check_softmax_loss(softmax_loss, seed: int = 0):
    """Do the loss and dscores match F.cross_entropy and its autograd gradient on random batches?"""
    diff = 0.0
    for scores, y in _score_cases(seed, ((4, 3), (7, 10), (1, 5))):
        diff = max(diff, _check_softmax_case(softmax_loss, scores, y))
    return "loss and gradient match F.cross_entropy on 3 batches", diff


@run_check("softmax loss, large scores")
def check_softmax_stability(softmax_loss):
    """Are loss and gradient finite and right for scores in the thousands (both signs), float64 and float32?"""
    diff = 0.0
    for shift in (1000.0, -2000.0):
        for scores, y in _score_cases(7, ((5, 4),), scale=500.0, shift=shift):
            diff = max(diff, _check_softmax_case(softmax_loss, scores, y))
    for scores, y in _score_cases(8, ((6, 3),), scale=300.0, shift=900.0, dtype=torch.float32):
        diff = max(diff, _check_softmax_case(softmax_loss, scores, y, atol=1e-4, rtol=1e-4))
    return "finite and right for scores around +-1000 (float64 and float32)", diff


# ---------------------------------------------------------------------------------------------
# Multiclass hinge loss
# ---------------------------------------------------------------------------------------------


def _hinge_reference(scores, y, margin):
    c = scores.shape[1]
    # torch's multi_margin_loss divides by the number of classes C; the lecture's L_i does not.
    return _autograd(lambda s: F.multi_margin_loss(s, y, margin=margin) * c, scores)


def _hinge_variants(scores, y, margin, ref_loss, ref_d):
    n = len(y)
    s = scores.double()
    onehot = F.one_hot(y, s.shape[1]).double()
    pos = ((s - s.gather(1, y[:, None]) + margin) > 0).double() * (1 - onehot)
    hard_loss, hard_d = _hinge_reference(scores, y, 1.0)
    with_y = ref_d - onehot / n if margin > 0 else ref_d
    return {
        "loss": {
            "the correct class is counted: the sum runs over k != y_i only (it adds the margin to every L_i)": (
                ref_loss + margin
            ),
            "the loss is summed over the batch instead of averaged (divide by N)": ref_loss * n,
            "the margin is hard-coded to 1: use the margin argument": hard_loss,
        },
        "dscores": {
            "dscores is not divided by the batch size N (the loss is a mean over the batch)": ref_d * n,
            "the correct class is counted in the gradient: it gets -1/N too many": with_y,
            "the margin is hard-coded to 1: use the margin argument": hard_d,
            "dscores at the correct class is missing: it is -(number of classes with a positive margin) / N": pos / n,
            "dscores has the wrong sign": -ref_d,
        },
    }


def _check_hinge_case(hinge_loss, scores, y, margin, pass_margin: bool) -> float:
    ref_loss, ref_d = _hinge_reference(scores, y, margin)
    args = (scores.clone(), y.clone()) + ((margin,) if pass_margin else ())
    loss, d = _pair("hinge_loss", hinge_loss(*args))
    variants = _hinge_variants(scores, y, margin, ref_loss, ref_d)
    where = f"scores of shape {tuple(scores.shape)}, margin={margin}"
    diff = _compare_named(f"loss ({where})", ref_loss, _scalar("loss", loss), variants["loss"])
    return max(diff, _compare_named(f"dscores ({where})", ref_d, d, variants["dscores"]))


@run_check("hinge loss")
def check_hinge_loss(hinge_loss, seed: int = 0):
    """With the default margin 1, do loss and dscores match C * F.multi_margin_loss and its gradient?"""
    diff = 0.0
    for scores, y in _score_cases(seed, ((4, 3), (7, 10), (1, 5)), scale=1.0):
        diff = max(diff, _check_hinge_case(hinge_loss, scores, y, 1.0, pass_margin=False))
    return "loss and gradient match torch's multi_margin_loss (times C) on 3 batches", diff


@run_check("hinge loss, margin")
def check_hinge_margin(hinge_loss):
    """Is the margin argument used (margins 0.5, 2 and 0)?"""
    diff = 0.0
    for margin, (scores, y) in zip((0.5, 2.0, 0.0), _score_cases(3, ((6, 4), (5, 7), (8, 3)), scale=1.0)):
        diff = max(diff, _check_hinge_case(hinge_loss, scores, y, margin, pass_margin=True))
    return "right for margins 0.5, 2 and 0", diff


# ---------------------------------------------------------------------------------------------
# Activations: forward(x) -> (out, cache), backward(dout, cache) -> dx
# ---------------------------------------------------------------------------------------------

ACTIVATIONS = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}


def _activation_variants(kind, x, out, dout):
    if kind == "sigmoid":
        return {
            "the derivative uses the input x instead of the output: sigma'(x) = out * (1 - out)": dout * x * (1 - x),
            "the upstream gradient dout is not multiplied in (chain rule: dx = dout * out * (1 - out))": out
            * (1 - out),
            "the derivative is out * (1 + out); it is out * (1 - out)": dout * out * (1 + out),
        }
    if kind == "tanh":
        return {
            "the derivative uses the input x instead of the output: tanh'(x) = 1 - out**2": dout * (1 - x * x),
            "the upstream gradient dout is not multiplied in (chain rule: dx = dout * (1 - out**2))": 1 - out * out,
            "the derivative is 1 - out; it is 1 - out**2": dout * (1 - out),
        }
    return {
        "the gradient at x == 0 must be 0 as in torch (mask x > 0, not x >= 0)": dout * (x >= 0),
        "the mask is taken from dout; it must come from the input (x > 0)": dout * (dout > 0),
        "the mask is inverted: the gradient passes where x > 0": dout * (x <= 0),
        "the upstream gradient dout is not multiplied in (dx = dout * (x > 0))": (x > 0).double(),
    }


@run_check("activation forward and backward")
def check_activation(forward, backward, kind: str, seed: int = 0):
    """Do forward(x) -> (out, cache) and backward(dout, cache) -> dx match torch's activation and autograd?"""
    if kind not in ACTIVATIONS:
        raise CheckArgumentError(f"kind: expected one of {tuple(ACTIVATIONS)}, got {kind!r}")
    gen = torch.Generator().manual_seed(seed)
    diff = 0.0
    for shape in ((4, 6), (2, 3, 5)):
        x = torch.randn(shape, generator=gen, dtype=torch.float64) * 3
        x.view(-1)[:4] = 0.0  # exact zeros: where ReLU's gradient is defined by convention (0, as torch)
        dout = torch.randn(shape, generator=gen, dtype=torch.float64)
        xg = x.clone().requires_grad_()
        ref_out = ACTIVATIONS[kind](xg)
        ref_out.backward(dout)
        x_in = x.clone()
        out, cache = _pair(f"{kind}_forward", forward(x_in), "(out, cache)")
        if not torch.equal(x_in, x):
            raise CheckFailed(f"{kind}_forward changed its input x in place; compute a new tensor instead")
        where = f"x of shape {tuple(shape)}"
        diff = max(diff, compare(f"{kind}_forward output ({where})", ref_out.detach(), out, ATOL, RTOL))
        dx = backward(dout.clone(), cache)
        variants = _activation_variants(kind, x, ref_out.detach(), dout)
        diff = max(diff, _compare_named(f"{kind}_backward dx ({where})", xg.grad, dx, variants))
    return f"{kind} forward and backward match torch (2 shapes)", diff


def _maxout_reference(x, W, b):
    xs, Ws, bs = (t.detach().clone().requires_grad_() for t in (x, W, b))
    z = torch.einsum("nd,kdm->nkm", xs, Ws) + bs[None]  # (N, k, M): the k affine pieces
    out = z.max(dim=1).values
    return out, (xs, Ws, bs)


@run_check("maxout forward and backward")
def check_maxout(maxout_forward, maxout_backward, seed: int = 0):
    """Does maxout_forward(x, W, b) = max_j (x @ W[j] + b[j]) and its backward match autograd?"""
    gen = torch.Generator().manual_seed(seed)
    diff = 0.0
    for n, d, k, m in ((5, 4, 3, 6), (2, 7, 2, 3)):
        x = torch.randn(n, d, generator=gen, dtype=torch.float64)
        W = torch.randn(k, d, m, generator=gen, dtype=torch.float64)
        b = torch.randn(k, m, generator=gen, dtype=torch.float64)
        dout = torch.randn(n, m, generator=gen, dtype=torch.float64)
        ref_out, (xs, Ws, bs) = _maxout_reference(x, W, b)
        ref_out.backward(dout)
        where = f"x {tuple(x.shape)}, W {tuple(W.shape)}"
        out, cache = _pair("maxout_forward", maxout_forward(x.clone(), W.clone(), b.clone()), "(out, cache)")
        z = torch.einsum("nd,kdm->nkm", x, W) + b[None]
        fwd_variants = {
            "the max is taken over the wrong axis: it runs over the k pieces (W[j] for j < k)": z.max(dim=2).values,
            "the bias is missing: z_j = x @ W[j] + b[j]": torch.einsum("nd,kdm->nkm", x, W).max(dim=1).values,
        }
        diff = max(diff, _compare_named(f"maxout_forward output ({where})", ref_out.detach(), out, fwd_variants))
        grads = maxout_backward(dout.clone(), cache)
        if not isinstance(grads, (tuple, list)) or len(grads) != 3:
            raise CheckFailed(f"maxout_backward must return (dx, dW, db), got {type(grads).__name__}")
        # The known mistake: every piece gets the gradient, not only the one that won the max.
        all_x = torch.einsum("nm,kdm->nd", dout, W)
        all_W = torch.einsum("nd,nm->dm", x, dout)[None].expand_as(W)
        all_b = dout.sum(0)[None].expand_as(b)
        spread = "the gradient flows into every piece; only the piece that won the max (argmax over k) gets it"
        for name, ref, got, wrong in (
            ("dx", xs.grad, grads[0], all_x),
            ("dW", Ws.grad, grads[1], all_W),
            ("db", bs.grad, grads[2], all_b),
        ):
            diff = max(diff, _compare_named(f"maxout_backward {name} ({where})", ref, got, {spread: wrong}))
    return "forward, dx, dW and db match autograd (2 shapes)", diff
