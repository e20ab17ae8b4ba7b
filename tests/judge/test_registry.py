"""Does every test cell of every assignment have exactly one judge test (and no judge test lack a cell)?"""

from __future__ import annotations

import nbformat
import pytest
from conftest import REPO

from adl4cv_grading import exercises as judge_assignments
from adl4cv_grading.verdict import is_test
from adl4cv_utils.assignments import ASSIGNMENTS as REGISTRY

ASSIGNMENTS = sorted(p.name for p in (REPO / "solutions").iterdir() if p.is_dir())


def grade_ids(assignment: str) -> set[str]:
    ids = set()
    for path in (REPO / "solutions" / assignment).glob("*.ipynb"):
        ids |= {c.metadata.nbgrader.grade_id for c in nbformat.read(path, as_version=4).cells if is_test(c)}
    return ids


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_every_test_cell_is_judged(assignment):
    """Is each graded cell of the assignment scored by a judge test of the same grade_id, and only those?"""
    judged = set(judge_assignments.tests_for(assignment))
    cells = grade_ids(assignment)
    assert cells - judged == set(), f"test cells without a judge test: {sorted(cells - judged)}"
    assert judged - cells == set(), f"judge tests without a test cell: {sorted(judged - cells)}"


def test_the_registry_lists_exactly_the_assignments_on_disk():
    """Does adl4cv_utils.assignments name every solutions/ and exercises/ folder, and each exercise's folders?"""
    assert sorted(REGISTRY) == ASSIGNMENTS
    assert sorted(p.name for p in (REPO / "exercises").iterdir() if p.is_dir()) == ASSIGNMENTS
    for assignment, topic in REGISTRY.items():
        assert (REPO / "adl4cv_utils" / "checks" / topic / "probes.py").exists(), f"{assignment}: no probes"
        assert (REPO / "instructor" / "adl4cv_grading" / "exercises" / topic / "judge.py").exists(), assignment


def test_unknown_assignment_is_a_clear_error():
    """Does asking for the judge of an unknown assignment raise ValueError naming the argument?"""
    with pytest.raises(ValueError, match="assignment"):
        judge_assignments.tests_for("99_nothing")
