"""Does plain ``nbgrader autograde`` grade like ``adl4cv-grade``: in the sandbox, judged, with a fresh seed?

The instructor who runs nbgrader itself (or presses the formgrader's Autograde button) gets the same
scores as ``adl4cv-grade``: ``nbgrader_config.py`` makes nbgrader use the judge, which takes the
assignment from nbgrader, draws its own secret seed and starts each kernel in the sandbox. Where the
sandbox cannot start, nothing is graded and the log says how to enable it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import run_grader
from nbgrader.api import Gradebook

from tests.grading.tiny import FULL, A, make_course, submission, write

pytestmark = pytest.mark.slow
PEEK = "import os\nprint('SOLUTIONS VISIBLE:', os.path.exists({path!r}))"


def nbgrader(course: Path, *args: str, path: str | None = None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=path or f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=course, env=env, capture_output=True, text=True, check=False
    )


def scores(course: Path) -> dict[str, float]:
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {s.student.id: s.score for s in gb.assignment_submissions(A)}


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("plain") / "course")
    subs = {
        "alice": submission(),
        "bob": submission(mul="def mul(a, b):\n    return a + b"),
        "peek": submission(extra={"test_mul": PEEK.format(path=str(course / "solutions"))}),
    }
    for student, nb in subs.items():
        write(course / "submitted" / student / A / "tiny.ipynb", nb)
    assert nbgrader(course, "generate_assignment", A, "--force").returncode == 0
    proc = nbgrader(course, "autograde", A, "--force")
    return {"course": course, "proc": proc, "scores": scores(course), "subs": subs}


def test_plain_autograde_scores_what_the_code_earns(plain):
    """Does plain nbgrader give the correct notebook full marks and the wrong one only its right test?"""
    assert plain["proc"].returncode == 0, plain["proc"].stderr[-3000:]
    assert plain["scores"]["alice"] == pytest.approx(FULL)
    assert plain["scores"]["bob"] == pytest.approx(2.0)


def test_plain_autograde_matches_adl4cv_grade(plain, tmp_path):
    """Does adl4cv-grade give the same submissions the same scores?"""
    course = make_course(tmp_path / "course")
    folder = tmp_path / "flat"
    for student, nb in plain["subs"].items():
        write(folder / f"{student}.ipynb", nb)
    proc, rows = run_grader(course, A, folder, "--jobs", "1")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert {s: float(r["score"]) for s, r in rows.items()} == pytest.approx(plain["scores"])


def test_plain_autograde_runs_in_the_sandbox(plain):
    """Can a cell of the submission see the course's solutions/ folder? (No: the kernel is sandboxed.)"""
    nb = (plain["course"] / "autograded" / "peek" / A / "tiny.ipynb").read_text()
    assert "SOLUTIONS VISIBLE: False" in nb
    assert "SOLUTIONS VISIBLE: True" not in nb


def test_plain_autograde_refuses_without_the_sandbox(tmp_path):
    """Without bubblewrap on PATH, is nothing graded, with a message saying how to enable the sandbox?"""
    course = make_course(tmp_path / "course")
    write(course / "submitted" / "alice" / A / "tiny.ipynb", submission())
    assert nbgrader(course, "generate_assignment", A, "--force").returncode == 0
    proc = nbgrader(course, "autograde", A, "--force", path=str(Path(sys.executable).parent))
    assert "grading sandbox cannot start" in proc.stdout + proc.stderr
    assert "judge_isolation=off" in proc.stdout + proc.stderr
    assert scores(course).get("alice", 0.0) == 0.0


def test_plain_autograde_keeps_honest_habits_at_full_marks(tmp_path):
    """Through plain nbgrader too, do 02's honest notebooks with one habit each (shell lines, magics in an
    answer cell, self.__class__, a comparison with torch.optim.Adam) keep full marks?"""
    import shutil

    import nbformat
    from conftest import REPO

    from tests.judge.integrity import HABITS, suite

    assignment = "02_optimizers"
    course = tmp_path / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "solutions" / assignment, course / "solutions" / assignment)
    habits = {name: nb for name, nb in suite(assignment).items() if name.startswith("habit-")}
    assert len(habits) == sum(a == assignment for a, *_ in HABITS.values()) >= 4
    for student, nb in habits.items():
        target = course / "submitted" / student / assignment / "optimizers.ipynb"
        target.parent.mkdir(parents=True)
        nbformat.write(nb, target)
    assert nbgrader(course, "generate_assignment", assignment, "--force").returncode == 0
    proc = nbgrader(course, "autograde", assignment, "--force")
    assert proc.returncode == 0, proc.stderr[-3000:]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        got = {s.student.id: (s.score, s.max_score) for s in gb.assignment_submissions(assignment)}
    assert set(got) == set(habits)
    for student, (score, most) in got.items():
        assert score == pytest.approx(most), (student, score, most)
