"""What does each course platform import? Grade files for Moodle and Canvas, written and read back.

* Moodle: the assignment's grading worksheet for offline grading (``assignfeedback_offline``;
  "Download grading worksheet" / "Upload grading worksheet"). Its importer
  (``mod/assign/feedback/offline/importgradeslib.php``) needs the columns ``Identifier``
  (``Participant <id>``), ``Grade`` and ``Last modified (grade)``; the worksheet Moodle itself writes
  has the columns of ``MOODLE_COLUMNS``, which are written here in that order. A grade above the
  assignment's maximum grade in Moodle is skipped by Moodle: set it to the notebook's total (or
  give ``max_grade`` to rescale).
* Canvas: the gradebook CSV import (Grades > Import): ``Student, ID, SIS User ID, SIS Login ID,
  Section`` and one column per assignment, titled ``<Assignment name> (<assignment id>)`` to update
  an existing assignment (a title without an id makes a new one); the row after the header may give
  ``Points Possible``. Students are matched by ``ID`` (the user id from the zip's file names).
"""

from __future__ import annotations

import csv
import time
from pathlib import Path

from adl4cv_grading.platforms import Entry

MOODLE_COLUMNS = [
    "Identifier",
    "Full name",
    "Email address",
    "Status",
    "Grade",
    "Maximum Grade",
    "Grade can be changed",
    "Last modified (submission)",
    "Last modified (grade)",
    "Feedback comments",
]
CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
MOODLE_PARTICIPANT = "Participant "  # Moodle's string 'hiddenuser', the prefix of the Identifier


def _feedback(row) -> str:
    """The sentence a platform shows next to the grade: the report's reason, and the late penalty."""
    parts = [row.reason] if row.reason else []
    if row.penalty:
        parts.append(f"late: {row.penalty:g} point(s) deducted")
    return "; ".join(parts)


def write_moodle(rows, roster: dict[str, Entry], path: Path, max_grade: float | None = None) -> Path:
    """Moodle's grading worksheet for the students of ``rows`` that came from a Moodle export."""
    now = time.strftime("%A, %d %B %Y, %I:%M %p")  # as Moodle writes it: userdate(), strftimedaydatetime
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(MOODLE_COLUMNS)
        for row in rows:
            entry = roster.get(row.student)
            if entry is None or entry.platform != "moodle":
                continue
            scale = (max_grade / row.max_score) if max_grade and row.max_score else 1.0
            grade, maximum = row.score * scale, max_grade or row.max_score
            writer.writerow(
                [f"{MOODLE_PARTICIPANT}{entry.platform_id}", entry.name, "", "Submitted for grading"]
                + [f"{grade:.2f}", f"{maximum:.2f}", "Yes", "-", now, _feedback(row)]
            )
    return path


def write_canvas(rows, roster: dict[str, Entry], path: Path, column: str, max_grade: float | None = None) -> Path:
    """Canvas's gradebook import CSV (one assignment column) for the students from a Canvas export."""
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([*CANVAS_COLUMNS, column])
        points = max_grade or (rows[0].max_score if rows else 0.0)
        writer.writerow(["Points Possible", "", "", "", "", f"{points:g}"])
        for row in rows:
            entry = roster.get(row.student)
            if entry is None or entry.platform != "canvas":
                continue
            scale = (max_grade / row.max_score) if max_grade and row.max_score else 1.0
            writer.writerow([entry.name, entry.platform_id, "", "", "", f"{row.score * scale:g}"])
    return path


def write_grade_files(rows, roster: dict[str, Entry], exports: Path, assignment: str, **options) -> list[Path]:
    """The grade file of each platform some of the students came from; the paths written."""
    platforms = {roster[r.student].platform for r in rows if r.student in roster}
    written = []
    if "moodle" in platforms:
        path = exports / f"{assignment}_moodle_worksheet.csv"
        written.append(write_moodle(rows, roster, path, options.get("max_grade")))
    if "canvas" in platforms:
        path = exports / f"{assignment}_canvas_gradebook.csv"
        column = options.get("canvas_column") or assignment
        written.append(write_canvas(rows, roster, path, column, options.get("max_grade")))
    return written


def read_moodle(path: Path) -> dict[str, float]:
    """Participant id -> grade, as Moodle's importer reads a worksheet (the columns found by name)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = {"Identifier", "Grade", "Last modified (grade)"} - set(reader.fieldnames or [])
        if missing:
            raise ValueError(f"{path}: not a Moodle grading worksheet, no column(s) {sorted(missing)}")
        return {r["Identifier"].removeprefix(MOODLE_PARTICIPANT): float(r["Grade"]) for r in reader}


def read_canvas(path: Path) -> dict[str, dict[str, float]]:
    """User id -> {assignment column: points} of a Canvas gradebook CSV ("Points Possible" skipped)."""
    with open(path, newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        if (reader.fieldnames or [])[: len(CANVAS_COLUMNS)] != CANVAS_COLUMNS:
            raise ValueError(f"{path}: not a Canvas gradebook CSV (expected columns {CANVAS_COLUMNS} first)")
        columns = reader.fieldnames[len(CANVAS_COLUMNS) :]
        return {
            r["ID"]: {c: float(r[c]) for c in columns if r[c] != ""}
            for r in reader
            if r["Student"].strip() != "Points Possible"
        }
