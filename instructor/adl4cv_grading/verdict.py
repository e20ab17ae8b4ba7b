"""What did the judge rule on a test cell? One ``Verdict`` type, written into and read from the cell's metadata.

``JudgedExecute`` (execute.py) runs in nbgrader's process and stores each test cell's verdict under
``METADATA``, where the student's kernel cannot write; the coordinator (chunk.py) reads the verdicts
back from the autograded notebooks, and their points replace nbgrader's in-kernel scores. A test cell
without a verdict scores zero.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import nbformat

from adl4cv_utils.checks.result import CheckResult

METADATA = "adl4cv_grading"  # the test cell metadata key of its verdict (the only definition)


@dataclass
class Verdict:
    """The judge's ruling on one test cell."""

    grade_id: str
    points: float
    score: float
    passed: bool
    message: str
    expected: str | None = None
    got: str | None = None
    max_diff: float | None = None
    seconds: float = 0.0
    review: list[str] = field(default_factory=list)  # flagged for the instructor (no points taken)

    def line(self) -> str:
        """The line shown under the test cell in the feedback (and a review line when something is flagged)."""
        text = CheckResult(
            self.grade_id, self.passed, self.message, self.expected, self.got, self.max_diff, self.seconds
        )
        review = f"\nFor review by the instructor (no points taken): {'; '.join(self.review)}" if self.review else ""
        return f"Judge: {self.score:g}/{self.points:g} " + text.summary() + review

    def write(self, cell) -> None:
        """Store this verdict in the test cell's metadata."""
        cell.metadata[METADATA] = asdict(self)

    @classmethod
    def read(cls, cell) -> Verdict:
        """The verdict stored in ``cell`` (a zero-score "not judged" verdict when there is none or it is malformed)."""
        grade = cell.get("metadata", {}).get("nbgrader", {})
        stored = cell.get("metadata", {}).get(METADATA)
        names = {f.name for f in fields(cls)}
        if isinstance(stored, dict) and {"grade_id", "points", "score", "passed", "message"} <= set(stored):
            return cls(**{k: v for k, v in stored.items() if k in names})
        return cls(str(grade.get("grade_id", "")), float(grade.get("points") or 0), 0.0, False, "not judged")


def nbgrader_metadata(cell) -> dict:
    """The cell's nbgrader metadata ({} for a plain cell)."""
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test(cell) -> bool:
    """Is ``cell`` an nbgrader test cell (graded, with a grade_id)?"""
    md = nbgrader_metadata(cell)
    return cell.get("cell_type") == "code" and bool(md.get("grade")) and bool(md.get("grade_id"))


def verdicts(autograded: Path | None) -> dict[str, dict[str, Verdict]]:
    """{notebook stem: {grade_id: verdict}} for every test cell of the autograded notebooks in a folder."""
    found: dict[str, dict[str, Verdict]] = {}
    if autograded is None or not Path(autograded).is_dir():
        return found
    for path in sorted(Path(autograded).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        cells = found.setdefault(path.stem, {})
        for cell in nb.cells:
            if is_test(cell):
                cells[cell.metadata["nbgrader"]["grade_id"]] = Verdict.read(cell)
    return found


def scores(found: dict[str, dict[str, Verdict]]) -> dict[str, dict[str, float]]:
    """{notebook stem: {grade_id: points}} from the verdicts."""
    return {nb: {g: float(v.score or 0.0) for g, v in cells.items()} for nb, cells in found.items()}


def reviews(found: dict[str, dict[str, Verdict]]) -> list[str]:
    """The review flags of all verdicts (the CSV's review column), each once."""
    return list(dict.fromkeys(r for cells in found.values() for v in cells.values() for r in v.review or ()))


def notes(found: dict[str, dict[str, Verdict]]) -> list[str]:
    """Reasons worth a line in the CSV: what the judge could not certify, internal errors."""
    out = []
    for cells in found.values():
        for v in cells.values():
            if not v.passed and str(v.message).startswith(("the grader cannot verify", "internal error")):
                out.append(str(v.message))
    return list(dict.fromkeys(out))
