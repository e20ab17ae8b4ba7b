"""The integrity suites' batches: each assignment's cheats and habits graded once per session, by ``adl4cv-grade``."""

from __future__ import annotations

import shutil

import nbformat
import pytest
from conftest import REPO, run_grader

from tests.judge.integrity import suite


@pytest.fixture(scope="session")
def grade_suites(tmp_path_factory):
    """``grade_suites(assignment)`` -> {student: CSV row}: the assignment's whole suite in one sandboxed batch."""
    done: dict[str, dict] = {}

    def grade(assignment: str) -> dict:
        if assignment not in done:
            root = tmp_path_factory.mktemp(f"suite-{assignment}")
            course, folder = root / "course", root / "submissions"
            course.mkdir()
            folder.mkdir()
            shutil.copy(REPO / "nbgrader_config.py", course)
            shutil.copytree(REPO / "solutions", course / "solutions")
            for student, nb in suite(assignment).items():
                nbformat.write(nb, folder / f"{student}.ipynb")
            proc, rows = run_grader(course, assignment, folder, "--jobs", "2", "--submission-timeout", "300")
            assert proc.returncode == 0, proc.stderr[-3000:]
            done[assignment] = rows
        return done[assignment]

    return grade
