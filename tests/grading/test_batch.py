"""Does one batch with every kind of bad submission grade to the end, each student exactly as expected?

The batch mixes correct and wrong answers with broken, tampered, runaway and hostile notebooks.
It is graded once (module fixture) with short limits; each test then checks one student's outcome.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, run_grader, solution_cell, with_solutions

from adl4cv_grading import sandbox

pytestmark = pytest.mark.slow
A = "02_optimizers"
FULL = 23.0
SGD, RMSPROP = 7.0, 8.0  # points of each optimizer's tests


def answers() -> dict[str, str]:
    return {g: solution_cell(A, g) for g in ("sgd_momentum", "rmsprop", "adam")}


def correct() -> nbformat.NotebookNode:
    return with_solutions(A, answers())


def index_of(nb, grade_id: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def with_extra_cell(code: str, after: str) -> nbformat.NotebookNode:
    nb = correct()
    nb.cells.insert(index_of(nb, after) + 1, nbformat.v4.new_code_cell(code))
    return nb


def hostile(course: Path) -> nbformat.NotebookNode:
    """A correct notebook with a cell that tries to read the secrets and write the course files; prints the results."""
    code = f"""
import glob, json, os
tries = {{}}
def attempt(name, fn):
    try:
        fn()
        tries[name] = True
    except Exception as error:
        tries[name] = type(error).__name__
attempt("read course solution", lambda: open({str(course / "solutions" / A / "optimizers.ipynb")!r}).read())
attempt("read repo solution", lambda: open({str(REPO / "solutions" / A / "optimizers.ipynb")!r}).read())
attempt("read gradebook", lambda: open({str(course / "gradebook.db")!r}, "rb").read(10))
attempt("find gradebook copies", lambda: [open(p, "rb").read(10) for p in glob.glob("/tmp/**/gradebook.db",
        recursive=True)] or (_ for _ in ()).throw(FileNotFoundError()))
attempt("write config", lambda: open({str(course / "nbgrader_config.py")!r}, "a").write("# hacked"))
attempt("write gradebook", lambda: open({str(course / "gradebook.db")!r}, "ab").write(b"x"))
attempt("write source", lambda: open({str(course / "solutions" / A / "optimizers.ipynb")!r}, "a").write("x"))
print("TRIES", json.dumps(tries))
"""
    nb = correct()
    nb.cells.insert(index_of(nb, "adam") + 1, nbformat.v4.new_code_cell(code))
    return nb


def tampered(kind: str) -> nbformat.NotebookNode:
    nb = correct()
    if kind == "deleted":
        del nb.cells[index_of(nb, "adam_eps")]
    elif kind == "duplicated":
        nb.cells.insert(
            index_of(nb, "sgd_momentum_single_step"), copy.deepcopy(nb.cells[index_of(nb, "sgd_momentum_single_step")])
        )
    elif kind == "reordered":
        nb.cells.append(nb.cells.pop(index_of(nb, "adam")))  # the answer after its tests
    elif kind == "edited":
        nb.cells[index_of(nb, "rmsprop_single_step")].source = "pass  # trust me"
    elif kind == "retyped":
        cell = nb.cells[index_of(nb, "adam")]
        nb.cells[index_of(nb, "adam")] = nbformat.v4.new_markdown_cell(cell.source, metadata=cell.metadata)
    return nb


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("course")
    for name in ("nbgrader_config.py",):
        (course / name).write_bytes((REPO / name).read_bytes())
    subprocess.run(["cp", "-r", str(REPO / "solutions"), str(course)], check=True)
    slide = (
        answers()["adam"]
        .replace("m / (1 - beta1**t)", "m / (1 - beta1)")
        .replace("v / (1 - beta2**t)", "v / (1 - beta2)")
    )
    noisy = "import warnings\n" + answers()["sgd_momentum"].replace(
        "for group in self.param_groups:", "warnings.warn('harmless')\n        for group in self.param_groups:"
    )
    other = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "def conv2d(x, w): pass",
                metadata={
                    "nbgrader": {
                        "grade_id": "conv2d",
                        "solution": True,
                        "grade": False,
                        "locked": False,
                        "schema_version": 3,
                        "task": False,
                    }
                },
            )
        ]
    )
    subs = {
        "correct": correct(),
        "wrong": with_solutions(A, {**answers(), "adam": slide}),
        "release": with_solutions(A, {}),
        "noisy": with_solutions(A, {**answers(), "sgd_momentum": noisy}),
        "badjson": '{"cells": [',
        "other": other,
        "deleted": tampered("deleted"),
        "duplicated": tampered("duplicated"),
        "reordered": tampered("reordered"),
        "edited": tampered("edited"),
        "retyped": tampered("retyped"),
        "loop": with_extra_cell("while True:\n    pass", after="sgd_momentum"),
        "exit": with_extra_cell("import os\nos._exit(1)", after="rmsprop_hidden"),
        "flood": with_extra_cell("print('x' * 100_000_000)", after="sgd_momentum"),
        "hog": with_extra_cell("block = bytearray(64 * 2**30)", after="sgd_momentum"),
        "hostile": hostile(course),
    }
    folder = tmp_path_factory.mktemp("subs")
    for student, nb in subs.items():
        (folder / f"{student}.ipynb").write_text(nb if isinstance(nb, str) else json.dumps(nb))
    protected = {
        p: digest(p) for p in [course / "nbgrader_config.py", *sorted((course / "solutions").rglob("*.ipynb"))]
    }
    proc, rows = run_grader(course, A, folder, "--jobs", "2", "--cell-timeout", "10", "--memory-mb", "4096")
    return {"proc": proc, "rows": rows, "course": course, "protected": protected}


def score(graded, student):
    return float(graded["rows"][student]["score"])


def test_batch_completes_with_a_row_per_student(graded):
    """Does the command finish (exit 0) with a CSV row and a summary line for every submission?"""
    assert graded["proc"].returncode == 0, graded["proc"].stderr[-3000:]
    assert len(graded["rows"]) == 16
    assert "16 submissions" in graded["proc"].stdout


@pytest.mark.parametrize(
    "student,expected", [("correct", FULL), ("noisy", FULL), ("release", 0.0), ("wrong", FULL - 6)]
)
def test_plain_submissions(graded, student, expected):
    """Correct, correct-but-warning, untouched and wrong answers get exactly their points?"""
    assert score(graded, student) == pytest.approx(expected)
    assert graded["rows"][student]["status"] == "graded" and graded["rows"][student]["reason"] == ""


@pytest.mark.parametrize(
    "student,words", [("badjson", "not a readable notebook"), ("other", "not a notebook of 02_optimizers")]
)
def test_unusable_notebooks(graded, student, words):
    """Are invalid JSON and another assignment's notebook reported, scored zero, with a feedback page?"""
    row = graded["rows"][student]
    assert row["status"] == "not graded" and words in row["reason"] and score(graded, student) == 0.0
    assert words in (graded["course"] / "feedback" / student / A / "not_graded.html").read_text()


@pytest.mark.parametrize(
    "student,words",
    [
        ("deleted", "'adam_eps' was deleted; restored"),
        ("duplicated", "'sgd_momentum_single_step' appeared twice"),
        ("reordered", "graded in the assignment's order"),
        ("edited", "'rmsprop_single_step' (not an answer) was edited"),
        ("retyped", "'adam' was changed to a markdown cell"),
    ],
)
def test_tampered_notebooks_are_restored(graded, student, words):
    """Are deleted, duplicated, moved, edited and retyped cells restored, the correct answers given full marks?"""
    row = graded["rows"][student]
    assert score(graded, student) == pytest.approx(FULL), row
    assert words in row["reason"], row["reason"]
    assert words in (graded["course"] / "feedback" / student / A / "optimizers.html").read_text()


def test_infinite_loop_is_interrupted(graded):
    """Does an endless cell lose only its own time: interrupted, the tests after it still graded?"""
    row = graded["rows"]["loop"]
    assert score(graded, "loop") == pytest.approx(FULL) and "ran longer than its limit" in row["reason"]


def test_kernel_killing_cell_keeps_earlier_points(graded):
    """Does os._exit end the run with the points earned before it and a clear reason?"""
    row = graded["rows"]["exit"]
    assert score(graded, "exit") == pytest.approx(SGD + RMSPROP)
    assert row["status"] == "partly graded" and "the kernel died" in row["reason"]


def test_output_flood_is_cut_without_cost(graded):
    """Does a 100 MB print cost no points, and leave a small autograded notebook?"""
    row = graded["rows"]["flood"]
    assert score(graded, "flood") == pytest.approx(FULL) and "was cut" in row["reason"]
    autograded = graded["course"] / "autograded" / "flood" / A / "optimizers.ipynb"
    assert autograded.stat().st_size < 5_000_000


def test_memory_hog_fails_alone(graded):
    """Does an allocation far beyond the limit fail in its cell only, costing no test points?"""
    assert score(graded, "hog") == pytest.approx(FULL)
    text = (graded["course"] / "autograded" / "hog" / A / "optimizers.ipynb").read_text()
    assert "MemoryError" in text


@pytest.mark.skipif(not sandbox.available(), reason=f"no sandbox: {sandbox.why_unavailable()}")
def test_hostile_submission_reaches_nothing(graded):
    """Can a submission read the solutions, the gradebook or its copies, or write course files? (no)"""
    nb = nbformat.read(graded["course"] / "autograded" / "hostile" / A / "optimizers.ipynb", as_version=4)
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    tries = json.loads(next(t for t in texts if t.startswith("TRIES"))[len("TRIES ") :])
    assert len(tries) == 7
    assert not [k for k, v in tries.items() if v is True], tries
    assert score(graded, "hostile") == pytest.approx(FULL)
    for path, before in graded["protected"].items():
        assert digest(path) == before, f"{path} changed"


def test_gradebook_is_sound_and_nbgrader_cli_still_works(graded):
    """Does `nbgrader export` on the same course folder list every student with the same scores?"""
    course = graded["course"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    proc = subprocess.run(
        [sys.executable, "-m", "nbgrader", "export", "--to", "nb_export.csv"],
        cwd=course,
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    import csv

    with open(course / "nb_export.csv") as f:
        exported = {r["student_id"]: float(r["score"]) for r in csv.DictReader(f)}
    for student, row in graded["rows"].items():
        assert exported[student] == pytest.approx(float(row["score"])), student
