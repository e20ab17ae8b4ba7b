"""The command line's part around grading: platform exports in, late penalties, platform grade files out.

``adl4cv-grade`` calls three functions of this module (cli.py stays about grading): ``discover``
(submissions from any layout, and the platform roster), ``after_grading`` (lateness and penalties
into the gradebook, before feedback is written) and ``write_exports`` (the CSV's test order and the
platforms' grade files).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from adl4cv_grading import gradefiles, late, platforms
from adl4cv_grading.findings import graded_cell_order


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of platforms and late handling."""
    group = parser.add_argument_group("course platforms and late submissions")
    group.add_argument(
        "--due",
        help="due date, e.g. '2026-12-01 23:59 Europe/Berlin' or 2026-12-01T23:59+01:00 (default: the gradebook's "
        "duedate of the assignment); submissions with a later timestamp.txt are late",
    )
    group.add_argument(
        "--late-penalty",
        choices=("none", "zero", "per_day"),
        default="none",
        help="what a late submission costs: none (flag only), zero (nbgrader's: no points), or per_day",
    )
    group.add_argument(
        "--late-percent-per-day", type=float, default=10.0, help="per_day: percent of the score per started day"
    )
    group.add_argument(
        "--canvas-column",
        help="the Canvas gradebook column to fill, 'Name (assignment id)' as in Canvas's export (default: the "
        "assignment's name, which Canvas imports as a new assignment)",
    )
    group.add_argument(
        "--platform-max-grade", type=float, help="rescale the platform grade files to this maximum grade"
    )


def discover(args, course_dir: Path, notebooks: list[str]):
    """(submissions, roster) from a Moodle or Canvas zip or folder, or the flat and nbgrader layouts."""
    state = late.state_folder(course_dir, args.assignment)
    subs, roster = platforms.discover_any(args.submissions, args.assignment, notebooks, state)
    if roster:
        platforms.remember(state, roster)
    late.parse_due(args.due)  # a due date that cannot be read is a usage error, before any grading
    return subs, roster


def after_grading(args, course_dir: Path, subs, roster) -> dict[str, late.Lateness]:
    """Lateness and the configured penalty of this batch's submissions, stored in the gradebook."""
    plugin = late.CoursePenalty(penalty_method=args.late_penalty, percent_per_day=args.late_percent_per_day)
    return late.apply(course_dir, args.assignment, subs, roster, args.due, plugin)


def csv_test_order(course_dir: Path, assignment: str) -> list[str]:
    """The CSV's test columns: notebook order of the assignment's test cells."""
    return graded_cell_order(Path(course_dir) / "solutions" / assignment)


def write_exports(args, course_dir: Path, rows) -> list[Path]:
    """The grade file of each platform the students came from (every student graded so far)."""
    roster = platforms.load_roster(late.state_folder(course_dir, args.assignment))
    exports = (args.csv.parent if args.csv else Path(course_dir) / "exports").resolve()
    exports.mkdir(parents=True, exist_ok=True)
    return gradefiles.write_grade_files(
        rows,
        roster,
        exports,
        args.assignment,
        canvas_column=args.canvas_column,
        max_grade=args.platform_max_grade,
    )
