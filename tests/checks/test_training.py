"""Do the 06_training checks pass the reference and name each deliberate mistake?"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import assert_named_failure
from torch import nn

from adl4cv_grading.exercises.training.reference import reference_overfit
from adl4cv_utils.checks import training as T

pytestmark = pytest.mark.usefixtures("one_thread")  # the timings of a grading worker (tests/conftest.py)


# ---------------------------------------------------------------------------------------------
# The reference (the same code as the solution notebook) with switchable mistakes.
# ---------------------------------------------------------------------------------------------


class Dropout(nn.Module):
    def __init__(self, p=0.5, mistake=""):
        super().__init__()
        if not 0.0 <= p < 1.0 and mistake != "no_check":
            raise ValueError(f"p: expected a probability in [0, 1), got {p!r}")
        self.p, self.mistake, self.mask = p, mistake, None

    def forward(self, x):
        p, m = self.p, self.mistake
        if not self.training:
            if m == "eval_drop":
                return x * (torch.rand(x.shape) >= p) / (1 - p)
            return x * (1 - p) if m == "non_inverted" else x
        if p == 0.0:
            return x
        if m == "per_feature":
            keep = (torch.rand(x.shape[1:]) >= p)[None]
        elif m == "reuse":
            self.mask = self.mask if self.mask is not None else torch.rand(x.shape) >= p
            keep = self.mask
        else:
            keep = torch.rand(x.shape) < p if m == "keep_p" else torch.rand(x.shape) >= p
        scale = {"no_scale": 1.0, "non_inverted": 1.0, "by_p": 1 / p}.get(m, 1 / (1 - p))
        x = x.detach() if m == "detached" else x
        return x * keep * scale


def overfit_one_batch(model, batch, lr=1e-2, steps=200, mistake=""):
    if mistake == "copy":
        import copy

        model = copy.deepcopy(model)
    if mistake in T.OVERFIT_MISTAKES:
        return reference_overfit(model, batch, lr, steps, mistake)
    x, y = batch
    if mistake != "no_train":
        model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in range(steps - (mistake == "short")):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss if mistake == "tensors" else loss.item())
    return losses


def train_one_epoch(model, loader, optimizer, loss_fn, mistake=""):
    if mistake != "no_train":
        model.train()
    total, count, means = 0.0, 0, []
    for x, y in loader:
        if mistake not in ("no_zero_grad", "zero_grad_after"):
            optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(torch.softmax(out, 1) if mistake == "softmax" else out, y)
        loss.backward()
        optimizer.step()
        if mistake == "zero_grad_after":
            optimizer.zero_grad()
        total += loss.item() * len(y)
        count += len(y)
        means.append(loss.item())
    if mistake == "equal_weight":
        return sum(means) / len(means)
    if mistake == "nominal":
        return total / (loader.batch_size * len(loader))
    if mistake == "tensor":
        return torch.tensor(total / count)
    return total / count


def evaluate(model, loader, loss_fn, mistake=""):
    was = model.training
    if mistake != "no_eval":
        model.eval()
    total, correct, count, means, accs = 0.0, 0, 0, [], []
    with torch.set_grad_enabled(mistake == "grad"):
        for x, y in loader:
            out = model(x)
            total += loss_fn(out, y).item() * len(y)
            correct += (out.argmax(1) == y).sum().item()
            count += len(y)
            means.append(loss_fn(out, y).item())
            accs.append((out.argmax(1) == y).float().mean().item())
    if mistake != "no_restore":
        model.train(was)
    loss, acc = total / count, correct / count
    if mistake == "equal_weight":
        loss = sum(means) / len(means)
    if mistake == "nominal":
        loss = total / (loader.batch_size * len(loader))
    if mistake == "count":
        acc = correct
    if mistake == "acc_equal_weight":
        acc = sum(accs) / len(accs)
    if mistake == "tensor":
        loss, acc = torch.tensor(loss), torch.tensor(acc)
    return loss, acc


# The loop handed out in the notebook, with the lecture's common mistakes in it.
def buggy_train_one_epoch(model, loader, optimizer, loss_fn):
    total = 0.0
    for x, y in loader:
        probs = torch.softmax(model(x), dim=1)
        loss = loss_fn(probs, y)
        loss.backward()
        optimizer.step()
        total += loss.item()
    return total / len(loader)


def buggy_evaluate(model, loader, loss_fn):
    total, correct = 0.0, 0
    for x, y in loader:
        logits = model(x)
        total += loss_fn(logits, y).item()
        correct += (logits.argmax(dim=1) == y).sum().item()
    return total / len(loader), correct / (len(loader) * loader.batch_size)


CHECKS_OF = {  # the reference answer -> the checks that take it
    Dropout: (T.check_dropout_train, T.check_dropout_eval, T.check_dropout_p),
    overfit_one_batch: (T.check_overfit_curve, T.check_overfit_reaches_zero),
    train_one_epoch: (
        T.check_train_epoch,
        T.check_train_zero_grad,
        T.check_train_partial_batch,
        T.check_train_mode,
        T.check_train_logits,
    ),
    evaluate: (T.check_evaluate_values, T.check_evaluate_mode),
}
ALL_CHECKS = [(check, answer) for answer, checks in CHECKS_OF.items() for check in checks]


def test_reference_passes_every_check():
    """Does the reference pass every check (and the hidden variants), each well under 2 s?"""
    results = [check(f) for check, f in ALL_CHECKS] + [
        T.check_dropout_train(Dropout, p=0.5, shape=(8, 4, 10, 10)),
        T.check_overfit_curve(overfit_one_batch, lr=3e-3, steps=10),
        T.check_train_epoch(train_one_epoch, seed=1),
        T.check_evaluate_values(evaluate, seed=1),
    ]
    for r in results:
        assert r.passed, r.summary()
        assert r.seconds < 10.0, r.summary()  # generous: the machine running the tests may be loaded


def _d(mistake):
    return lambda p=0.5: Dropout(p, mistake)


def _o(mistake):
    return lambda model, batch, lr=1e-2, steps=200: overfit_one_batch(model, batch, lr, steps, mistake)


def _t(mistake):
    return lambda model, loader, opt, loss_fn: train_one_epoch(model, loader, opt, loss_fn, mistake)


def _e(mistake):
    return lambda model, loader, loss_fn: evaluate(model, loader, loss_fn, mistake)


WRONG = {
    "dropout without scaling": (T.check_dropout_train, _d("no_scale"), "not scaled"),
    "dropout keeps with probability p": (T.check_dropout_train, _d("keep_p"), "probability to DROP"),
    "dropout scaled by 1/p": (T.check_dropout_train, _d("by_p"), "divided by p"),
    "dropout with one mask per feature": (T.check_dropout_train, _d("per_feature"), "every sample gets the same mask"),
    "dropout reusing its mask": (T.check_dropout_train, _d("reuse"), "draw a new mask"),
    "dropout detaching x": (T.check_dropout_train, _d("detached"), "detached"),
    "non-inverted dropout in eval": (T.check_dropout_eval, _d("non_inverted"), "scales by (1 - p)"),
    "dropout dropping in eval": (T.check_dropout_eval, _d("eval_drop"), "dropped in eval mode"),
    "dropout without ValueError": (T.check_dropout_p, _d("no_check"), "must raise ValueError"),
    "overfit without zero_grad": (T.check_overfit_curve, _o("no_zero_grad"), "optimizer.zero_grad()"),
    "overfit with softmax": (T.check_overfit_curve, _o("softmax"), "softmax is applied"),
    "overfit with SGD": (T.check_overfit_curve, _o("sgd"), "the optimizer is SGD"),
    "overfit ignoring lr": (T.check_overfit_curve, _o("default_lr"), "lr is not passed"),
    "overfit recording after the step": (T.check_overfit_curve, _o("after_step"), "measured after the update"),
    "overfit storing tensors": (T.check_overfit_curve, _o("tensors"), "loss.item()"),
    "overfit training a copy": (T.check_overfit_curve, _o("copy"), "not a copy"),
    "overfit without model.train()": (T.check_overfit_curve, _o("no_train"), "call model.train()"),
    "overfit one step short": (T.check_overfit_reaches_zero, _o("short"), "one loss per step"),
    "train without zero_grad": (T.check_train_epoch, _t("no_zero_grad"), "gradients accumulate"),
    "train with zero_grad after the step": (T.check_train_zero_grad, _t("zero_grad_after"), "leftover gradients"),
    "train returning a tensor": (T.check_train_epoch, _t("tensor"), "expected a python float, got a tensor"),
    "train with softmax": (T.check_train_epoch, _t("softmax"), "softmax is applied before a loss"),
    "train softmax seen by the loss": (T.check_train_logits, _t("softmax"), "softmax is applied before a loss"),
    "train without model.train()": (T.check_train_mode, _t("no_train"), "call model.train()"),
    "train averaging batch means": (T.check_train_partial_batch, _t("equal_weight"), "averaged with equal weight"),
    "train dividing by nominal size": (T.check_train_partial_batch, _t("nominal"), "nominal batch size"),
    "handed-out train loop": (
        T.check_train_epoch,
        buggy_train_one_epoch,
        "accumulate over the batches: call optimizer.zero_grad() before loss.backward() and softmax",
    ),
    "handed-out loop, logits": (T.check_train_logits, buggy_train_one_epoch, "softmax is applied"),
    "evaluate averaging batch means": (T.check_evaluate_values, _e("equal_weight"), "averaged with equal weight"),
    "evaluate dividing by nominal size": (T.check_evaluate_values, _e("nominal"), "nominal batch size"),
    "evaluate returning a count": (T.check_evaluate_values, _e("count"), "number of right answers"),
    "evaluate averaging batch accuracies": (T.check_evaluate_values, _e("acc_equal_weight"), "per-batch accuracies"),
    "evaluate returning tensors": (T.check_evaluate_values, _e("tensor"), "expected a python float, got a tensor"),
    "evaluate without model.eval()": (T.check_evaluate_mode, _e("no_eval"), "call model.eval()"),
    "evaluate not restoring the mode": (T.check_evaluate_mode, _e("no_restore"), "restore it"),
    "evaluate with gradients": (T.check_evaluate_mode, _e("grad"), "torch.no_grad()"),
    "handed-out evaluate": (T.check_evaluate_mode, buggy_evaluate, "call model.eval()"),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_implementation_is_named(name):
    """Does each deliberately wrong implementation fail with a message that names its mistake?"""
    check, impl, text = WRONG[name]
    assert_named_failure(name, check(impl), text)


def test_broken_code_gives_a_failed_result():
    """Do raising code, stubs, wrong shapes and wrong types give failed results, not exceptions?"""

    class Stub(nn.Module):
        def __init__(self, p=0.5):
            super().__init__()
            raise NotImplementedError

    class Shrinks(Dropout):
        def forward(self, x):
            return x[:1]

    def raises(*args, **kwargs):
        raise RuntimeError("boom")

    cases = [
        (T.check_dropout_train(Stub), "not implemented"),
        (T.check_dropout_train(Shrinks), "the input's shape"),
        (T.check_dropout_train(lambda p: "dropout"), "must be an nn.Module"),
        (T.check_overfit_curve(raises), "raised RuntimeError: boom"),
        (T.check_overfit_curve(lambda model, batch, lr=1e-2, steps=200: 0.0), "must return a list"),
        (T.check_train_epoch(raises), "raised RuntimeError"),
        (T.check_train_epoch(lambda *a: "low"), "expected a float"),
        (T.check_train_epoch(lambda *a: torch.ones(2)), "expected a number"),
        (T.check_evaluate_values(lambda *a: 0.5), "must return (mean loss, accuracy)"),
        (T.check_evaluate_mode(raises), "raised RuntimeError"),
    ]
    for result, text in cases:
        assert not result.passed
        assert text in result.message, result.summary()


def test_wrong_arguments_raise():
    """Do wrong arguments to the checks raise ValueError?"""
    with pytest.raises(ValueError, match="p:"):
        T.check_dropout_train(Dropout, p=1.0)
    with pytest.raises(ValueError, match="steps"):
        T.check_overfit_curve(overfit_one_batch, steps=1)
