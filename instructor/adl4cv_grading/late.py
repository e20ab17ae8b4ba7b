"""Was a submission late, and what does that cost? nbgrader's late-submission machinery, fed by the
platforms' submission times.

When a submission was handed in comes from nbgrader's ``timestamp.txt`` next to the notebook (the
nbgrader layout; ``nbgrader collect`` writes it) or, for Canvas exports, from Canvas's own ``_LATE``
marker in the file name (Canvas knows the due date; the time itself is not in the zip, so such a
submission counts as late by one period). The due date is ``--due`` or, without it, the one in the
course's gradebook (``nbgrader db assignment add <name> --duedate ...``).

The penalty is decided by an nbgrader ``LateSubmissionPlugin`` (``CoursePenalty`` adds a per-day
method to nbgrader's ``none`` and ``zero``) for each notebook, clamped to ``[0, notebook score]``
as nbgrader's ``AssignLatePenalties`` does, and stored where nbgrader keeps it
(``SubmittedNotebook.late_submission_penalty``), so ``generate_feedback`` shows it to the student
and ``nbgrader export`` subtracts it. The late flags are kept in ``late.json`` in the state folder.
"""

from __future__ import annotations

import json
import math
import warnings
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from nbgrader.plugins import LateSubmissionPlugin
from nbgrader.utils import parse_utc
from sqlalchemy.exc import SAWarning
from traitlets import Enum, Float

from adl4cv_grading.autograde import gradebook_url
from adl4cv_grading.platforms import Entry
from adl4cv_grading.submissions import Submission

DAY = 24 * 3600.0


class CoursePenalty(LateSubmissionPlugin):
    """nbgrader's late plugin with one more method: ``per_day`` takes ``percent_per_day`` of the
    notebook's score for every started day late (a Canvas ``_LATE`` without a time: one day)."""

    penalty_method = Enum(
        ("none", "zero", "per_day"), default_value="none", help="none, zero (nbgrader's) or per_day"
    ).tag(config=True)
    percent_per_day = Float(10.0, help="per_day: percent of the score taken per started day late").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float) -> float | None:
        if self.penalty_method == "per_day":
            days = max(1, math.ceil(total_seconds_late / DAY))
            return score * min(1.0, days * self.percent_per_day / 100)
        return super().late_submission_penalty(student_id, score, total_seconds_late)


@dataclass
class Lateness:
    """One student's submission time against the due date, and the points it cost."""

    late: bool = False
    seconds_late: float | None = None  # None: late, but when is not known (Canvas's _LATE)
    penalty: float = 0.0
    submitted: str = ""  # UTC, ISO format, when known


def parse_due(text: str | None) -> datetime | None:
    """A due date as UTC (naive, as nbgrader stores it); '2026-12-01 23:59 Europe/Berlin', ISO 8601, ..."""
    if not text:
        return None
    try:
        return parse_utc(text)
    except (ValueError, OverflowError) as error:
        raise ValueError(f"--due: cannot read {text!r} as a date ({error})") from None


def submission_time(sub: Submission) -> datetime | None:
    """nbgrader's ``timestamp.txt`` beside the submission's notebooks, as UTC; None when there is none."""
    for path in sub.notebooks.values():
        stamp = path.parent / "timestamp.txt"
        if stamp.is_file():
            try:
                return parse_utc(stamp.read_text().strip())
            except (ValueError, OverflowError):
                return None
    return None


def lateness(sub: Submission, entry: Entry | None, due: datetime | None) -> Lateness:
    """Whether ``sub`` is late: its timestamp against ``due``, or the platform's own late marker."""
    when = submission_time(sub)
    found = Lateness(submitted=when.isoformat() if when else "")
    if when is not None and due is not None and when > due:
        found.late, found.seconds_late = True, (when - due).total_seconds()
    elif when is None and entry is not None and entry.late:
        found.late = True
    return found


def _store_penalties(gb: Gradebook, assignment: str, student: str, found: Lateness, plugin: CoursePenalty) -> None:
    """The penalty of each of the student's notebooks, as nbgrader's AssignLatePenalties stores it."""
    try:
        submission = gb.find_submission(assignment, student)
    except MissingEntry:
        return
    submission.timestamp = parse_utc(found.submitted) if found.submitted else submission.timestamp
    found.penalty = 0.0
    for notebook in submission.notebooks:
        notebook.late_submission_penalty = None
        if not found.late:
            continue
        seconds = found.seconds_late if found.seconds_late is not None else 1.0
        penalty = plugin.late_submission_penalty(student, notebook.score, seconds)
        if penalty is not None:
            notebook.late_submission_penalty = min(max(penalty, 0.0), notebook.score)
            found.penalty += notebook.late_submission_penalty


def apply(
    course_dir: Path, assignment: str, subs: list[Submission], roster: dict[str, Entry], due_text: str | None, plugin
) -> dict[str, Lateness]:
    """Decide and store every submission's lateness and penalty; return them (also kept in late.json)."""
    found: dict[str, Lateness] = {}
    with warnings.catch_warnings(), Gradebook(gradebook_url(course_dir)) as gb:
        warnings.simplefilter("ignore", SAWarning)
        due = parse_due(due_text)
        if due is not None:
            gb.update_or_create_assignment(assignment, duedate=due)
        else:
            due = gb.find_assignment(assignment).duedate
        for sub in subs:
            found[sub.student] = lateness(sub, roster.get(sub.student), due)
            _store_penalties(gb, assignment, sub.student, found[sub.student], plugin)
        gb.db.commit()
    remember(state_folder(course_dir, assignment), found)
    return found


def state_folder(course_dir: Path, assignment: str) -> Path:
    return Path(course_dir) / ".adl4cv-grading" / assignment


def remember(state: Path, found: dict[str, Lateness]) -> None:
    path = state / "late.json"
    known = load(state)
    known.update(found)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: asdict(v) for k, v in sorted(known.items())}, indent=1))


def load(state: Path) -> dict[str, Lateness]:
    """The lateness of every student decided so far (an unreadable file counts as none)."""
    try:
        return {k: Lateness(**v) for k, v in json.loads((state / "late.json").read_text()).items()}
    except (OSError, ValueError, TypeError):
        return {}
