"""Graders: each check runs a student's code against a trusted reference and returns a CheckResult.

Test cells in the exercises are one-line calls such as
``optimizers.check_single_step(Adam, "adam").assert_passed()``. The references come from torch
itself, from closed forms, or from values stored in ``expected/``; nothing here computes an answer.
"""

from adl4cv_utils.checks.result import CheckArgumentError, CheckFailed, CheckResult, compare, run_check

__all__ = ["CheckArgumentError", "CheckFailed", "CheckResult", "compare", "run_check"]
