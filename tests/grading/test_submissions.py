"""Are submissions found in both layouts, with safe student ids, and unreadable notebooks reported?"""

from __future__ import annotations

import json

import nbformat
import pytest

from adl4cv_grading.submissions import discover, student_id

A = "02_optimizers"


def write_nb(path, text=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text if text is not None else json.dumps(nbformat.v4.new_notebook()))


def test_flat_folder(tmp_path):
    """Is each <student>.ipynb one submission, renamed to the assignment's notebook?"""
    write_nb(tmp_path / "Jane Doe (2).ipynb")
    write_nb(tmp_path / "bob.ipynb")
    subs = discover(tmp_path, A, ["optimizers.ipynb"])
    assert [s.student for s in subs] == ["Jane_Doe_2", "bob"]
    assert list(subs[0].notebooks) == ["optimizers.ipynb"] and subs[0].problem is None


def test_nbgrader_layout(tmp_path):
    """Is <student>/<assignment>/<notebook>.ipynb read, other assignments ignored, missing notebooks named?"""
    write_nb(tmp_path / "alice" / A / "optimizers.ipynb")
    write_nb(tmp_path / "bob" / A / "renamed.ipynb")
    write_nb(tmp_path / "carol" / "03_convolution" / "convolution.ipynb")
    subs = {s.student: s for s in discover(tmp_path, A, ["optimizers.ipynb"])}
    assert set(subs) == {"alice", "bob"}
    assert subs["alice"].problem is None
    assert subs["bob"].problem == "missing notebook(s): optimizers.ipynb"


def test_unreadable_notebooks_are_reported_not_raised(tmp_path):
    """Do invalid JSON and an invalid notebook structure become a problem line per student?"""
    write_nb(tmp_path / "a.ipynb", "{not json")
    write_nb(tmp_path / "b.ipynb", json.dumps({"cells": "nope", "nbformat": 4, "nbformat_minor": 5, "metadata": {}}))
    subs = {s.student: s for s in discover(tmp_path, A, ["optimizers.ipynb"])}
    assert subs["a"].problem.startswith("not a readable notebook")
    assert subs["b"].problem.startswith(("invalid notebook format", "not a readable notebook"))


def test_fingerprint_changes_with_content(tmp_path):
    """Does the fingerprint change when the submitted file changes (so it is regraded)?"""
    write_nb(tmp_path / "a.ipynb")
    before = discover(tmp_path, A, ["optimizers.ipynb"])[0].fingerprint()
    write_nb(tmp_path / "a.ipynb", json.dumps(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1")])))
    assert discover(tmp_path, A, ["optimizers.ipynb"])[0].fingerprint() != before


def test_bad_arguments(tmp_path):
    """Are a missing folder, an empty folder and a flat folder for a multi-notebook assignment refused?"""
    with pytest.raises(ValueError, match="submissions: .* is not a folder"):
        discover(tmp_path / "missing", A, ["optimizers.ipynb"])
    with pytest.raises(ValueError, match="no notebooks"):
        discover(tmp_path, A, ["optimizers.ipynb"])
    write_nb(tmp_path / "a.ipynb")
    with pytest.raises(ValueError, match="only for assignments with one notebook"):
        discover(tmp_path, A, ["one.ipynb", "two.ipynb"])
    with pytest.raises(ValueError, match="student"):
        student_id("")


def test_any_name_is_a_student(tmp_path):
    """Do non-ASCII and symbol-only names get stable ids, and do clashing names both get graded, the CSV name kept?"""
    assert student_id("José") == "Jose" and student_id("!!!").startswith("student-")
    assert student_id("山田太郎") == student_id("山田太郎") != student_id("山田花子")
    for name in ("山田太郎", "Jose", "José", "bob"):
        write_nb(tmp_path / f"{name}.ipynb")
    write_nb(tmp_path / "bob" / A / "optimizers.ipynb")  # the same student also in nbgrader's layout
    subs = discover(tmp_path, A, ["optimizers.ipynb"])
    assert len(subs) == 5 and len({s.student for s in subs}) == 5
    by_name = {}
    for s in subs:
        by_name.setdefault(s.name, []).append(s)
    assert by_name["Jose"][0].student == "Jose" and by_name["Jose"][0].note == ""
    assert by_name["José"][0].student.startswith("Jose-") and "same student id as 'Jose'" in by_name["José"][0].note
    assert by_name["山田太郎"][0].student.startswith("student-")
    assert sorted(s.student for s in by_name["bob"])[0] == "bob"
