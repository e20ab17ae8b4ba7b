"""Are a student's train_one_epoch and evaluate right? (chapter 8, exercise 06_training)

Values are compared with those stored in ``checks/expected/training.pt``, computed once by the
instructor's reference loop on the same seeded MLPs and loaders (SGD, ``F.cross_entropy``): the
mean loss of an epoch and the parameters after it, the mean loss and accuracy of an evaluation.
The stored results of the lecture's known mistakes ("you forgot to .zero_grad()", "you passed
softmaxed outputs to a loss that expects raw logits", "people mess up the last batch", ...) name
the mistake when one matches. Behaviour is checked where it matters: a probe layer records
whether the model was in train or eval mode and whether gradients were enabled at every forward
call, and the loss function records what it was given.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from adl4cv_utils.checks.fixtures import as_float, close, expected, loader, mlp, probe_of
from adl4cv_utils.checks.result import CheckFailed, run_check

TRAIN_MISTAKES = {
    "no_zero_grad": "gradients accumulate over the batches: call optimizer.zero_grad() before loss.backward()",
    "softmax": "softmax is applied before a loss that takes logits (F.cross_entropy): pass the raw model output",
    "no_step": "the parameters do not change: call optimizer.step() after loss.backward()",
    "equal_weight": "the batch means are averaged with equal weight; the partial last batch has fewer samples: "
    "sum loss * batch size and divide by the number of samples",
    "nominal": "the total is divided by the nominal batch size times the number of batches; the last batch "
    "is partial: divide by the number of samples seen",
    "drop_last": "the partial last batch is left out of the mean",
}
# (seed, samples, batch size, lr, known mistakes tried) of every stored train_one_epoch case
TRAIN_CASES = {
    "epoch": [
        (0, 40, 8, 0.1, ("no_zero_grad", "softmax", "no_step")),
        (1, 40, 8, 0.1, ("no_zero_grad", "softmax", "no_step")),
    ],
    "zero_grad": [(1, 24, 6, 0.1, ("no_zero_grad",))],
    "partial": [(2, 10, 4, 0.0, ("equal_weight", "nominal", "drop_last"))],
}
EVAL_SEEDS = (0, 1)
EVAL_MISTAKES = {
    "loss": {name: TRAIN_MISTAKES[name] for name in ("equal_weight", "nominal", "softmax")},
    "accuracy": {
        "count": "the accuracy is the number of right answers; return the fraction (right / number of samples)",
        "nominal": "the accuracy divides by the nominal batch size times the number of batches; divide by the "
        "number of samples",
        "equal_weight": "the per-batch accuracies are averaged with equal weight; the partial last batch has "
        "fewer samples",
    },
}


def mistake_combinations(mistakes) -> list[str]:
    """Each known mistake alone, then each pair ('a+b'), in the order they are tried."""
    return list(mistakes) + [f"{a}+{b}" for i, a in enumerate(mistakes) for b in mistakes[i + 1 :]]


def train_key(seed: int, n: int, batch_size: int, lr: float, mistake: str = "") -> str:
    """The key of a stored epoch (``{'loss': float, 'params': [tensors]}``)."""
    return f"epoch/seed={seed}/n={n}/bs={batch_size}/lr={lr:g}/{mistake or 'right'}"


def eval_key(seed: int) -> str:
    """The key of a stored evaluation (loss, accuracy and the values of known mistakes)."""
    return f"evaluate/seed={seed}/n=10/bs=4"


def train_inputs(seed: int, n: int, batch_size: int, lr: float, **model_kwargs):
    """(model, loader, make_optimizer) of a train_one_epoch case."""
    model = mlp(seed, **model_kwargs)
    return model, loader(seed + 100, n, batch_size), lambda m: torch.optim.SGD(m.parameters(), lr=lr)


def eval_inputs(seed: int):
    """(model, loader) of an evaluate case: 10 samples in batches of 4, 4, 2."""
    return mlp(seed + 10), loader(seed + 110, 10, 4)


def _same_params(model, params) -> bool:
    return all(torch.allclose(a.detach(), b, atol=1e-5, rtol=1e-4) for a, b in zip(model.parameters(), params))


def _run_train(train_one_epoch, case, prefill_grad=False):
    seed, n, batch_size, lr, mistakes = case
    want = expected("training", train_key(seed, n, batch_size, lr))
    model0, data, make_opt = train_inputs(seed, n, batch_size, lr)
    mine = copy.deepcopy(model0)
    if prefill_grad:  # leftover gradients from earlier code, as after an evaluation with backward
        for p in mine.parameters():
            p.grad = torch.full_like(p, 3.0)
    out = train_one_epoch(mine, data, make_opt(mine), F.cross_entropy)
    got = as_float("train_one_epoch's return value", out)
    exp_loss = float(want["loss"])
    wrong_params = not _same_params(mine, want["params"])
    hint = ""
    if wrong_params or not close(got, exp_loss):
        for mistake in mistake_combinations(mistakes):
            variant = expected("training", train_key(seed, n, batch_size, lr, mistake))
            if close(got, float(variant["loss"]), 1e-4) and _same_params(mine, variant["params"]):
                hint = " and ".join(TRAIN_MISTAKES[m] for m in mistake.split("+"))
                break
        if prefill_grad and not hint and wrong_params:
            hint = (
                "the model arrived with leftover gradients in .grad and they were added to the first step: "
                "call optimizer.zero_grad() before every loss.backward()"
            )
    where = f"{n} samples in batches of {batch_size}"
    if wrong_params:
        name, a, b = next(
            (name, a.detach(), b)
            for (name, a), b in zip(mine.named_parameters(), want["params"])
            if not torch.allclose(a.detach(), b, atol=1e-5, rtol=1e-4)
        )
        raise CheckFailed(
            f"after one epoch ({where}) parameter {name} differs from the reference"
            + (f"; looks like {hint}" if hint else ""),
            expected=b,
            got=a,
            max_diff=float((a - b).abs().max()) if a.shape == b.shape else None,
        )
    if not close(got, exp_loss):
        raise CheckFailed(
            f"the returned mean loss ({where}) differs" + (f"; looks like {hint}" if hint else ""), exp_loss, got
        )
    as_float("train_one_epoch's return value", out, strict=True)  # right value: now its type
    return abs(got - exp_loss)


def _case(name: str, seed: int | None = None):
    cases = TRAIN_CASES[name]
    return cases[0] if seed is None else next((c for c in cases if c[0] == seed), (seed, 40, 8, 0.1, ()))


# ---------------------------------------------------------------------------------------------
# train_one_epoch
# ---------------------------------------------------------------------------------------------


@run_check("train_one_epoch: loss and parameters")
def check_train_epoch(train_one_epoch, seed: int = 0):
    """Do one epoch's mean loss (a python float) and the parameters after it match a plain torch loop (SGD)?"""
    diff = _run_train(train_one_epoch, _case("epoch", seed))
    return "mean loss (a float) and parameters match the reference loop", diff


@run_check("train_one_epoch: gradients do not accumulate")
def check_train_zero_grad(train_one_epoch):
    """With leftover gradients in .grad at the start, is every step taken with that batch's gradient only?"""
    diff = _run_train(train_one_epoch, _case("zero_grad"), prefill_grad=True)
    return "every step uses only its own batch's gradient", diff


@run_check("train_one_epoch: partial last batch")
def check_train_partial_batch(train_one_epoch):
    """With 10 samples in batches of 4 (4, 4, 2), is the returned loss the mean over the 10 samples?"""
    diff = _run_train(train_one_epoch, _case("partial"))
    return "the partial last batch is weighted by its 2 samples", diff


@run_check("train_one_epoch: train mode")
def check_train_mode(train_one_epoch):
    """Is a model that arrives in eval mode (dropout off) switched to train mode for every step, and left there?"""
    model0, data, make_opt = train_inputs(3, 12, 4, 0.1, dropout=True)
    model = copy.deepcopy(model0).eval()
    train_one_epoch(model, data, make_opt(model), F.cross_entropy)
    calls = probe_of(model).calls
    if not calls:
        raise CheckFailed("the model was never called")
    if not all(training for training, _ in calls):
        raise CheckFailed(
            "the model was in eval mode during training (dropout and BatchNorm behave as at test time): "
            "call model.train() at the start of train_one_epoch",
            expected="training=True at every forward call",
            got=[training for training, _ in calls],
        )
    if not model.training:
        raise CheckFailed("after train_one_epoch the model must be in train mode (it was switched back to eval)")
    return f"train mode at all {len(calls)} forward calls"


@run_check("train_one_epoch: logits into the loss")
def check_train_logits(train_one_epoch):
    """Does the loss function receive the model's raw output (logits), not softmax probabilities?"""
    model0, data, make_opt = train_inputs(4, 12, 4, 0.1)
    model = copy.deepcopy(model0)
    outputs, inputs = [], []
    model.register_forward_hook(lambda module, args, out: outputs.append(out.detach().clone()))

    def loss_fn(pred, target):
        inputs.append(pred.detach().clone())
        return F.cross_entropy(pred, target)

    train_one_epoch(model, data, make_opt(model), loss_fn)
    if len(inputs) != len(data) or len(outputs) < len(inputs):
        raise CheckFailed(f"expected loss_fn to be called once per batch ({len(data)} times), got {len(inputs)}")
    for i, (out, given) in enumerate(zip(outputs, inputs)):
        if given.shape == out.shape and torch.allclose(given, out, atol=1e-6):
            continue
        hint = ""
        if given.shape == out.shape and torch.allclose(given, torch.softmax(out, dim=1), atol=1e-6):
            hint = "; looks like softmax is applied before a loss that takes logits: pass the raw model output"
        elif given.shape == out.shape and torch.allclose(given, torch.log_softmax(out, dim=1), atol=1e-6):
            hint = "; looks like log_softmax is applied before F.cross_entropy, which applies it itself"
        raise CheckFailed(f"batch {i}: loss_fn did not get the model's output{hint}", expected=out, got=given)
    return f"loss_fn got the raw logits in all {len(inputs)} batches"


# ---------------------------------------------------------------------------------------------
# evaluate
# ---------------------------------------------------------------------------------------------


@run_check("evaluate: loss and accuracy")
def check_evaluate_values(evaluate, seed: int = 0):
    """On 10 samples in batches of 4, 4, 2, are the mean loss and the accuracy python floats over the samples?"""
    want = expected("training", eval_key(seed))
    model, data = eval_inputs(seed)
    out = evaluate(model, data, F.cross_entropy)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise CheckFailed(f"evaluate must return (mean loss, accuracy), got {type(out).__name__}")
    got = (as_float("mean loss", out[0]), as_float("accuracy", out[1]))
    for i, what in enumerate(("loss", "accuracy")):
        exp_value = float(want[what])
        if not close(got[i], exp_value):
            variants = want[f"{what}_variants"]
            hint = next((h for m, h in EVAL_MISTAKES[what].items() if close(got[i], float(variants[m]), 1e-4)), "")
            raise CheckFailed(
                f"the {'mean loss' if i == 0 else 'accuracy'} over 10 samples in batches of 4 differs"
                + (f"; looks like {hint}" if hint else ""),
                exp_value,
                got[i],
            )
    as_float("mean loss", out[0], strict=True)  # right values: now their types
    as_float("accuracy", out[1], strict=True)
    diff = max(abs(got[0] - float(want["loss"])), abs(got[1] - float(want["accuracy"])))
    return f"loss {got[0]:.4f} and accuracy {got[1]:.2f} as the reference", diff


@run_check("evaluate: eval mode, no gradients, mode restored")
def check_evaluate_mode(evaluate):
    """Does evaluate run in eval mode without gradients, leave BatchNorm's statistics alone and restore the mode?"""
    data = loader(20, 12, 4)
    for start_training in (True, False):
        model = mlp(20, dropout=True, bn=True).train(start_training)
        before = copy.deepcopy(model.state_dict())
        first = evaluate(model, data, F.cross_entropy)
        calls = probe_of(model).calls
        if not calls:
            raise CheckFailed("the model was never called")
        if any(training for training, _ in calls):
            raise CheckFailed(
                "the model was in train mode during evaluation (dropout drops, BatchNorm uses batch statistics): "
                "call model.eval() first",
                expected="training=False at every forward call",
                got=[training for training, _ in calls],
            )
        if any(grad for _, grad in calls):
            raise CheckFailed("gradients were enabled during evaluation: wrap the loop in torch.no_grad()")
        for name, value in model.state_dict().items():
            if not torch.equal(value, before[name]):
                raise CheckFailed(f"evaluate changed {name}: evaluation must not change the model")
        if model.training != start_training:
            raise CheckFailed(
                f"the model came in {'train' if start_training else 'eval'} mode and left in "
                f"{'train' if model.training else 'eval'} mode: remember model.training and restore it "
                "with model.train(was_training)"
            )
        if evaluate(model, data, F.cross_entropy) != first:
            raise CheckFailed("two evaluations of the same model give different results (is dropout still on?)")
    return "eval mode and no gradients at every call, model unchanged, mode restored"
