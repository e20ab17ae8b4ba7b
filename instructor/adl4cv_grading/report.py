"""What did each student get? The summary table, the grades CSV and the per-test breakdown.

Scores are read back from the course's gradebook (so a manual override made in nbgrader's
formgrader shows up), joined with each submission's grading outcome (status, reason, seconds).
The CSV is the gradebook's: every student of the assignment, whichever run graded them (the others'
outcomes come from the state folder), the score after any late penalty, the test columns in the
notebook order of the test cells, each student's own seconds (their cells' run time, from the
autograded notebook) and a reason for lost points the judge did not give (findings.py).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook

from adl4cv_grading import findings, late, platforms
from adl4cv_grading.autograde import Outcome, gradebook_url, state_file


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
    penalty: float = 0.0  # late penalty, already taken from score
    late: str = ""  # "yes", "yes (time unknown)" or ""
    platform: str = ""  # "moodle:<participant id>", "canvas:<user id>" or ""
    review: str = ""  # flagged for the instructor's review (no points taken)


def _earlier(course_dir: Path, assignment: str, student: str) -> Outcome:
    """A student graded by an earlier run: the outcome remembered in the state folder."""
    try:
        return Outcome(**json.loads(state_file(course_dir, assignment, student).read_text()))
    except (OSError, ValueError, TypeError):
        return Outcome(student, "graded elsewhere")  # in the gradebook, not graded by adl4cv-grade


def _row(o: Outcome, gb_sub, max_score: float, course_dir: Path, assignment: str) -> StudentGrade:
    """One student's row: gradebook points (less the late penalty), the outcome and the notebook's findings."""
    tests: dict[str, float] = {}
    score = penalty = 0.0
    if gb_sub is not None:
        score, penalty = float(gb_sub.score or 0.0), float(gb_sub.late_submission_penalty or 0.0)
        tests = {f"{nb.name}/{g.name}": g.score for nb in gb_sub.notebooks for g in nb.grades}
    found, seconds = findings.inspect(course_dir / "autograded" / o.student / assignment)
    reason = "; ".join(dict.fromkeys(r for r in (o.reason, *found) if r))
    own = seconds if seconds is not None and o.status != "unchanged" else o.seconds
    row = StudentGrade(o.student, score - penalty, float(max_score), o.status, reason, own, tests, o.name, penalty)
    row.review = o.review
    return row


def collect(outcomes: list[Outcome], assignment: str, course_dir: Path) -> list[StudentGrade]:
    """Every student of the assignment in the gradebook: this run's outcomes first, then the earlier ones."""
    course_dir = Path(course_dir)
    state = late.state_folder(course_dir, assignment)
    lateness, roster = late.load(state), platforms.load_roster(state)
    rows = []
    with Gradebook(gradebook_url(course_dir)) as gb:
        max_score = gb.find_assignment(assignment).max_score
        subs = {s.student.id: s for s in gb.assignment_submissions(assignment)}
        mine = {o.student for o in outcomes}
        everyone = [*outcomes, *(_earlier(course_dir, assignment, s) for s in sorted(subs) if s not in mine)]
        for o in everyone:
            row = _row(o, subs.get(o.student), max_score, course_dir, assignment)
            if (found := lateness.get(o.student)) and found.late:
                row.late = "yes" if found.seconds_late is not None else "yes (time unknown)"
            if entry := roster.get(o.student):
                row.platform = f"{entry.platform}:{entry.platform_id}"
            rows.append(row)
    return rows


def write_csv(rows: list[StudentGrade], path: Path, test_order: list[str] | None = None) -> Path:
    """One line per student: id, name, score, max, status, reason, seconds, late, penalty, platform id, tests.

    Tests are in ``test_order`` (the notebook order of the test cells), any others after them.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    found = {t for r in rows for t in r.tests}
    test_names = [t for t in test_order or [] if t in found] + sorted(found - set(test_order or []))
    header = ["student", "name", "score", "max_score", "status", "reason", "seconds", "late", "late_penalty"]
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*header, "platform_id", "review", *test_names])
        for r in rows:
            writer.writerow(
                [r.student, r.name or r.student, f"{r.score:g}", f"{r.max_score:g}", r.status, r.reason]
                + [f"{r.seconds:.1f}", r.late, f"{r.penalty:g}", r.platform, r.review]
                + [f"{r.tests.get(t, 0.0):g}" for t in test_names]
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
