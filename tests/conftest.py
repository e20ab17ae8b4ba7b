"""Shared fixtures: the repository's paths, notebooks of an assignment, and a real nbgrader batch run."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import matplotlib
import nbformat
import pytest

from adl4cv_grading.release import solution_source

matplotlib.use("Agg")
REPO = Path(__file__).resolve().parents[1]
FILES = Path(__file__).resolve().parent / "files"


def notebook_path(kind: str, assignment: str) -> Path:
    """The single notebook of ``assignment`` in ``solutions`` or ``exercises``."""
    paths = sorted((REPO / kind / assignment).glob("*.ipynb"))
    assert len(paths) == 1, f"expected one notebook in {kind}/{assignment}, found {paths}"
    return paths[0]


def with_solutions(assignment: str, replacements: dict[str, str], base: str = "exercises") -> nbformat.NotebookNode:
    """The release (or source) notebook with the source of the named solution cells replaced.

    This is what a student hands in: ``replacements`` maps a solution cell's grade_id to its code.
    """
    nb = nbformat.read(notebook_path(base, assignment), as_version=4)
    found = set()
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in replacements:
            cell.source = replacements[grade_id]
            found.add(grade_id)
    missing = set(replacements) - found
    assert not missing, f"no solution cells named {missing} in {assignment}"
    return nb


def solution_cell(assignment: str, grade_id: str) -> str:
    """The reference solution cell's code (markers removed), to build wrong variants from by text edits."""
    return solution_source(assignment, grade_id)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    """A fresh nbgrader course folder (config + solutions/), as a fresh clone has: no gradebook."""
    root = tmp_path / "course"
    root.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "solutions", root / "solutions")
    return root


def run_grader(course_dir: Path, assignment: str, submissions: Path, *args: str, timeout: float = 900):
    """Run the real ``adl4cv-grade`` command; return (process, {student: CSV row})."""
    csv_path = course_dir / "grades.csv"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "adl4cv_grading",
            assignment,
            str(submissions),
            "--course-dir",
            str(course_dir),
            "--csv",
            str(csv_path),
            "--quiet",
            *args,
        ],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    rows = {}
    if csv_path.exists():
        with open(csv_path) as f:
            rows = {r["student"]: r for r in csv.DictReader(f)}
    return proc, rows


@pytest.fixture
def grade_batch(course: Path, tmp_path: Path):
    """Grade {student: notebook | raw text} as a flat folder with real nbgrader; return (process, rows)."""

    def grade(assignment: str, submissions: dict, *args: str):
        folder = tmp_path / "submissions"
        folder.mkdir(exist_ok=True)
        for student, nb in submissions.items():
            path = folder / f"{student}.ipynb"
            if isinstance(nb, str):
                path.write_text(nb)
            else:
                path.write_text(json.dumps(nb))
        return run_grader(course, assignment, folder, *args)

    return grade


def assert_named_failure(name: str, result, text: str) -> None:
    """The check result of the wrong implementation ``name`` fails, with ``text`` in its message."""
    assert not result.passed, f"{name} passed: {result.summary()}"
    assert text in result.message, result.summary()


@pytest.fixture
def one_thread():
    """Are the timings those of a grading worker (one CPU thread)? (use: pytest.mark.usefixtures("one_thread"))"""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
