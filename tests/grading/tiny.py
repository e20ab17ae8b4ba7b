"""A tiny course for grading tests: one assignment without torch, so a kernel starts in well under a second.

``00_tiny`` has two answers (``add``, ``mul``) and two tests (2 and 3 points, the second with a
hidden part). ``submission(add=..., mul=..., extra={after_grade_id: code})`` builds what a student
hands in.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat

from adl4cv_grading.nbgrader_run import REPO_ROOT

A = "00_tiny"
FULL = 5.0
ADD, MUL = "def add(a, b):\n    return a + b", "def mul(a, b):\n    return a * b"


def _meta(gid: str, *, answer: bool = False, points: int = 0) -> dict:
    return {
        "nbgrader": {
            "grade_id": gid,
            "solution": answer,
            "grade": bool(points),
            "locked": not answer,
            "schema_version": 3,
            "task": False,
            **({"points": points} if points else {}),
        }
    }


def source() -> nbformat.NotebookNode:
    """The instructor's source notebook (solutions/00_tiny/tiny.ipynb)."""
    code = nbformat.v4.new_code_cell
    return nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# Tiny"),
            code(
                "def add(a, b):\n    ### BEGIN SOLUTION\n    return a + b\n    ### END SOLUTION",
                metadata=_meta("add", answer=True),
            ),
            code("assert add(1, 2) == 3", metadata=_meta("test_add", points=2)),
            code(
                "def mul(a, b):\n    ### BEGIN SOLUTION\n    return a * b\n    ### END SOLUTION",
                metadata=_meta("mul", answer=True),
            ),
            code(
                "assert mul(2, 3) == 6\n### BEGIN HIDDEN TESTS\nassert mul(0, 5) == 0\n### END HIDDEN TESTS",
                metadata=_meta("test_mul", points=3),
            ),
        ],
        metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    )


def make_course(root: Path) -> Path:
    """A course folder with the repository's nbgrader config and the tiny assignment."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / "nbgrader_config.py", root)
    folder = root / "solutions" / A
    folder.mkdir(parents=True)
    nbformat.write(source(), folder / "tiny.ipynb")
    return root


def submission(add: str = ADD, mul: str = MUL, extra: dict[str, str] | None = None) -> nbformat.NotebookNode:
    """A student's notebook: the answers' code, and extra cells after the named cells."""
    nb = source()
    cells = []
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid == "add":
            cell.source = add
        elif gid == "mul":
            cell.source = mul
        elif gid == "test_mul":
            cell.source = "assert mul(2, 3) == 6"
        cells.append(cell)
        if extra and gid in extra:
            cells.append(nbformat.v4.new_code_cell(extra[gid]))
    nb.cells = cells
    return nb


def write(path: Path, nb: nbformat.NotebookNode | str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(nb if isinstance(nb, str) else json.dumps(nb))
    return path
