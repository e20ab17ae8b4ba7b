"""Reference answers of 06_training (overfit_one_batch, train_one_epoch, evaluate) with known mistakes.

Instructor only, never published: these ARE the answers. ``expected_values()`` runs them on the
self-checks' stored cases (``adl4cv_utils.checks.training.overfit`` / ``train_loop``) and returns the
table stored in ``adl4cv_utils/checks/expected/training.pt``.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F

from adl4cv_utils.checks.fixtures import overfit_batch, overfit_model
from adl4cv_utils.checks.training import overfit, train_loop


def reference_epoch(model, loader, optimizer, loss_fn, mistake: str = "") -> float:
    """One epoch as the contract says; ``mistake`` ('a+b' for several) switches on known mistakes."""
    ms = set(mistake.split("+"))
    if "no_train" not in ms:
        model.train()
    total, count, batch_means, sizes = 0.0, 0, [], []
    for x, y in loader:
        if "no_zero_grad" not in ms:
            optimizer.zero_grad()
        out = model(x)
        loss = loss_fn(torch.softmax(out, dim=1) if "softmax" in ms else out, y)
        loss.backward()
        if "no_step" not in ms:
            optimizer.step()
        total += loss.item() * len(y)
        count += len(y)
        batch_means.append(loss.item())
        sizes.append(len(y))
    if "equal_weight" in ms:
        return sum(batch_means) / len(batch_means)
    if "nominal" in ms:
        return total / (loader.batch_size * len(batch_means))
    if "drop_last" in ms:
        return sum(m * k for m, k in zip(batch_means[:-1], sizes[:-1])) / sum(sizes[:-1])
    return total / count


def reference_evaluate(model, loader, loss_fn):
    """(mean loss, accuracy) over the samples, eval mode, no gradients, the mode restored."""
    was = model.training
    model.eval()
    total, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            total += loss_fn(out, y).item() * len(y)
            correct += int((out.argmax(dim=1) == y).sum())
            count += len(y)
    model.train(was)
    return total / count, correct / count


def evaluate_variants(model, loader) -> dict:
    """The values of evaluate's known mistakes (names as in ``train_loop.EVAL_MISTAKES``)."""
    model = copy.deepcopy(model).eval()
    means, accs, sizes, correct = [], [], [], 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            means.append(F.cross_entropy(out, y).item())
            accs.append(float((out.argmax(1) == y).float().mean()))
            sizes.append(len(y))
            correct += int((out.argmax(1) == y).sum())
    nominal = loader.batch_size * len(sizes)
    soft = reference_evaluate(copy.deepcopy(model), loader, lambda o, y: F.cross_entropy(torch.softmax(o, 1), y))
    return {
        "loss_variants": {
            "equal_weight": sum(means) / len(means),
            "nominal": sum(m * s for m, s in zip(means, sizes)) / nominal,
            "softmax": soft[0],
        },
        "accuracy_variants": {
            "count": float(correct),
            "nominal": correct / nominal,
            "equal_weight": sum(accs) / len(accs),
        },
    }


def reference_overfit(model, batch, lr=1e-2, steps=200, mistake: str = "") -> list[float]:
    """overfit_one_batch as the contract says; ``mistake`` switches on a known mistake."""
    x, y = batch
    model.train()
    opt = (torch.optim.SGD if mistake == "sgd" else torch.optim.Adam)(
        model.parameters(), lr=1e-3 if mistake == "default_lr" else lr
    )
    losses = []
    for _ in range(steps):
        if mistake != "no_zero_grad":
            opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(torch.softmax(out, 1) if mistake == "softmax" else out, y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    if mistake == "after_step":
        with torch.no_grad():
            losses = losses[1:] + [F.cross_entropy(model(x), y).item()]
    return losses


def expected_values() -> dict:
    """The table of ``checks/expected/training.pt``: every stored case of the 06_training self-checks."""
    table = {}
    for lr, steps in overfit.OVERFIT_CASES:
        for mistake in ("", *overfit.OVERFIT_MISTAKES):
            model = overfit_model(overfit.OVERFIT_SEED)
            curve = reference_overfit(
                model, overfit_batch(overfit.OVERFIT_SEED, overfit.OVERFIT_SIZE), lr, steps, mistake
            )
            table[overfit.overfit_key(lr, steps, mistake)] = torch.tensor(curve, dtype=torch.float64)
    for cases in train_loop.TRAIN_CASES.values():
        for seed, n, batch_size, lr, mistakes in cases:
            for mistake in ("", *train_loop.mistake_combinations(mistakes)):
                model, data, make_opt = train_loop.train_inputs(seed, n, batch_size, lr)
                loss = reference_epoch(model, data, make_opt(model), F.cross_entropy, mistake)
                table[train_loop.train_key(seed, n, batch_size, lr, mistake)] = {
                    "loss": loss,
                    "params": [p.detach().clone() for p in model.parameters()],
                }
    for seed in train_loop.EVAL_SEEDS:
        model, data = train_loop.eval_inputs(seed)
        loss, acc = reference_evaluate(copy.deepcopy(model), data, F.cross_entropy)
        table[train_loop.eval_key(seed)] = {"loss": loss, "accuracy": acc, **evaluate_variants(model, data)}
    return table
