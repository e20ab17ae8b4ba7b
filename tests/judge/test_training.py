"""Does the judge give 06_training's points for what the code computes on its secret inputs, and only then?

Wrong answers are the reference cells with one known mistake edited in (the self-checks' mistake
tables); each notebook handed to the judge carries at most one wrong answer per answer cell, so one
judge run rules on several mistakes at once (the answer cells' tests are independent).
"""

from __future__ import annotations

import inspect

import torch

from adl4cv_utils.probing import PROBES
from tests.checks import test_training as checks
from tests.judge.harness import edited, groups

A = "06_training"
CELLS = {
    "dropout": ("dropout_train", "dropout_eval", "dropout_p", "dropout_hidden"),
    "overfit_one_batch": ("overfit_curve", "overfit_zero", "overfit_hidden"),
    "train_one_epoch": ("train_epoch", "train_zero_grad", "train_partial_batch", "train_mode", "train_logits",
                        "train_hidden"),
    "evaluate": ("evaluate_values", "evaluate_mode", "evaluate_hidden"),
}  # fmt: skip


def _d(*edits):
    return "dropout", edited(A, "dropout", *edits)


def _o(*edits):
    return "overfit_one_batch", edited(A, "overfit_one_batch", *edits)


def _t(*edits):
    return "train_one_epoch", edited(A, "train_one_epoch", *edits)


def _e(*edits):
    return "evaluate", edited(A, "evaluate", *edits)


KEEP = "keep = (torch.rand(x.shape, device=x.device) >= self.p).to(x.dtype)"
REUSE = (
    "if getattr(self, 'mask', None) is None:\n"
    "            self.mask = (torch.rand(x.shape, device=x.device) >= self.p).to(x.dtype)\n"
    "        keep = self.mask"
)
F_DROPOUT = """class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError("p")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)
"""
ALIAS_DROPOUT = "drop = F.dropout\n\n\n" + F_DROPOUT.replace("F.dropout(", "drop(")
SUBCLASS_DROPOUT = "class Dropout(nn.Dropout):\n    pass\n"
BERNOULLI = ("keep = (torch.rand(x.shape, device=x.device) >= self.p).to(x.dtype)",
             "keep = torch.empty_like(x).bernoulli_(1 - self.p)")  # fmt: skip
# the loops handed out in the notebook (the self-checks' buggy versions), as answer cells
HANDED_OUT_TRAIN, HANDED_OUT_EVALUATE = (
    inspect.getsource(f).replace("def buggy_", "def ") for f in (checks.buggy_train_one_epoch, checks.buggy_evaluate)
)
RETURN = "return total / count, correct / count"
CORRECT = "correct += (logits.argmax(dim=1) == y).sum().item()"
YOURSELF = "the exercise is to write it yourself"

# name -> ((answer cell, source), {failing test cell: text its message must hold ("" any, None: may pass)});
# the answer cell's other test cells must pass.
WRONG = {
    "dropout without scaling": (_d(("x * keep / (1.0 - self.p)", "x * keep")),
                                {"dropout_train": "not scaled", "dropout_hidden": "not scaled"}),
    "dropout keeps with probability p": (_d((">= self.p", "< self.p")),
                                         {"dropout_train": "probability to DROP", "dropout_hidden": None}),
    "dropout scaled by 1/p": (_d(("/ (1.0 - self.p)", "/ self.p")),
                              {"dropout_train": "divided by p", "dropout_hidden": None}),
    "dropout with one mask per feature": (_d(("torch.rand(x.shape,", "torch.rand(x.shape[1:],")),
                                          {"dropout_train": "same mask", "dropout_hidden": "same mask"}),
    "dropout reusing its mask": (_d((KEEP, REUSE)),
                                 {"dropout_train": "draw a new mask", "dropout_hidden": "draw a new mask"}),
    "dropout detaching x": (_d(("return x * keep", "return x.detach() * keep")),
                            {"dropout_train": "detached", "dropout_hidden": "detached"}),
    "non-inverted dropout in eval": (
        _d(("if not self.training or self.p == 0.0:\n            return x",
            "if not self.training:\n            return x * (1 - self.p)\n"
            "        if self.p == 0.0:\n            return x")),
        {"dropout_eval": "scales by (1 - p)"}),
    "dropout dropping in eval": (_d(("if not self.training or self.p == 0.0:", "if self.p == 0.0:")),
                                 {"dropout_eval": "dropped in eval mode"}),
    "dropout without ValueError": (_d(("raise ValueError(", "print(")), {"dropout_p": "must raise ValueError"}),
    # the constructor (dropout_p) is the student's own: it keeps its point (flagged for review)
    "dropout delegating to F.dropout": (
        ("dropout", F_DROPOUT),
        dict.fromkeys(CELLS["dropout"], YOURSELF) | {"dropout_p": None},
    ),
    "dropout delegating through an alias": (
        ("dropout", ALIAS_DROPOUT),
        dict.fromkeys(CELLS["dropout"], YOURSELF) | {"dropout_p": None},
    ),
    "dropout subclassing nn.Dropout": (("dropout", SUBCLASS_DROPOUT),
                                       {"dropout_train": YOURSELF, "dropout_eval": YOURSELF, "dropout_p": None,
                                        "dropout_hidden": YOURSELF}),
    "overfit without zero_grad": (_o(("        optimizer.zero_grad()\n", "")),
                                  {"overfit_curve": "optimizer.zero_grad()", "overfit_zero": None,
                                   "overfit_hidden": None}),
    "overfit with softmax": (_o(("F.cross_entropy(model(x), y)", "F.cross_entropy(torch.softmax(model(x), 1), y)")),
                             {"overfit_curve": "softmax is applied", "overfit_zero": None, "overfit_hidden": None}),
    "overfit with SGD": (_o(("torch.optim.Adam", "torch.optim.SGD")),
                         {"overfit_curve": "the optimizer is SGD", "overfit_zero": None, "overfit_hidden": None}),
    "overfit ignoring lr": (_o(("lr=lr)", ")")),
                            {"overfit_curve": "lr is not passed", "overfit_zero": None, "overfit_hidden": None}),
    "overfit storing tensors": (_o(("append(loss.item())", "append(loss)")),
                                dict.fromkeys(CELLS["overfit_one_batch"], "loss.item()")),
    "overfit training a copy": (_o(("    x, y = batch\n", "    x, y = batch\n    import copy\n\n"
                                    "    model = copy.deepcopy(model)\n")),
                                {"overfit_curve": "not a copy", "overfit_hidden": "not a copy"}),
    "overfit without model.train()": (_o(("    model.train()\n", "")), {"overfit_hidden": "train mode"}),
    "overfit one step short": (_o(("range(steps)", "range(steps - 1)")),
                               dict.fromkeys(CELLS["overfit_one_batch"], "one loss per step")),
    "train without zero_grad": (_t(("        optimizer.zero_grad()\n", "")),
                                {"train_epoch": "gradients accumulate", "train_zero_grad": "gradients accumulate",
                                 "train_hidden": "gradients accumulate"}),
    "train with zero_grad after the step": (
        _t(("        optimizer.zero_grad()\n", ""),
           ("optimizer.step()\n", "optimizer.step()\n        optimizer.zero_grad()\n")),
        {"train_zero_grad": "leftover gradients"}),
    "train with softmax": (_t(("loss_fn(model(x), y)", "loss_fn(torch.softmax(model(x), dim=1), y)")),
                           {"train_epoch": "softmax is applied before a loss", "train_zero_grad": "",
                            "train_partial_batch": "", "train_logits": "softmax is applied", "train_hidden": ""}),
    "train without model.train()": (_t(("    model.train()\n", "")), {"train_mode": "call model.train()"}),
    "train averaging batch means": (_t(("loss.item() * len(y)", "loss.item()"), ("count += len(y)", "count += 1")),
                                    {"train_partial_batch": "averaged with equal weight", "train_hidden": ""}),
    "train dividing by nominal size": (_t(("count += len(y)", "count += loader.batch_size")),
                                       {"train_partial_batch": "nominal batch size", "train_hidden": ""}),
    "train returning a tensor": (_t(("loss.item() * len(y)", "loss.detach() * len(y)")),
                                 {"train_epoch": "expected a float", "train_zero_grad": "expected a float",
                                  "train_partial_batch": "expected a float", "train_hidden": "expected a float"}),
    "handed-out train loop": (("train_one_epoch", HANDED_OUT_TRAIN),
                              {"train_epoch": "accumulate over the batches", "train_zero_grad": "",
                               "train_partial_batch": "", "train_mode": "call model.train()",
                               "train_logits": "softmax is applied", "train_hidden": ""}),
    "evaluate averaging batch means": (
        _e(("loss_fn(logits, y).item() * len(y)", "loss_fn(logits, y).item()"),
           (RETURN, "return total / len(loader), correct / count")),
        {"evaluate_values": "averaged with equal weight", "evaluate_hidden": "averaged with equal weight"}),
    "evaluate dividing by nominal size": (
        _e((RETURN, "return total / (loader.batch_size * len(loader)), correct / count")),
        {"evaluate_values": "nominal batch size", "evaluate_hidden": "nominal batch size"}),
    "evaluate returning a count": (_e((RETURN, "return total / count, float(correct)")),
                                   {"evaluate_values": "number of right answers",
                                    "evaluate_hidden": "number of right answers"}),
    "evaluate averaging batch accuracies": (
        _e((CORRECT, "correct += (logits.argmax(dim=1) == y).float().mean().item()"),
           (RETURN, "return total / count, correct / len(loader)")),
        {"evaluate_values": "per-batch accuracies", "evaluate_hidden": ""}),
    "evaluate without model.eval()": (_e(("    model.eval()\n", "")), {"evaluate_mode": "call model.eval()"}),
    "evaluate not restoring the mode": (_e(("    model.train(was_training)\n", "")), {"evaluate_mode": "restore it"}),
    "evaluate with gradients": (_e(("torch.no_grad()", "torch.enable_grad()")), {"evaluate_mode": "torch.no_grad()"}),
    "evaluate returning tensors": (_e((CORRECT, CORRECT.removesuffix(".item()"))),
                                   {"evaluate_values": "expected a float", "evaluate_hidden": "expected a float"}),
    "evaluate imported from the package": (("evaluate", "from adl4cv_utils.training import evaluate\n"),
                                           dict.fromkeys(CELLS["evaluate"], YOURSELF)),
    "handed-out evaluate": (("evaluate", HANDED_OUT_EVALUATE),
                            {"evaluate_values": "", "evaluate_mode": "call model.eval()", "evaluate_hidden": ""}),
}  # fmt: skip

RIGHT = {  # valid answers written differently, with allowed building blocks: full marks
    "dropout with bernoulli_": _d(BERNOULLI),
    "train_one_epoch with set_to_none": _t(("optimizer.zero_grad()", "optimizer.zero_grad(set_to_none=True)")),
    "evaluate counting with a tensor sum": _e((CORRECT, "correct += int((logits.argmax(1) == y).sum())")),
}  # fmt: skip


GROUPS = groups(WRONG)

BROKEN = {  # raising or mistyped code: failed verdicts, not a crash (tests/judge/test_notebooks.py)
    "dropout": "class Dropout(nn.Module):\n    def __init__(self, p=0.5):\n        super().__init__()\n\n"
    "    def forward(self, x):\n        return x[:1]\n",
    "overfit_one_batch": "def overfit_one_batch(model, batch, lr=1e-2, steps=200):\n    return 0.0\n",
    "train_one_epoch": "def train_one_epoch(model, loader, optimizer, loss_fn):\n    return 'low'\n",
    "evaluate": "def evaluate(model, loader, loss_fn):\n    raise RuntimeError('boom')\n",
}
BROKEN_EXPECTED = {  # failing test cell -> text its message must hold
    "dropout_train": "the input's shape",
    "dropout_eval": "output in eval mode",
    "overfit_curve": "must return a list",
    "train_epoch": "expected a float",
    "evaluate_values": "raised RuntimeError: boom",
    "evaluate_mode": "raised RuntimeError: boom",
}


def test_probes_leave_the_notebooks_random_state_alone():
    """Does a probe that seeds and draws (in the grading kernel) leave the notebook's RNG as it found it?"""
    ns: dict = {}
    exec(edited(A, "dropout"), {"torch": torch, "nn": torch.nn, "__name__": "nb"}, ns)  # noqa: S102 - the reference
    x, grad = torch.rand(6, 5) + 0.5, torch.ones(6, 5)
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    info = PROBES["training.dropout"](ns, p=0.3, x=x, grad_out=grad, seed=7)
    assert torch.is_tensor(info["out"])
    assert torch.equal(torch.rand(3), before)
