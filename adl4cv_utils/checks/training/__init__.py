"""Are a student's Dropout, overfit_one_batch, train_one_epoch and evaluate right? (chapters 5 and 8, 06_training)

The test cells of 06_training import this module; the checks live in one module per exercise:
``dropout.py`` (inverted dropout), ``overfit.py`` (overfit one batch) and ``train_loop.py`` (the
repaired training loop: ``train_one_epoch`` and ``evaluate``). None of them holds an answer:
they check properties, or compare with values stored in ``checks/expected/training.pt``.
"""

from __future__ import annotations

from adl4cv_utils.checks.training.dropout import check_dropout_eval, check_dropout_p, check_dropout_train
from adl4cv_utils.checks.training.overfit import OVERFIT_MISTAKES, check_overfit_curve, check_overfit_reaches_zero
from adl4cv_utils.checks.training.train_loop import (
    TRAIN_MISTAKES,
    check_evaluate_mode,
    check_evaluate_values,
    check_train_epoch,
    check_train_logits,
    check_train_mode,
    check_train_partial_batch,
    check_train_zero_grad,
)

__all__ = [
    "OVERFIT_MISTAKES",
    "TRAIN_MISTAKES",
    "check_dropout_eval",
    "check_dropout_p",
    "check_dropout_train",
    "check_evaluate_mode",
    "check_evaluate_values",
    "check_overfit_curve",
    "check_overfit_reaches_zero",
    "check_train_epoch",
    "check_train_logits",
    "check_train_mode",
    "check_train_partial_batch",
    "check_train_zero_grad",
]
