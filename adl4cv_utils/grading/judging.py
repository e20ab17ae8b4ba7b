"""How do the judge's verdicts become the grades? Read them from the autograded notebooks.

nbgrader's autograde runs the judge inside its own process (``adl4cv_judge.kernel.JudgedExecute``,
see docs/grading.md): after each test cell it probes the student's kernel and writes its verdict
into the cell's metadata, where the kernel cannot reach. Here the coordinator reads those verdicts
back; their points replace nbgrader's in-kernel scores (whatever a test cell printed in the
student's kernel), and a test cell without a verdict scores zero.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import nbformat

METADATA = "adl4cv_judge"  # the test cell metadata key JudgedExecute writes


def new_seed() -> int:
    """A secret seed for one grading run: the judge draws every test input from it."""
    return secrets.randbits(62)


def verdicts(autograded: Path | None) -> dict[str, dict[str, dict]]:
    """{notebook stem: {grade_id: verdict}} for every test cell of the autograded notebooks."""
    found: dict[str, dict[str, dict]] = {}
    if autograded is None or not Path(autograded).is_dir():
        return found
    for path in sorted(Path(autograded).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = found.setdefault(path.stem, {})
        for cell in nb.cells:
            md = cell.get("metadata", {})
            grade = md.get("nbgrader", {})
            if cell.cell_type == "code" and grade.get("grade") and grade.get("grade_id"):
                verdict = md.get(METADATA)
                points = float(grade.get("points") or 0)
                if not isinstance(verdict, dict):
                    verdict = {"score": 0.0, "points": points, "passed": False, "message": "not judged"}
                cells[grade["grade_id"]] = verdict
    return found


def scores(found: dict[str, dict[str, dict]]) -> dict[str, dict[str, float]]:
    """{notebook stem: {grade_id: points}} from the verdicts."""
    return {nb: {g: float(v.get("score") or 0.0) for g, v in cells.items()} for nb, cells in found.items()}


def notes(found: dict[str, dict[str, dict]]) -> list[str]:
    """Reasons worth a line in the CSV: what the judge could not certify, internal errors."""
    out = []
    for cells in found.values():
        for v in cells.values():
            message = str(v.get("message", ""))
            if not v.get("passed") and message.startswith(("the grader cannot verify", "internal error")):
                out.append(message)
    return list(dict.fromkeys(out))
