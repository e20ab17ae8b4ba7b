"""Is a student's overfit_one_batch right? (chapter 8, exercise 06_training)

The loss curve of ``overfit_one_batch(model, batch, lr, steps)`` on a seeded MLP and batch is
compared with the curve stored in ``checks/expected/training.pt`` (computed once by the
instructor's reference: ``torch.optim.Adam(model.parameters(), lr=lr)`` on
``F.cross_entropy(model(x), y)``, ``losses[t]`` measured before step t's update). The stored
curves of known mistakes (no ``zero_grad``, softmax before the loss, SGD, the default lr, losses
measured after the update) name the mistake when one matches. The model is handed over in eval
mode with a probe that records the mode of every forward call: training happens in train mode.
"""

from __future__ import annotations

import copy

import torch

from adl4cv_utils.checks.fixtures import as_float, expected, overfit_batch, overfit_model, probe_of
from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, compare, run_check

OVERFIT_MISTAKES = {
    "no_zero_grad": "gradients accumulate over the steps: call optimizer.zero_grad() before loss.backward()",
    "softmax": "softmax is applied before F.cross_entropy, which takes logits",
    "sgd": "the optimizer is SGD; the contract uses torch.optim.Adam(model.parameters(), lr=lr)",
    "default_lr": "lr is not passed to the optimizer (Adam's default 1e-3 is used)",
    "after_step": "losses[t] is measured after the update; record the loss computed before optimizer.step()",
}
OVERFIT_CASES = ((1e-2, 25), (3e-3, 10))  # (lr, steps) with stored curves: the visible and the hidden test
OVERFIT_SEED, OVERFIT_SIZE = 0, 8


def overfit_key(lr: float, steps: int, mistake: str = "") -> str:
    """The key of a stored loss curve."""
    return f"overfit/seed={OVERFIT_SEED}/n={OVERFIT_SIZE}/lr={lr:g}/steps={steps}/{mistake or 'right'}"


def _losses(out, steps) -> torch.Tensor:
    if not isinstance(out, (list, tuple)):
        raise CheckFailed(f"overfit_one_batch must return a list of losses, got {type(out).__name__}")
    if len(out) != steps:
        raise CheckFailed(f"expected one loss per step ({steps}), got {len(out)}")
    if any(torch.is_tensor(v) and v.requires_grad for v in out):
        raise CheckFailed("the losses are tensors with their graphs: store loss.item() (a float) instead")
    return torch.tensor([as_float(f"losses[{i}]", v) for i, v in enumerate(out)], dtype=torch.float64)


@run_check("overfit_one_batch: loss curve")
def check_overfit_curve(overfit_one_batch, lr: float = 1e-2, steps: int = 25):
    """Does the loss curve match Adam(lr) + F.cross_entropy, trained in train mode, on the model itself?"""
    if steps < 2:
        raise CheckArgumentError(f"steps: expected at least 2, got {steps!r}")
    want = expected("training", overfit_key(lr, steps), "lr, steps").double()
    batch = overfit_batch(OVERFIT_SEED, OVERFIT_SIZE)
    model0 = overfit_model(OVERFIT_SEED)
    mine = copy.deepcopy(model0).eval()  # handed over in eval mode: overfit_one_batch must switch to train mode
    got = _losses(overfit_one_batch(mine, (batch[0].clone(), batch[1].clone()), lr=lr, steps=steps), steps)
    try:
        diff = compare("loss curve", want, got, atol=1e-5, rtol=1e-4)
    except CheckFailed as fail:
        first = int(((got - want).abs() > 1e-5 + 1e-4 * want.abs()).float().argmax())
        fail.message = f"the loss curve leaves the reference at step {first} ({got[first]:.5f} vs {want[first]:.5f})"
        for mistake, hint in OVERFIT_MISTAKES.items():
            variant = expected("training", overfit_key(lr, steps, mistake)).double()
            if torch.allclose(variant, got, atol=1e-5, rtol=1e-4):
                fail.message += f"; looks like {hint}"
                break
        raise
    if any(torch.equal(a, b) for a, b in zip(mine.parameters(), model0.parameters())):
        raise CheckFailed("the model passed in was not trained: train `model` itself, not a copy")
    modes = [training for training, _ in probe_of(mine).calls]
    if not all(modes):
        raise CheckFailed(
            "the model arrived in eval mode and was trained in eval mode (dropout and BatchNorm would behave "
            "as at test time): call model.train() before the loop",
            expected="training=True at every forward call",
            got=modes,
        )
    return f"{steps} steps in train mode, loss {got[0]:.3f} -> {got[-1]:.4f} as the reference", diff


@run_check("overfit_one_batch: reaches near-zero loss")
def check_overfit_reaches_zero(overfit_one_batch):
    """With the defaults, does a small MLP memorise 16 random samples (final loss below 0.01)?"""
    batch = overfit_batch(1, 16)
    got = _losses(overfit_one_batch(overfit_model(1), batch), 200)
    if not got[-1] < 0.01:
        raise CheckFailed(
            "the final loss after 200 steps should be below 0.01: one batch can be memorised", "< 0.01", float(got[-1])
        )
    return f"loss {got[0]:.3f} -> {got[-1]:.2e} in 200 steps"
