"""Judge of 06_training: the student's Dropout and loops on secret models, data and hyperparameters.

Probes (adl4cv_utils.checks.training.probes) run the student's code in the grading kernel on models and
data drawn here and return what it did: outputs, gradients, the weights after, the train/eval mode
and grad mode at every forward call, what the loss function was given. The reference loops
(training_loops.py) run here on the same weights and data; known mistakes are simulated to name them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from adl4cv_grading.exercises.training import judge_dropout as D
from adl4cv_grading.exercises.training import judge_loops as L
from adl4cv_grading.judge_tests import Context, judge_test
from adl4cv_utils.checks.result import CheckFailed, compare
from adl4cv_utils.checks.training.dropout import check_eval_identity

# ---------------------------------------------------------------------------------------------
# Dropout
# ---------------------------------------------------------------------------------------------


@judge_test("dropout_train", "Dropout")
def dropout_train(ctx: Context):
    shape = (ctx.randint(60, 120, "rows"), ctx.randint(100, 200, "cols"))
    return D.dropout_train(ctx, D.draw_p(ctx, "train", 0.15, 0.45), shape)


@judge_test("dropout_eval", "Dropout")
def dropout_eval(ctx: Context):
    x = torch.rand(ctx.randint(20, 60, "rows"), ctx.randint(20, 60, "cols"), generator=ctx.generator("x")) + 0.5
    p = D.draw_p(ctx, "eval", 0.3, 0.7)
    seed = ctx.randint(0, 2**31 - 1, "seed")
    info = ctx.probe("training.dropout", p=p, x=x, grad_out=torch.ones_like(x), seed=seed, train=False)
    if not info.get("module"):
        raise CheckFailed(f"Dropout({p}) must be an nn.Module")
    out = info.get("out")
    check_eval_identity(x, out, p)
    info = ctx.probe("training.dropout", p=0.0, x=x, grad_out=torch.ones_like(x), seed=seed, train=True)
    try:
        compare("output in training mode with p=0", x, info.get("out"), 0.0, 0.0)
    except CheckFailed as fail:
        fail.message += "; with p=0 nothing may be dropped or scaled"
        raise
    return f"identity in eval mode (p={p}) and with p=0"


@judge_test("dropout_p", "Dropout")
def dropout_p(ctx: Context):
    bad = [-D.draw_p(ctx, "neg", 0.01, 0.5), 1.0, D.draw_p(ctx, "big", 1.01, 3.0)]
    good = [0.0, D.draw_p(ctx, "good", 0.05, 0.95), 0.99]
    got = ctx.probe("training.dropout_construct", ps=bad + good)
    if not (isinstance(got, list) and len(got) == len(bad) + len(good)):
        raise CheckFailed("the probe got no answer for every p", got=repr(got)[:200])
    for p, what in zip(bad, got):
        if what == "ok":
            raise CheckFailed(f"Dropout({p}) must raise ValueError: p is a probability in [0, 1) (p=1 drops all)")
        if what != "ValueError":
            raise CheckFailed(f"Dropout({p}) raised {what}; it must raise ValueError")
    for p, what in zip(good, got[len(bad) :]):
        if what != "ok":
            raise CheckFailed(f"Dropout({p}) raised {what}: p in [0, 1) is a valid probability")
    return f"ValueError for p = {', '.join(map(str, bad))}; p = {', '.join(map(str, good))} accepted"


@judge_test("dropout_hidden", "Dropout")
def dropout_hidden(ctx: Context):
    shape = (ctx.randint(6, 10, "n"), ctx.randint(3, 6, "c"), ctx.randint(8, 12, "h"), ctx.randint(8, 12, "w"))
    return D.dropout_train(ctx, D.draw_p(ctx, "hidden", 0.4, 0.6), shape)


# ---------------------------------------------------------------------------------------------
# overfit_one_batch
# ---------------------------------------------------------------------------------------------


def _losses(value, steps: int) -> torch.Tensor:
    if not isinstance(value, list):
        raise CheckFailed(f"overfit_one_batch must return a list of losses, got {type(value).__name__}")
    if len(value) != steps:
        raise CheckFailed(f"expected one loss per step ({steps}), got {len(value)}")
    for i, v in enumerate(value):
        if torch.is_tensor(v):
            raise CheckFailed(f"losses[{i}] is a tensor: store loss.item() (a float) instead")
        L.as_float(f"losses[{i}]", v)
    return torch.tensor(value, dtype=torch.float64)


def _same_state(a: dict, b: dict) -> bool:
    return set(a) == set(b) and all(torch.allclose(a[k].double(), b[k].double(), atol=1e-5, rtol=1e-4) for k in a)


def _overfit_curve(ctx: Context, salt: str, lr: float, steps: int, arrive_eval: bool = False):
    case = L.Case(ctx, salt, ctx.randint(6, 12, "n:" + salt))
    info = ctx.probe(
        "training.overfit", spec=case.spec, state=case.state, x=case.x, y=case.y, lr=lr, steps=steps,
        train=not arrive_eval,
    )  # fmt: skip
    got = _losses(info.get("losses"), steps)
    ref = case.model()
    expected = torch.tensor(L.overfit(ref, case.x, case.y, lr, steps), dtype=torch.float64)
    try:
        diff = compare("loss curve", expected, got, atol=1e-5, rtol=1e-4)
    except CheckFailed as fail:
        first = int(((got - expected).abs() > 1e-5 + 1e-4 * expected.abs()).double().argmax())
        fail.message = (
            f"with lr={lr} and steps={steps} the loss curve leaves the reference at step {first} "
            f"({got[first]:.5f} vs {expected[first]:.5f})"
        )
        for mistake, hint in L.OVERFIT_MISTAKES.items():
            variant = torch.tensor(L.overfit(case.model(), case.x, case.y, lr, steps, mistake), dtype=got.dtype)
            if torch.allclose(variant, got, atol=1e-5, rtol=1e-4):
                fail.message += f"; looks like {hint}"
                break
        raise
    state = info.get("state") or {}
    if _same_state(state, case.state):
        raise CheckFailed("the model passed in was not trained: train `model` itself, not a copy")
    if not _same_state(state, ref.state_dict()):
        raise CheckFailed("the model's weights after training differ from the reference's: train `model` itself")
    calls = info.get("calls") or []
    if not calls or not all(c[0] for c in calls):
        raise CheckFailed(
            "the model was not in train mode at every step (it arrived in eval mode): call model.train()",
            expected="training=True at every forward call",
            got=[c[0] for c in calls],
        )
    return f"{steps} steps at lr={lr}, loss {got[0]:.3f} -> {got[-1]:.4f} as the reference", diff


@judge_test("overfit_curve", "overfit_one_batch")
def overfit_curve(ctx: Context):
    lr = [5e-3, 1e-2, 2e-2][ctx.randint(0, 3, "lr")]
    return _overfit_curve(ctx, "curve", lr, ctx.randint(15, 30, "steps"))


@judge_test("overfit_zero", "overfit_one_batch")
def overfit_zero(ctx: Context):
    case = L.Case(ctx, "zero", 16, classes=10, in_features=64, hidden=32)
    info = ctx.probe("training.overfit", spec=case.spec, state=case.state, x=case.x, y=case.y)
    got = _losses(info.get("losses"), 200)
    reached = L.overfit(case.model(), case.x, case.y, 1e-2, 200)[-1]
    bound = max(0.01, 2 * reached)  # the reference memorises any such batch; the bound keeps a margin
    if not got[-1] < bound:
        raise CheckFailed(
            f"the final loss after 200 steps should be below {bound:.3g}: one batch can be memorised",
            f"< {bound:.3g}",
            float(got[-1]),
        )
    return f"loss {got[0]:.3f} -> {got[-1]:.2e} in 200 steps"


@judge_test("overfit_hidden", "overfit_one_batch")
def overfit_hidden(ctx: Context):
    lr = [1e-3, 3e-3, 5e-3][ctx.randint(0, 3, "lr")]
    return _overfit_curve(ctx, "hidden", lr, ctx.randint(5, 15, "steps"), arrive_eval=True)


# ---------------------------------------------------------------------------------------------
# train_one_epoch
# ---------------------------------------------------------------------------------------------


def _diagnose_train(case: L.Case, batch_size, lr, got_loss, got_state, mistakes, prefill=None) -> str:
    pairs = [f"{a}+{b}" for i, a in enumerate(mistakes) for b in mistakes[i + 1 :]]
    for mistake in list(mistakes) + pairs:
        m = case.model()
        for p in m.parameters() if prefill is not None else ():
            p.grad = torch.full_like(p, prefill)
        loss = L.epoch(m, case.loader(batch_size), torch.optim.SGD(m.parameters(), lr=lr), F.cross_entropy, mistake)
        if abs(loss - got_loss) <= 1e-4 * (1 + abs(loss)) and _same_state(got_state, m.state_dict()):
            return " and ".join(L.TRAIN_MISTAKES[m] for m in mistake.split("+"))
    return ""


def _train(ctx: Context, salt: str, n: int, batch_size: int, lr: float, mistakes=(), prefill=None, **spec):
    case = L.Case(ctx, salt, n, **spec)
    info = ctx.probe(
        "training.train_epoch", spec=case.spec, state=case.state, x=case.x, y=case.y, batch_size=batch_size, lr=lr,
        prefill=prefill,
    )  # fmt: skip
    got = L.as_float("train_one_epoch's return value", info.get("value"))
    ref = case.model()
    expected = L.epoch(ref, case.loader(batch_size), torch.optim.SGD(ref.parameters(), lr=lr), F.cross_entropy)
    state = info.get("state") or {}
    wrong_params = not _same_state(state, ref.state_dict())
    wrong_loss = abs(got - expected) > 1e-5 * (1 + abs(expected))
    hint = ""
    if wrong_params or wrong_loss:
        hint = _diagnose_train(case, batch_size, lr, got, state, mistakes, prefill)
        if prefill is not None and not hint and wrong_params:
            hint = (
                "the model arrived with leftover gradients in .grad and they were added to the first step: "
                "call optimizer.zero_grad() before every loss.backward()"
            )
    where = f"{n} samples in batches of {batch_size}"
    for name, value in ref.state_dict().items():
        if name not in state or not torch.allclose(state[name].double(), value.double(), atol=1e-5, rtol=1e-4):
            raise CheckFailed(
                f"after one epoch ({where}) parameter {name} differs from the reference"
                + (f"; looks like {hint}" if hint else ""),
                expected=value,
                got=state.get(name),
            )
    if wrong_loss:
        raise CheckFailed(
            f"the returned mean loss ({where}) differs" + (f"; looks like {hint}" if hint else ""), expected, got
        )
    return info, abs(got - expected)


@judge_test("train_epoch", "train_one_epoch")
def train_epoch(ctx: Context):
    batch_size = ctx.randint(5, 10, "b")
    n = batch_size * ctx.randint(3, 6, "k")
    _, diff = _train(
        ctx, "epoch", n, batch_size, 0.05 * ctx.randint(1, 5, "lr"), ("no_zero_grad", "softmax", "no_step")
    )
    return f"mean loss and parameters match the reference loop ({n} samples in batches of {batch_size})", diff


@judge_test("train_zero_grad", "train_one_epoch")
def train_zero_grad(ctx: Context):
    batch_size = ctx.randint(4, 8, "b")
    prefill = float(ctx.randint(1, 6, "prefill"))
    _, diff = _train(ctx, "zero", batch_size * 4, batch_size, 0.1, ("no_zero_grad",), prefill=prefill)
    return "every step uses only its own batch's gradient", diff


@judge_test("train_partial_batch", "train_one_epoch")
def train_partial_batch(ctx: Context):
    batch_size = ctx.randint(4, 8, "b")
    n = batch_size * ctx.randint(2, 4, "k") + ctx.randint(1, batch_size, "r")
    _, diff = _train(ctx, "partial", n, batch_size, 0.0, ("equal_weight", "nominal", "drop_last"))
    return f"the partial last batch of {n % batch_size} samples is weighted by its size", diff


@judge_test("train_mode", "train_one_epoch")
def train_mode(ctx: Context):
    case = L.Case(ctx, "mode", ctx.randint(8, 16, "n"), dropout=True)
    info = ctx.probe(
        "training.train_epoch", spec=case.spec, state=case.state, x=case.x, y=case.y, batch_size=4, lr=0.1,
        train=False,
    )  # fmt: skip
    calls = [c[0] for c in info.get("calls") or []]
    if not calls:
        raise CheckFailed("the model was never called")
    if not all(calls):
        raise CheckFailed(
            "the model was in eval mode during training (dropout and BatchNorm behave as at test time): "
            "call model.train() at the start of train_one_epoch",
            expected="training=True at every forward call",
            got=calls,
        )
    if info.get("mode") is not True:
        raise CheckFailed("after train_one_epoch the model must be in train mode (it was switched back to eval)")
    return f"train mode at all {len(calls)} forward calls"


@judge_test("train_logits", "train_one_epoch")
def train_logits(ctx: Context):
    batch_size = ctx.randint(3, 6, "b")
    case = L.Case(ctx, "logits", batch_size * ctx.randint(2, 5, "k"))
    info = ctx.probe(
        "training.train_epoch", spec=case.spec, state=case.state, x=case.x, y=case.y, batch_size=batch_size, lr=0.1,
    )  # fmt: skip
    given, outputs = info.get("loss_inputs") or [], info.get("outputs") or []
    batches = len(case.loader(batch_size))
    if len(given) != batches or len(outputs) < len(given):
        raise CheckFailed(f"expected loss_fn to be called once per batch ({batches} times), got {len(given)}")
    for i, (out, pred) in enumerate(zip(outputs, given)):
        if torch.is_tensor(pred) and pred.shape == out.shape and torch.allclose(pred, out, atol=1e-6):
            continue
        hint = ""
        if torch.is_tensor(pred) and pred.shape == out.shape:
            if torch.allclose(pred, torch.softmax(out, dim=1), atol=1e-6):
                hint = "; looks like softmax is applied before a loss that takes logits: pass the raw model output"
            elif torch.allclose(pred, torch.log_softmax(out, dim=1), atol=1e-6):
                hint = "; looks like log_softmax is applied before F.cross_entropy, which applies it itself"
        raise CheckFailed(f"batch {i}: loss_fn did not get the model's output{hint}", expected=out, got=pred)
    return f"loss_fn got the raw logits in all {len(given)} batches"


@judge_test("train_hidden", "train_one_epoch")
def train_hidden(ctx: Context):
    batch_size = ctx.randint(6, 12, "b")
    n = batch_size * ctx.randint(3, 5, "k") + ctx.randint(2, batch_size, "r")  # BatchNorm: no batch of 1
    _, diff = _train(ctx, "hidden", n, batch_size, 0.05, ("no_zero_grad", "softmax", "no_step"), bn=True, classes=5)
    return f"another model (with BatchNorm) and data set: {n} samples in batches of {batch_size} match", diff


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------


def _evaluate_values(ctx: Context, salt: str, **spec):
    batch_size = ctx.randint(3, 7, "b:" + salt)
    n = batch_size * ctx.randint(2, 4, "k:" + salt) + ctx.randint(1, batch_size, "r:" + salt)
    case = L.Case(ctx, salt, n, **spec)
    with torch.no_grad():  # about half the labels the model's own answers: accuracies well inside (0, 1)
        right = torch.rand(n, generator=ctx.generator("right:" + salt)) < 0.5
        case.y = torch.where(right, case.model(False)(case.x).argmax(1), case.y)
    info = ctx.probe("training.evaluate", spec=case.spec, state=case.state, x=case.x, y=case.y, batch_size=batch_size)
    out = info.get("first")
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"evaluate must return (mean loss, accuracy), got {type(out).__name__}")
    got = (L.as_float("mean loss", out[0]), L.as_float("accuracy", out[1]))
    expected = L.evaluate(case.model(False), case.loader(batch_size), F.cross_entropy)
    variants = L.eval_variants(case.model(False), case.loader(batch_size))
    for i, what in enumerate(("loss", "accuracy")):
        if abs(got[i] - expected[i]) > 1e-5 * (1 + abs(expected[i])):
            hint = next((h for h, v in variants[what].items() if abs(got[i] - v) <= 1e-4 * (1 + abs(v))), "")
            raise CheckFailed(
                f"the {'mean loss' if i == 0 else 'accuracy'} over {n} samples in batches of {batch_size} differs"
                + (f"; looks like {hint}" if hint else ""),
                expected[i],
                got[i],
            )
    return f"loss {got[0]:.4f} and accuracy {got[1]:.2f} as the reference", max(
        abs(a - b) for a, b in zip(got, expected)
    )


@judge_test("evaluate_values", "evaluate")
def evaluate_values(ctx: Context):
    return _evaluate_values(ctx, "values")


@judge_test("evaluate_mode", "evaluate")
def evaluate_mode(ctx: Context):
    case = L.Case(ctx, "mode", ctx.randint(8, 16, "n"), dropout=True, bn=True)
    for start in (True, False):
        info = ctx.probe(
            "training.evaluate", spec=case.spec, state=case.state, x=case.x, y=case.y, batch_size=4, train=start
        )
        calls = info.get("calls") or []
        if not calls:
            raise CheckFailed("the model was never called")
        if any(c[0] for c in calls):
            raise CheckFailed(
                "the model was in train mode during evaluation (dropout drops, BatchNorm uses batch statistics): "
                "call model.eval() first",
                expected="training=False at every forward call",
                got=[c[0] for c in calls],
            )
        if any(c[1] for c in calls):
            raise CheckFailed("gradients were enabled during evaluation: wrap the loop in torch.no_grad()")
        state = info.get("state") or {}
        for name, value in case.state.items():
            if name not in state or not torch.equal(state[name], value):
                raise CheckFailed(f"evaluate changed {name}: evaluation must not change the model")
        if info.get("mode") is not start:
            raise CheckFailed(
                f"the model came in {'train' if start else 'eval'} mode and left in "
                f"{'eval' if start else 'train'} mode: remember model.training and restore it "
                "with model.train(was_training)"
            )
        first, second = info.get("first"), info.get("second")
        if not isinstance(first, (tuple, list)) or len(first) != 2 or repr(first) != repr(second):
            raise CheckFailed("two evaluations of the same model give different results (is dropout still on?)")
    return "eval mode and no gradients at every call, model unchanged, mode restored"


@judge_test("evaluate_hidden", "evaluate")
def evaluate_hidden(ctx: Context):
    return _evaluate_values(ctx, "hidden", bn=True, classes=7)
