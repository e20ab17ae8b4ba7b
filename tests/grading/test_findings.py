"""Does the report say why points were lost when the judge never saw the code (a syntax error, an
unanswered cell), time each student's own cells, order test columns as the notebook does, and keep
every student of the assignment?"""

from __future__ import annotations

import csv

import nbformat

from adl4cv_grading import findings, late
from adl4cv_grading.autograde import Outcome, prepare_assignment, store
from adl4cv_grading.report import StudentGrade, collect, write_csv
from adl4cv_grading.submissions import Submission

from .tiny import FULL, A, _meta, make_course, submission, write


def error(name: str, value: str) -> dict:
    return nbformat.v4.new_output("error", ename=name, evalue=value, traceback=[])


def autograded() -> nbformat.NotebookNode:
    code = nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("**Notes from the grader:** time limit."),  # not the student's
            nbformat.v4.new_markdown_cell("# Tiny"),
            code(
                "def add(a, b):\n    return a +",
                metadata=_meta("add", answer=True),
                outputs=[error("SyntaxError", "invalid syntax (3, 17)")],
            ),
            code("assert add(1, 2) == 3", metadata=_meta("test_add", points=2), outputs=[error("NameError", "add")]),
            code(
                "raise NotImplementedError()",
                metadata=_meta("mul", answer=True),
                outputs=[error("NotImplementedError", "")],
            ),
            code("1 / 0", outputs=[error("ZeroDivisionError", "division by zero")]),  # a demo cell: no points lost
            code("x = (", outputs=[error("SyntaxError", "'(' was never closed")]),
            code("raise ValueError('no')", metadata=_meta("div", answer=True), outputs=[error("ValueError", "no")]),
        ]
    )


def test_reasons_name_the_cell_and_skip_tests():
    """Is a syntax error named with its cell (and id), an unanswered answer said, tests and demos left out?"""
    assert findings.reasons(autograded()) == [
        "syntax error in cell 2 (add): invalid syntax (3, 17)",
        "cell 4 (mul) not answered (it still raises NotImplementedError)",
        "syntax error in cell 6: '(' was never closed",
        "cell 7 (div) raised ValueError: no",
    ]


def test_seconds_are_the_notebooks_own():
    """Are a student's seconds from the first cell's start to the last reply (nbclient's timing)?"""
    nb = autograded()
    nb.cells[2].metadata["execution"] = {"iopub.status.busy": "2026-12-01T10:00:00.000Z"}
    nb.cells[5].metadata["execution"] = {"shell.execute_reply": "2026-12-01T10:00:03.500Z"}
    assert findings.seconds(nb) == 3.5
    assert findings.seconds(nbformat.v4.new_notebook()) is None


def test_columns_follow_the_notebook(tmp_path):
    """Are test columns in the notebook's order of test cells, not alphabetical?"""
    code = nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook(
        cells=[code("", metadata=_meta("test_z", points=1)), code("", metadata=_meta("test_a", points=1))]
    )
    nbformat.write(nb, tmp_path / "tiny.ipynb")
    order = findings.graded_cell_order(tmp_path)
    assert order == ["tiny/test_z", "tiny/test_a"]
    row = StudentGrade("s", 1.0, 2.0, "graded", "", 0.5, {"tiny/test_a": 0.0, "tiny/test_z": 1.0})
    with open(write_csv([row], tmp_path / "g.csv", order), encoding="utf-8") as f:
        header = next(csv.reader(f))
    assert header[-2:] == order


def test_collect_keeps_students_of_earlier_runs(tmp_path):
    """When a run grades only bob, does the report still hold alice (graded before), with her stored outcome,
    and does a stored late penalty come off bob's score?"""
    course = make_course(tmp_path / "course")
    prepare_assignment(A, course, tmp_path / "work")
    for student, scores in (("alice", {"test_add": 2.0, "test_mul": 3.0}), ("bob", {"test_add": 2.0})):
        path = write(tmp_path / f"{student}.ipynb", submission())
        outcome = Outcome(student, "graded", "", 1.5, {"tiny": scores}, name=student)
        store(outcome, None, Submission(student, {"tiny.ipynb": path}, name=student), A, course)
    bob = Outcome("bob", "graded", "", 2.5, name="bob")
    stamp = tmp_path / "bob" / A / "timestamp.txt"
    write(stamp.parent / "tiny.ipynb", submission())
    stamp.write_text("2026-12-02 01:00:00 UTC")
    sub = Submission("bob", {"tiny.ipynb": stamp.parent / "tiny.ipynb"}, name="bob")
    plugin = late.CoursePenalty(penalty_method="zero")
    late.apply(course, A, [sub], {}, "2026-12-01 23:00 UTC", plugin)
    rows = {r.student: r for r in collect([bob], A, course)}
    assert set(rows) == {"alice", "bob"}
    assert rows["alice"].score == FULL and rows["alice"].seconds == 1.5 and rows["alice"].status == "graded"
    assert rows["bob"].penalty == 2.0 and rows["bob"].score == 0.0 and rows["bob"].late == "yes"
