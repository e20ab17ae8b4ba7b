"""Timings of the 06_training checks on the reference solution (prints figures, asserts nothing)."""

from _timing import reference_namespace, time_checks

from adl4cv_utils.checks import training as T

ns = reference_namespace("06_training")
g = ns.__getitem__
time_checks(
    "06_training",
    [
        ("check_dropout_train", lambda: T.check_dropout_train(g("Dropout"))),
        ("check_dropout_eval", lambda: T.check_dropout_eval(g("Dropout"))),
        ("check_dropout_p", lambda: T.check_dropout_p(g("Dropout"))),
        ("check_overfit_curve", lambda: T.check_overfit_curve(g("overfit_one_batch"))),
        ("check_overfit_reaches_zero", lambda: T.check_overfit_reaches_zero(g("overfit_one_batch"))),
        ("check_train_epoch", lambda: T.check_train_epoch(g("train_one_epoch"))),
        ("check_train_zero_grad", lambda: T.check_train_zero_grad(g("train_one_epoch"))),
        ("check_train_partial_batch", lambda: T.check_train_partial_batch(g("train_one_epoch"))),
        ("check_train_mode", lambda: T.check_train_mode(g("train_one_epoch"))),
        ("check_train_logits", lambda: T.check_train_logits(g("train_one_epoch"))),
        ("check_evaluate_values", lambda: T.check_evaluate_values(g("evaluate"))),
        ("check_evaluate_mode", lambda: T.check_evaluate_mode(g("evaluate"))),
    ],
)
