"""What did each student get? The summary table, the grades CSV and the per-test breakdown.

Scores are read back from the course's gradebook (so a manual override made in nbgrader's
formgrader shows up), joined with each submission's grading outcome (status, reason, seconds).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry

from adl4cv_grading.autograde import Outcome, gradebook_url


@dataclass
class StudentGrade:
    """One row of the report."""

    student: str
    score: float
    max_score: float
    status: str
    reason: str
    seconds: float
    tests: dict[str, float] = field(default_factory=dict)  # "notebook/grade_id" -> points
    name: str = ""  # the file or folder name the student id was made from


def collect(outcomes: list[Outcome], assignment: str, course_dir: Path) -> list[StudentGrade]:
    """Join the grading outcomes with the scores stored in the gradebook."""
    rows = []
    with Gradebook(gradebook_url(course_dir)) as gb:
        max_score = gb.find_assignment(assignment).max_score
        for o in outcomes:
            tests: dict[str, float] = {}
            try:
                sub = gb.find_submission(assignment, o.student)
                score = sub.score
                for nb in sub.notebooks:
                    for g in nb.grades:
                        tests[f"{nb.name}/{g.name}"] = g.score
            except MissingEntry:
                score = 0.0
            rows.append(
                StudentGrade(
                    o.student, float(score or 0.0), float(max_score), o.status, o.reason, o.seconds, tests, o.name
                )
            )
    return rows


def write_csv(rows: list[StudentGrade], path: Path) -> Path:
    """One line per student: id, original name, score, max, status, reason, seconds, then one column per test."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    test_names = sorted({t for r in rows for t in r.tests})
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", "name", "score", "max_score", "status", "reason", "seconds", *test_names])
        for r in rows:
            writer.writerow(
                [
                    r.student,
                    r.name or r.student,
                    f"{r.score:g}",
                    f"{r.max_score:g}",
                    r.status,
                    r.reason,
                    f"{r.seconds:.1f}",
                    *(f"{r.tests.get(t, 0.0):g}" for t in test_names),
                ]
            )
    return path


def table(rows: list[StudentGrade]) -> str:
    """A plain-text table for the terminal, with a total line."""
    header = ("student", "score", "status", "seconds", "reason")
    lines = [(r.student, f"{r.score:g}/{r.max_score:g}", r.status, f"{r.seconds:.1f}", r.reason[:90]) for r in rows]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    out = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    out += [fmt.format(*line).rstrip() for line in lines]
    if rows:
        mean = sum(r.score for r in rows) / len(rows)
        out.append(
            f"{len(rows)} submissions, mean score {mean:.2f}/{rows[0].max_score:g}, "
            f"{sum(r.status in ('not graded', 'partly graded') for r in rows)} with problems"
        )
    return "\n".join(out)
