"""Timings of the 06_training checks on the reference solution (prints figures, asserts nothing)."""

from _timing import named_calls, reference_namespace, time_checks

from adl4cv_utils.checks import training as T

TABLE = {  # argument names -> check names
    ("Dropout",): ("check_dropout_train", "check_dropout_eval", "check_dropout_p"),
    ("overfit_one_batch",): ("check_overfit_curve", "check_overfit_reaches_zero"),
    ("train_one_epoch",): ("check_train_epoch", "check_train_zero_grad", "check_train_partial_batch",
                           "check_train_mode", "check_train_logits"),
    ("evaluate",): ("check_evaluate_values", "check_evaluate_mode"),
}  # fmt: skip
time_checks("06_training", named_calls(T, reference_namespace("06_training"), TABLE))
