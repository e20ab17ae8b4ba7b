"""Is exercises/ exactly nbgrader's release of solutions/, and are the source notebooks well-formed?"""

from __future__ import annotations

import re

import nbformat
import pytest
from conftest import REPO

from adl4cv_grading.nbgrader_run import assignments
from adl4cv_grading.release import differences, generate

ASSIGNMENTS = assignments(REPO)
TEST_LINE = re.compile(r"^\w+\.check_\w+\(.*\)\.assert_passed\(\)$")


def source_notebooks():
    return [(a, p) for a in ASSIGNMENTS for p in sorted((REPO / "solutions" / a).glob("*.ipynb"))]


@pytest.mark.slow
@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_no_drift(assignment):
    """Does a fresh `nbgrader generate_assignment` of solutions/ give exactly the committed exercises/?"""
    fresh = generate(assignment)
    diff = differences(fresh, REPO / "exercises" / assignment)
    assert not diff, f"exercises/{assignment} drifted from solutions/ (run `make exercises`): {diff}"


@pytest.mark.parametrize("assignment,path", source_notebooks(), ids=lambda x: getattr(x, "name", x))
def test_source_metadata(assignment, path):
    """Unique grade ids, balanced markers, points on every test, one-line check calls, no outputs?"""
    nb = nbformat.read(path, as_version=4)
    ids, points = [], 0.0
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader")
        src = cell.source
        for begin, end in (
            ("### BEGIN SOLUTION", "### END SOLUTION"),
            ("### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"),
        ):
            assert src.count(begin) == src.count(end), f"unbalanced {begin} in {path.name}: {src[:80]}"
        if cell.cell_type == "code":
            assert not cell.get("outputs") and cell.get("execution_count") is None, f"saved output in {path.name}"
        if not meta:
            assert "### BEGIN" not in src, f"markers in a cell without nbgrader metadata: {src[:80]}"
            continue
        ids.append(meta["grade_id"])
        if meta.get("solution"):
            assert "### BEGIN SOLUTION" in src, f"solution cell {meta['grade_id']} has no solution region"
        if meta.get("grade") and not meta.get("solution"):
            assert meta.get("points", 0) > 0 and meta.get("locked"), f"test {meta['grade_id']} needs points, locked"
            points += meta["points"]
            calls = [ln.strip() for ln in src.splitlines() if ln.strip() and not ln.strip().startswith("#")]
            assert calls and all(TEST_LINE.match(c) for c in calls), (
                f"test {meta['grade_id']} must be one-line calls into adl4cv_utils checks, got {calls}"
            )
    assert len(ids) == len(set(ids)), f"duplicate grade ids in {path.name}"
    assert points > 0


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_release_hides_solutions_and_hidden_tests(assignment):
    """Does the committed release contain stubs instead of solutions and no hidden test code?"""
    for path in (REPO / "exercises" / assignment).glob("*.ipynb"):
        text = path.read_text()
        assert "BEGIN SOLUTION" not in text and "HIDDEN TESTS" not in text
        assert "raise NotImplementedError()" in text


def test_release_refuses_unknown_assignment():
    """Does releasing an unknown assignment raise ValueError naming it?"""
    with pytest.raises(ValueError, match="assignment: 'nope'"):
        generate("nope")
