"""Do the 01_basics checks pass the reference and name each deliberate mistake?"""

from __future__ import annotations

import pytest
import torch

from adl4cv_grading.exercises.basics.reference import reference_gradient_check
from adl4cv_utils.checks import basics as B
from adl4cv_utils.checks.basics import gradient_check as G

# ---------------------------------------------------------------------------------------------
# The reference (the same code as the solution notebook).
# ---------------------------------------------------------------------------------------------


def softmax_loss(scores, y, shift=True, divide=True, onehot=True):
    n = scores.shape[0]
    shifted = scores - scores.max(dim=1, keepdim=True).values if shift else scores
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    loss = -log_probs[torch.arange(n), y].mean()
    d = torch.exp(log_probs)
    if onehot:
        d[torch.arange(n), y] -= 1
    return loss, d / n if divide else d


def hinge_loss(scores, y, margin=1.0, count_y=False, hard_margin=False, divide=True):
    margin = 1.0 if hard_margin else margin
    n = scores.shape[0]
    rows = torch.arange(n)
    margins = scores - scores[rows, y][:, None] + margin
    if not count_y:
        margins[rows, y] = 0
    pos = (margins > 0).to(scores.dtype)
    loss = (margins * pos).sum() / n
    d = pos.clone()
    d[rows, y] = -(pos.sum(dim=1) - (1 if count_y else 0)) if count_y else -pos.sum(dim=1)
    return loss, d / n if divide else d


def sigmoid_forward(x):
    out = 1 / (1 + torch.exp(-x))
    return out, (x, out)


def sigmoid_backward(dout, cache):
    return dout * cache[1] * (1 - cache[1])


def tanh_forward(x):
    out = torch.tanh(x)
    return out, (x, out)


def tanh_backward(dout, cache):
    return dout * (1 - cache[1] ** 2)


def relu_forward(x):
    return x.clamp(min=0), x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def maxout_forward(x, W, b):
    z = torch.einsum("nd,kdm->nkm", x, W) + b[None]
    out, winner = z.max(dim=1)
    return out, (x, W, winner)


def maxout_backward(dout, cache, spread=False):
    x, W, winner = cache
    if spread:
        dz = dout[:, None, :].expand(-1, W.shape[0], -1)
    else:
        dz = torch.nn.functional.one_hot(winner, W.shape[0]).permute(0, 2, 1).to(dout.dtype) * dout[:, None]
    return torch.einsum("nkm,kdm->nd", dz, W), torch.einsum("nd,nkm->kdm", x, dz), dz.sum(0)


def gradient_check(
    f, x, eps=1e-6, centered=True, dtype=torch.float64, relative=True, hard_eps=None, flat=False, nan_at_zero=False
):
    eps = hard_eps or eps
    x = x.detach().to(dtype).clone()
    analytic = f(x)[1].double()
    numeric = torch.zeros(x.shape, dtype=torch.float64)
    for i in range(x.numel()):
        old = x.view(-1)[i].item()
        x.view(-1)[i] = old + eps
        plus = float(f(x)[0])
        x.view(-1)[i] = old - eps if centered else old
        minus = float(f(x)[0])
        x.view(-1)[i] = old
        numeric.view(-1)[i] = (plus - minus) / (2 * eps if centered else eps)
    err = (analytic - numeric).abs()
    if relative:
        denom = torch.maximum(analytic.abs(), numeric.abs())
        err = err / denom if nan_at_zero else torch.where(denom > 0, err / denom.clamp_min(1e-300), 0.0)
    worst = int(err.nan_to_num(nan=float("inf")).argmax())
    if flat:
        return float(err.view(-1)[worst]), worst
    return float(err.view(-1)[worst]), tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), x.shape))


def test_reference_passes_every_check():
    """Does the reference pass every check, each in well under 2 s?"""
    results = [
        B.check_softmax_loss(softmax_loss),
        B.check_softmax_loss(softmax_loss, seed=1),
        B.check_softmax_stability(softmax_loss),
        B.check_hinge_loss(hinge_loss),
        B.check_hinge_loss(hinge_loss, seed=1),
        B.check_hinge_margin(hinge_loss),
        B.check_activation(sigmoid_forward, sigmoid_backward, "sigmoid"),
        B.check_activation(tanh_forward, tanh_backward, "tanh"),
        B.check_activation(relu_forward, relu_backward, "relu", seed=1),
        B.check_maxout(maxout_forward, maxout_backward),
        B.check_maxout(maxout_forward, maxout_backward, seed=1),
        B.check_gradient_check_correct(gradient_check),
        B.check_gradient_check_wrong(gradient_check),
        B.check_gradient_check_eps(gradient_check),
    ]
    for r in results:
        assert r.passed, r.summary()
        assert r.seconds < 2.0, r.summary()


def _inplace_relu(x):
    x[x < 0] = 0
    return x, x.clone()


WRONG = {
    "no max subtraction": (
        lambda: B.check_softmax_stability(lambda s, y: softmax_loss(s, y, shift=False)),
        "subtract each row's maximum",
    ),
    "softmax grad not divided by N": (
        lambda: B.check_softmax_loss(lambda s, y: softmax_loss(s, y, divide=False)),
        "not divided by the batch size N",
    ),
    "softmax grad without onehot": (
        lambda: B.check_softmax_loss(lambda s, y: softmax_loss(s, y, onehot=False)),
        "misses the -1 at the correct class",
    ),
    "hinge counts the correct class": (
        lambda: B.check_hinge_loss(lambda s, y, margin=1.0: hinge_loss(s, y, margin, count_y=True)),
        "the correct class is counted",
    ),
    "hinge margin hard-coded": (
        lambda: B.check_hinge_margin(lambda s, y, margin=1.0: hinge_loss(s, y, margin, hard_margin=True)),
        "margin is hard-coded to 1",
    ),
    "hinge grad not divided by N": (
        lambda: B.check_hinge_loss(lambda s, y, margin=1.0: hinge_loss(s, y, margin, divide=False)),
        "not divided by the batch size N",
    ),
    "sigmoid derivative from the input": (
        lambda: B.check_activation(sigmoid_forward, lambda d, c: d * c[0] * (1 - c[0]), "sigmoid"),
        "uses the input x instead of the output",
    ),
    "tanh derivative from the input": (
        lambda: B.check_activation(tanh_forward, lambda d, c: d * (1 - c[0] ** 2), "tanh"),
        "uses the input x instead of the output",
    ),
    "relu mask x >= 0": (
        lambda: B.check_activation(relu_forward, lambda d, c: d * (c >= 0), "relu"),
        "gradient at x == 0 must be 0",
    ),
    "relu mask from dout": (
        lambda: B.check_activation(relu_forward, lambda d, c: d * (d > 0), "relu"),
        "mask is taken from dout",
    ),
    "relu forward in place": (
        lambda: B.check_activation(_inplace_relu, relu_backward, "relu"),
        "changed its input x in place",
    ),
    "maxout gradient into every piece": (
        lambda: B.check_maxout(maxout_forward, lambda d, c: maxout_backward(d, c, spread=True)),
        "only the piece that won the max",
    ),
    "maxout max over the wrong axis": (
        lambda: B.check_maxout(
            lambda x, W, b: ((torch.einsum("nd,kdm->nkm", x, W) + b[None]).max(dim=2).values, None),
            maxout_backward,
        ),
        "wrong",
    ),
    "gradient check with forward differences": (
        lambda: B.check_gradient_check_correct(lambda f, x, eps=1e-6: gradient_check(f, x, eps, centered=False)),
        "forward differences",
    ),
    "gradient check in float32": (
        lambda: B.check_gradient_check_correct(lambda f, x, eps=1e-6: gradient_check(f, x, eps, dtype=torch.float32)),
        "float32",
    ),
    "gradient check with the absolute error": (
        lambda: B.check_gradient_check_wrong(lambda f, x, eps=1e-6: gradient_check(f, x, eps, relative=False)),
        "absolute error",
    ),
    "gradient check with a hard-coded eps": (
        lambda: B.check_gradient_check_eps(lambda f, x, eps=1e-6: gradient_check(f, x, eps, hard_eps=1e-6)),
        "eps is hard-coded",
    ),
    "gradient check dividing 0 by 0": (
        lambda: B.check_gradient_check_correct(lambda f, x, eps=1e-6: gradient_check(f, x, eps, nan_at_zero=True)),
        "0 where both are 0",
    ),
    "gradient check with a flat index": (
        lambda: B.check_gradient_check_wrong(lambda f, x, eps=1e-6: gradient_check(f, x, eps, flat=True)),
        "flat index",
    ),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_implementation_is_named(name):
    """Does each deliberately wrong implementation fail with a message that names its mistake?"""
    run, text = WRONG[name]
    result = run()
    assert not result.passed, f"{name} passed"
    assert text in result.message, result.summary()


def test_broken_code_gives_a_failed_result():
    """Do raising code, a wrong shape, a wrong type and a stub give failed results, not exceptions?"""

    def raises(scores, y):
        raise RuntimeError("boom")

    def stub(*args, **kwargs):
        raise NotImplementedError

    cases = [
        (B.check_softmax_loss(raises), "raised RuntimeError: boom"),
        (B.check_softmax_loss(stub), "not implemented"),
        (B.check_softmax_loss(lambda s, y: softmax_loss(s, y)[0]), "must return a pair"),
        (B.check_softmax_loss(lambda s, y: (softmax_loss(s, y)[0], softmax_loss(s, y)[1].sum(1))), "wrong shape"),
        (B.check_hinge_loss(lambda s, y: (torch.zeros(3), s)), "expected a scalar"),
        (B.check_activation(sigmoid_forward, lambda d, c: "dx", "sigmoid"), "expected a tensor"),
        (B.check_maxout(maxout_forward, lambda d, c: (d,)), "must return (dx, dW, db)"),
        (B.check_gradient_check_wrong(lambda f, x, eps=1e-6: 0.5), "must return a pair"),
        (B.check_gradient_check_wrong(stub), "not implemented"),
    ]
    for result, text in cases:
        assert not result.passed
        assert text in result.message, result.summary()


def test_gradient_check_must_restore_x():
    """Is a gradient_check that leaves x perturbed caught?"""

    def leaves_x(f, x, eps=1e-6):
        out = gradient_check(f, x, eps)
        x += eps
        return out

    result = B.check_gradient_check_wrong(leaves_x)
    assert not result.passed and "restore every element" in result.message


def test_wrong_argument_raises():
    """Does a wrong kind passed to check_activation raise ValueError?"""
    with pytest.raises(ValueError, match="kind"):
        B.check_activation(relu_forward, relu_backward, "elu")


def test_reference_gradient_check_agrees_with_autograd():
    """Does the judge's gradient check find a right softmax gradient right (error below 1e-6)?"""
    y = torch.tensor([0, 2, 1])
    err, _ = reference_gradient_check(lambda s: softmax_loss(s, y), torch.randn(3, 4))
    assert err < 1e-6


def test_closed_forms_agree_with_the_judges_reference():
    """Are the closed-form expected errors of the self-checks what the judge's reference computes?"""
    x = torch.randn(2, 5, generator=torch.Generator().manual_seed(2), dtype=torch.float64) * 0.5  # as the check
    for eps in (1e-4, 1e-3):
        err, _ = reference_gradient_check(G._exp3, x, eps=eps)
        assert abs(err - G._centered_error(eps)) < 0.02 * G._centered_error(eps)
        err, _ = reference_gradient_check(G._exp3, x, eps=eps, centered=False)
        assert abs(err - G._forward_error(eps)) < 0.02 * G._forward_error(eps)
    assert reference_gradient_check(G._with_zeros, x)[0] < 1e-9
