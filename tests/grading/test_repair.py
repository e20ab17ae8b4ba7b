"""Does repair restore the assignment's cells while keeping the student's answers and extra cells?"""

from __future__ import annotations

import copy

import nbformat

from adl4cv_grading.repair import nbgrader_id, repair


def cell(kind, source, gid=None, answer=False, test=False):
    meta = {}
    if gid:
        meta["nbgrader"] = {
            "grade_id": gid,
            "solution": answer,
            "grade": test,
            "locked": not answer,
            "schema_version": 3,
            "task": False,
            **({"points": 1} if test else {}),
        }
    make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
    return make(source, metadata=meta)


RELEASE = nbformat.v4.new_notebook(
    cells=[
        cell("markdown", "# Title"),
        cell("code", "import torch", gid="imports"),
        cell("code", "raise NotImplementedError()", gid="answer", answer=True),
        cell("code", "check_a()", gid="test_a", test=True),
        cell("code", "check_b()", gid="test_b", test=True),
    ]
)


def student(**changes):
    nb = copy.deepcopy(RELEASE)
    nb.cells[2].source = "def f(): return 1"
    return nb


def ids(nb):
    return [nbgrader_id(c) for c in nb.cells]


def test_untouched_notebook_is_unchanged():
    """Does a notebook with every cell in place come back as it was, with no notes?"""
    repaired, notes = repair(student(), RELEASE)
    assert notes == [] and ids(repaired) == ids(RELEASE) and repaired.cells[2].source == "def f(): return 1"


def test_deleted_test_restored_and_extra_cells_kept():
    """Is a deleted test restored in place, and does a student's helper cell stay after its anchor?"""
    nb = student()
    del nb.cells[3]
    nb.cells.insert(3, cell("code", "helper = 2"))
    repaired, notes = repair(nb, RELEASE)
    assert ids(repaired) == [None, "imports", "answer", None, "test_a", "test_b"]
    assert repaired.cells[3].source == "helper = 2"
    assert notes == ["cell 'test_a' was deleted; restored from the assignment"]


def test_duplicates_reorder_edit_retype():
    """Are duplicates demoted, order restored, edited tests reset and retyped cells retyped, each noted?"""
    nb = student()
    nb.cells.append(copy.deepcopy(nb.cells[3]))  # duplicate test_a at the end
    nb.cells[3], nb.cells[4] = nb.cells[4], nb.cells[3]  # test_b before test_a
    nb.cells[3].source = "pass"  # edit test_b
    nb.cells[2] = nbformat.v4.new_markdown_cell(nb.cells[2].source, metadata=nb.cells[2].metadata)
    repaired, notes = repair(nb, RELEASE)
    assert [i for i in ids(repaired) if i] == [i for i in ids(RELEASE) if i]
    assert len(repaired.cells) == len(RELEASE.cells) + 1  # the earlier copy stays, as a plain cell
    assert repaired.cells[2].cell_type == "code" and repaired.cells[2].source == "def f(): return 1"
    assert repaired.cells[4].source == "check_b()"
    joined = "; ".join(notes)
    for words in (
        "appeared twice",
        "graded in the assignment's order",
        "'test_b' (not an answer) was edited",
        "'answer' was changed to a markdown cell",
    ):
        assert words in joined, joined


def test_duplicated_answer_grades_the_last_copy():
    """Is the last copy of a duplicated answer the graded one (as in nbgrader), the earlier one kept plain?"""
    nb = student()
    nb.cells[2].source = "def f(): return 0  # first try"
    fixed = copy.deepcopy(nb.cells[2])
    fixed.source = "def f(): return 1  # fixed copy"
    nb.cells.insert(3, fixed)
    repaired, notes = repair(nb, RELEASE)
    graded = [c for c in repaired.cells if nbgrader_id(c) == "answer"]
    assert [c.source for c in graded] == ["def f(): return 1  # fixed copy"]
    assert "def f(): return 0  # first try" in [c.source for c in repaired.cells if nbgrader_id(c) is None]
    assert notes == ["cell 'answer' appeared twice; the last copy was graded"]


def test_other_assignment_is_refused_and_named():
    """Is a notebook without any of the assignment's cells refused, naming the assignment it belongs to?"""
    other = nbformat.v4.new_notebook(cells=[cell("code", "x", gid="conv2d", answer=True)])
    repaired, notes = repair(other, RELEASE, "02_optimizers", {"03_convolution": {"conv2d"}})
    assert repaired is None
    assert notes == ["not a notebook of 02_optimizers: none of its cells are there (it looks like 03_convolution)"]
