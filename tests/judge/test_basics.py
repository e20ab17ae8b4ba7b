"""Does the judge give 01_basics' points for what the code computes on its secret inputs, and only then?

Wrong answers are the reference cells with one known mistake edited in (the self-checks' mistake
table, tests/checks/test_basics.py); one judge run rules on a group of them (one per answer cell).
"""

from __future__ import annotations

from tests.judge.harness import edited, groups

A = "01_basics"
CELLS = {
    "softmax_loss": ("softmax_loss_values", "softmax_loss_stability", "softmax_loss_hidden"),
    "hinge_loss": ("hinge_loss_values", "hinge_loss_margin", "hinge_loss_hidden"),
    "sigmoid": ("sigmoid_test", "activations_hidden"),
    "tanh": ("tanh_test", "activations_hidden"),
    "relu": ("relu_test", "activations_hidden"),
    "maxout": ("maxout_test", "maxout_hidden"),
    "gradient_check": ("gradient_check_right", "gradient_check_wrong", "gradient_check_hidden"),
}
YOURSELF = "the exercise is to write it yourself"


def _x(cell, *edits):
    return cell, edited(A, cell, *edits)


SOFTMAX_AUTOGRAD = """def softmax_loss(scores, y):
    s = scores.detach().clone().requires_grad_()
    loss = torch.nn.functional.cross_entropy(s, y)
    loss.backward()
    return loss.detach(), s.grad
"""
HINGE_TORCH = """import torch.nn.functional as F


def hinge_loss(scores, y, margin=1.0):
    s = scores.detach().clone().requires_grad_()
    loss = F.multi_margin_loss(s, y, margin=margin) * s.shape[1]
    loss.backward()
    return loss.detach(), s.grad
"""
TANH_AUTOGRAD = """def tanh_forward(x):
    return torch.tanh(x), x


def tanh_backward(dout, cache):
    x = cache.detach().clone().requires_grad_()
    torch.tanh(x).backward(dout)
    return x.grad
"""
MAXOUT_AUTOGRAD = """def maxout_forward(x, W, b):
    xs, Ws, bs = (t.detach().clone().requires_grad_() for t in (x, W, b))
    out = (torch.einsum("nd,kdm->nkm", xs, Ws) + bs[None]).max(dim=1).values
    return out.detach(), (out, xs, Ws, bs)


def maxout_backward(dout, cache):
    out, xs, Ws, bs = cache
    out.backward(dout)
    return xs.grad, Ws.grad, bs.grad
"""
GRADIENT_CHECK_AUTOGRAD = """def gradient_check(f, x, eps=1e-6):
    x = x.detach().double().clone().requires_grad_()
    value, analytic = f(x)
    value.backward()
    analytic, numeric = torch.as_tensor(analytic, dtype=torch.float64).detach(), x.grad
    denom = torch.maximum(analytic.abs(), numeric.abs())
    rel = torch.where(denom > 0, (analytic - numeric).abs() / denom.clamp_min(1e-300), 0.0)
    worst = int(rel.argmax())
    return float(rel.view(-1)[worst]), tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), x.shape))
"""
CENTERED = "flat[i] = old - eps\n        minus = float(f(x)[0])"
REL = "torch.where(denom > 0, (analytic - numeric).abs() / denom.clamp_min(1e-300), 0.0)"
COPY = "    x = x.detach().double().clone()"
RETURN = "    return float(rel.view(-1)[worst]), index"
H = "activations_hidden"  # shared by three answer cells: in a group its message may name another mistake

WRONG = {
    "softmax without the max subtraction": (_x("softmax_loss", (" - scores.max(dim=1, keepdim=True).values", "")),
                                            {"softmax_loss_stability": "subtract each row's maximum"}),
    "softmax grad not divided by N": (_x("softmax_loss", ("return loss, dscores / n", "return loss, dscores")),
                                      {"softmax_loss_values": "not divided by the batch size N",
                                       "softmax_loss_stability": None,
                                       "softmax_loss_hidden": "not divided by the batch size N"}),
    "softmax grad without the onehot": (_x("softmax_loss", ("    dscores[rows, y] -= 1\n", "")),
                                        dict.fromkeys(CELLS["softmax_loss"], "misses the -1 at the correct class")),
    "softmax by F.cross_entropy and autograd": (("softmax_loss", SOFTMAX_AUTOGRAD),
                                                dict.fromkeys(CELLS["softmax_loss"], YOURSELF)),
    "hinge counting the correct class": (_x("hinge_loss", ("    margins[rows, y] = 0  # the sum runs over k != y_i\n",
                                                           "")),
                                         {"hinge_loss_values": "the correct class is counted",
                                          "hinge_loss_margin": "", "hinge_loss_hidden": ""}),
    "hinge margin hard-coded": (_x("hinge_loss", ("+ margin  # (N, C)", "+ 1.0  # (N, C)")),
                                {"hinge_loss_margin": "margin is hard-coded to 1"}),
    "hinge grad not divided by N": (_x("hinge_loss", ("return loss, dscores / n", "return loss, dscores")),
                                    {"hinge_loss_values": "not divided by the batch size N", "hinge_loss_margin": "",
                                     "hinge_loss_hidden": ""}),
    "hinge by F.multi_margin_loss and autograd": (("hinge_loss", HINGE_TORCH),
                                                  dict.fromkeys(CELLS["hinge_loss"], YOURSELF)),
    "sigmoid derivative from the input": (_x("sigmoid", ("return out, out", "return out, x")),
                                          {"sigmoid_test": "uses the input x instead of the output", H: ""}),
    "sigmoid by torch.sigmoid": (_x("sigmoid", ("1 / (1 + torch.exp(-x))", "torch.sigmoid(x)")),
                                 {"sigmoid_test": YOURSELF, H: ""}),
    "tanh derivative from the input": (_x("tanh", ("return out, out", "return out, x")),
                                       {"tanh_test": "uses the input x instead of the output", H: ""}),
    "tanh backward by autograd": (("tanh", TANH_AUTOGRAD), {"tanh_test": YOURSELF, H: ""}),
    "relu mask x >= 0": (_x("relu", ("(x > 0)", "(x >= 0)")), {"relu_test": "gradient at x == 0 must be 0", H: ""}),
    "relu mask from dout": (_x("relu", ("return dout * (x > 0)", "return dout * (dout > 0)")),
                            {"relu_test": "mask is taken from dout", H: ""}),
    "relu forward in place": (_x("relu", ("return x.clamp(min=0), x", "x[x < 0] = 0\n    return x, x.clone()")),
                              {"relu_test": "changed its input x in place", H: ""}),
    "relu by torch.relu": (_x("relu", ("x.clamp(min=0)", "torch.relu(x)")), {"relu_test": YOURSELF, H: ""}),
    "maxout gradient into every piece": (
        _x("maxout", ("torch.nn.functional.one_hot(winner, k).permute(0, 2, 1).to(dout.dtype) * dout[:, None, :]",
                      "dout[:, None, :].expand(-1, k, -1)")),
        {"maxout_test": "only the piece that won the max", "maxout_hidden": "only the piece that won the max"}),
    "maxout without the bias": (_x("maxout", (" + b[None]", "")),
                                {"maxout_test": "the bias is missing", "maxout_hidden": "the bias is missing"}),
    "maxout by autograd": (("maxout", MAXOUT_AUTOGRAD), {"maxout_test": YOURSELF, "maxout_hidden": YOURSELF}),
    "gradient check with forward differences": (
        _x("gradient_check", (CENTERED, "flat[i] = old\n        minus = float(f(x)[0])"),
           ("(plus - minus) / (2 * eps)", "(plus - minus) / eps")),
        {"gradient_check_right": "forward differences", "gradient_check_wrong": None, "gradient_check_hidden": ""}),
    "gradient check in float32": (_x("gradient_check", (".double().clone()", ".float().clone()")),
                                  {"gradient_check_right": "float32", "gradient_check_wrong": None,
                                   "gradient_check_hidden": None}),
    "gradient check with the absolute error": (_x("gradient_check", (REL, "(analytic - numeric).abs()")),
                                               {"gradient_check_right": None,
                                                "gradient_check_wrong": "absolute error",
                                                "gradient_check_hidden": None}),
    "gradient check with a hard-coded eps": (_x("gradient_check", (COPY, "    eps = 1e-6\n" + COPY)),
                                             {"gradient_check_hidden": "eps is hard-coded"}),
    "gradient check with a flat index": (_x("gradient_check", (RETURN, "    return float(rel.view(-1)[worst]), worst")),
                                         dict.fromkeys(CELLS["gradient_check"], "flat index")),
    "gradient check with 0/0": (_x("gradient_check", (REL, "(analytic - numeric).abs() / denom")),
                                {"gradient_check_right": "both 0", "gradient_check_hidden": ""}),
    "gradient check leaving x perturbed": (_x("gradient_check", (COPY, "    x_in = x\n" + COPY),
                                              (RETURN, "    x_in += eps\n" + RETURN)),
                                           dict.fromkeys(CELLS["gradient_check"], "restore every element")),
    "gradient check by autograd": (("gradient_check", GRADIENT_CHECK_AUTOGRAD),
                                   {"gradient_check_right": YOURSELF, "gradient_check_wrong": YOURSELF,
                                    "gradient_check_hidden": ""}),
}  # fmt: skip
GROUPS = groups(WRONG)

WRONG["softmax with torch.logsumexp"] = (  # the notebook forbids the ready-made logsumexp too
    _x("softmax_loss", ("torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))",
                        "torch.logsumexp(shifted, dim=1, keepdim=True)")),
    dict.fromkeys(CELLS["softmax_loss"], YOURSELF),
)  # fmt: skip
GROUPS = groups(WRONG)

RIGHT = {  # valid answers written differently, with allowed building blocks: full marks
    "relu with where": _x("relu", ("x.clamp(min=0)", "torch.where(x > 0, x, torch.zeros_like(x))")),
    "maxout with a loop of matmuls": _x("maxout", ('torch.einsum("nd,kdm->nkm", x, W) + b[None]',
                                                   "torch.stack([x @ W[j] + b[j] for j in range(W.shape[0])], 1)")),
}  # fmt: skip

BROKEN = {  # raising or mistyped code: failed verdicts, not a crash (tests/judge/test_notebooks.py)
    "softmax_loss": "def softmax_loss(scores, y):\n    raise RuntimeError('boom')\n",
    "hinge_loss": "def hinge_loss(scores, y, margin=1.0):\n    return torch.zeros(3), scores\n",
    "sigmoid": "def sigmoid_forward(x):\n    return x\n\n\ndef sigmoid_backward(dout, cache):\n    return 'dx'\n",
    "relu": "def relu_forward(x):\n    return x, x\n\n\ndef relu_backward(dout, cache):\n    return 'dx'\n",
    "maxout": edited(A, "maxout", ("return dx, dW, db", "return (dx,)")),
    "gradient_check": "def gradient_check(f, x, eps=1e-6):\n    return 0.5\n",
}
BROKEN_EXPECTED = {  # failing test cell -> text its message must hold
    "softmax_loss_values": "raised RuntimeError: boom",
    "hinge_loss_values": "expected a scalar",
    "sigmoid_test": "must return a pair",
    "relu_test": "relu_forward output",
    "maxout_test": "must return (dx, dW, db)",
    "gradient_check_wrong": "must return a pair",
}
