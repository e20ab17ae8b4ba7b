"""Does plain ``nbgrader autograde`` grade like ``adl4cv-grade``: in the sandbox, judged, with a fresh seed?

The instructor who runs nbgrader itself (or presses the formgrader's Autograde button) gets the same
scores as ``adl4cv-grade``: ``nbgrader_config.py`` makes nbgrader use the judge, which takes the
assignment from nbgrader, draws its own secret seed and starts each kernel in the sandbox. Where the
sandbox cannot start, nothing is graded and the log says how to enable it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, notebook_path, run_grader
from nbgrader.api import Gradebook

from tests.grading.tiny import FULL, A, make_course, submission, write
from tests.judge.integrity import HABITS, suite

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


# the benign suite's habits (tests/judge/integrity.py) graded again through plain nbgrader, one batch per assignment
HABIT_ASSIGNMENTS = ("02_optimizers", "03_convolution", "04_resnet", "05_attention")
PLAIN_HABITS = [(a, name) for name, (a, *_) in HABITS.items() if a in HABIT_ASSIGNMENTS]


@pytest.fixture(scope="module")
def plain_habits(tmp_path_factory):
    """``plain_habits(assignment)`` -> (process, {student: (score, max score)}): the assignment's habit notebooks
    graded by one plain ``nbgrader autograde`` (built by the benign suite's ``suite``), once per module."""
    done: dict[str, tuple] = {}

    def grade(assignment: str):
        if assignment not in done:
            course = tmp_path_factory.mktemp(f"habits-{assignment}") / "course"
            course.mkdir()
            shutil.copy(REPO / "nbgrader_config.py", course)
            shutil.copytree(REPO / "solutions" / assignment, course / "solutions" / assignment)
            name = notebook_path("solutions", assignment).name
            for student, nb in suite(assignment).items():
                if student.startswith("habit-"):
                    write(course / "submitted" / student / assignment / name, nb)
            assert nbgrader(course, "generate_assignment", assignment, "--force").returncode == 0
            proc = nbgrader(course, "autograde", assignment, "--force")
            with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
                got = {s.student.id: (s.score, s.max_score) for s in gb.assignment_submissions(assignment)}
            done[assignment] = (proc, got)
        return done[assignment]

    return grade


def test_plain_habits_cover_more_than_one_assignment():
    """Are the habits of at least three assignments graded through plain nbgrader, four of 02 among them?"""
    assert len({a for a, _ in PLAIN_HABITS}) >= 3
    assert sum(a == "02_optimizers" for a, _ in PLAIN_HABITS) >= 4


@pytest.mark.parametrize(("assignment", "habit"), PLAIN_HABITS, ids=[f"{a}-{h}" for a, h in PLAIN_HABITS])
def test_plain_autograde_keeps_honest_habits_at_full_marks(plain_habits, assignment, habit):
    """Through plain nbgrader too, does an honest notebook with this habit (shell lines, magics, cudnn and plot
    settings, warnings filters, setattr/getattr on its own layers, sys.path edits, self.__class__, a comparison
    with torch's own implementation outside the graded code) keep full marks?"""
    proc, got = plain_habits(assignment)
    assert proc.returncode == 0, proc.stderr[-3000:]
    score, most = got[f"habit-{habit}"]
    assert most > 0 and score == pytest.approx(most), (habit, score, most)
