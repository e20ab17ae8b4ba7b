"""One folder per exercise (``adl4cv_utils.assignments``): importing its ``judge`` registers its judge tests."""

from __future__ import annotations

import importlib

from adl4cv_grading.judge_tests import TESTS, JudgeTest
from adl4cv_utils.assignments import topic


def tests_for(assignment: str) -> dict[str, JudgeTest]:
    """The judge tests of ``assignment`` by grade_id (ValueError naming an unknown assignment)."""
    name = topic(assignment)
    importlib.import_module(f"{__name__}.{name}.judge")
    return TESTS.get(name, {})
