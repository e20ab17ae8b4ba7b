"""adl4cv-grade: grade a folder of submissions with one command.

    adl4cv-grade 02_optimizers path/to/submissions            # in the repository (the course folder)
    adl4cv-grade 02_optimizers submissions/ --jobs 4 --csv grades.csv

The folder holds ``<student>.ipynb`` files or nbgrader's ``<student>/<assignment>/<notebook>.ipynb``,
or it is a Moodle or Canvas "download all submissions" zip (or its unpacked folder): the platform's
ids are kept, and its grade file is written beside the CSV (platform_io.py; ``--due`` and
``--late-penalty`` for late submissions). The command autogrades every submission with nbgrader
(in parallel, each in its own process and temporary folder, with time, memory and output limits),
stores the grades in the course's nbgrader gradebook, writes feedback HTML (hidden tests' source
removed) under ``feedback/``, exports a grades CSV and prints a per-student summary. Running it again
regrades only changed submissions (``--force`` regrades all). ``--scheduler`` grades the same chunks on
a Dask cluster (cluster.py). Kernels run in the bubblewrap sandbox;
where it cannot start the command refuses (exit 2) unless ``--isolation off``. Exit 1 when the
grader itself failed for some students (they are listed; the others are graded and reported).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import html
import os
import subprocess
import sys
import time
from pathlib import Path

from adl4cv_grading import platform_io, sandbox
from adl4cv_grading.autograde import INTERNAL_ERROR, WORKER_LOST, Outcome, autograde, error_log
from adl4cv_grading.limits import Limits
from adl4cv_grading.nbgrader_run import assignments, nbgrader_env, run_nbgrader
from adl4cv_grading.report import collect, table, write_csv
from adl4cv_grading.sandbox import PACKAGE_DIR as STUDENT_PACKAGE

GRADER = Path(__file__).resolve().parent  # adl4cv_grading


def grading_code() -> list[Path]:
    """The code that decides a grade: the student package's checks/ and probing/ (what runs in the kernel)
    and the whole grader package."""
    folders = [STUDENT_PACKAGE / "checks", STUDENT_PACKAGE / "probing", GRADER]
    return sorted(p for folder in folders if folder.is_dir() for p in folder.rglob("*.py"))


def source_fingerprint(course_dir: Path, assignment: str, limits: Limits | None = None) -> str:
    """A hash of everything that decides a grade besides the submission: the assignment's source,
    the nbgrader config, the grading code and the limits. A change means every submission is regraded."""
    digest = hashlib.sha256()
    files = [course_dir / "nbgrader_config.py", *sorted((course_dir / "solutions" / assignment).rglob("*"))]
    for path in [*files, *grading_code()]:
        if path.is_file():
            digest.update(path.name.encode())
            digest.update(path.read_bytes())
    # CPU threads follow --jobs and decide no grade: changing --jobs alone regrades nobody.
    digest.update(repr(limits and dataclasses.replace(limits, threads=1)).encode())
    return digest.hexdigest()[:16]


def check_kernel_can_import() -> None:
    """nbgrader gives every student zero, silently, if the kernel cannot import the checks: fail loudly first."""
    proc = subprocess.run(
        [sys.executable, "-c", "import adl4cv_utils.checks"],
        capture_output=True,
        text=True,
        env=nbgrader_env(),
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(
            f"adl4cv-grade: the grading kernel ({sys.executable}) cannot import adl4cv_utils; "
            f"install it first (pip install -e .):\n{proc.stderr[-1500:]}"
        )


def write_problem_feedback(course_dir: Path, assignment: str, outcome: Outcome) -> None:
    """A feedback page for a submission nbgrader could not grade, saying why."""
    folder = course_dir / "feedback" / outcome.student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "not_graded.html").write_text(
        f"<html><body><h1>{html.escape(assignment)}: not graded</h1>"
        f"<p>Your submission could not be graded: {html.escape(outcome.reason)}.</p>"
        "<p>Fix the notebook (open it in Jupyter, check that it runs from top to bottom) and submit again.</p>"
        "</body></html>\n"
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="adl4cv-grade", description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("assignment", help="assignment name, a folder of solutions/ (e.g. 02_optimizers)")
    parser.add_argument(
        "submissions", type=Path, help="folder of submissions (flat or nbgrader layout), or a Moodle or Canvas zip"
    )
    parser.add_argument(
        "--course-dir",
        type=Path,
        default=Path.cwd(),
        help="the nbgrader course folder with nbgrader_config.py and solutions/ (default: .)",
    )
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parallel workers (default: cores)")
    parser.add_argument("--force", action="store_true", help="regrade submissions that did not change")
    parser.add_argument("--csv", type=Path, help="grades CSV (default: <course>/exports/<assignment>_grades.csv)")
    parser.add_argument("--no-feedback", action="store_true", help="do not write feedback HTML")
    parser.add_argument("--cell-timeout", type=int, default=Limits.cell_seconds, help="seconds per cell")
    parser.add_argument(
        "--submission-timeout", type=float, default=Limits.submission_seconds, help="seconds per submission"
    )
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="memory per submission (MB)")
    parser.add_argument("--max-output-lines", type=int, default=Limits.output_lines, help="output lines kept per cell")
    parser.add_argument(
        "--max-output-chars", type=int, default=Limits.output_chars, help="output characters kept per cell"
    )
    parser.add_argument(
        "--interrupt-grace",
        type=float,
        default=Limits.interrupt_grace_seconds,
        help="seconds a timed-out cell has to stop once interrupted before its kernel is killed",
    )
    parser.add_argument("--processes", type=int, default=Limits.processes, help="processes+threads per kernel")
    parser.add_argument("--file-mb", type=int, default=Limits.file_mb, help="largest file a kernel may write (MB)")
    parser.add_argument(
        "--scratch-mb", type=int, default=Limits.scratch_mb, help="a kernel's working folder and /tmp (MB each)"
    )
    parser.add_argument(
        "--isolation",
        choices=("on", "off"),
        default="on",
        help="run kernels in the bubblewrap sandbox (default; the command refuses to grade where it cannot "
        "start); off: kernels run as you, see your files and the network",
    )
    parser.add_argument(
        "--scheduler",
        help="grade on a Dask cluster: tcp://HOST:8786 (a running `dask scheduler`) or local:N (a LocalCluster of N "
        'worker processes on this machine); needs pip install "adl4cv-utils[cluster]"',
    )
    parser.add_argument(
        "--seed",
        type=int,
        help="the judge's secret seed (default: a fresh random one per run; give the one in the state files "
        "under .adl4cv-grading/ to reproduce a run)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    platform_io.add_arguments(parser)
    return parser.parse_args(argv)


class UsageError(Exception):
    """A command line that cannot be graded; the message is printed and the exit status is 2."""


def _checked_course(args) -> Path:
    course_dir = args.course_dir.resolve()
    if not (course_dir / "nbgrader_config.py").is_file():
        raise UsageError(f"{course_dir} has no nbgrader_config.py (use --course-dir)")
    if args.assignment not in assignments(course_dir):
        raise UsageError(f"unknown assignment {args.assignment!r}; known: {', '.join(assignments(course_dir))}")
    return course_dir


def _limits(args) -> Limits:
    isolation = args.isolation == "on"
    if isolation and not sandbox.available():
        raise UsageError(
            f"cannot sandbox the grading kernels: {sandbox.why_unavailable()}. "
            "Grading without the sandbox lets submissions read your files: give --isolation off to do it anyway."
        )
    if not isolation:
        print(
            "adl4cv-grade: --isolation off: kernels run without the sandbox (as your user, seeing your files "
            "and the network)",
            file=sys.stderr,
        )
    return Limits(
        cell_seconds=args.cell_timeout,
        submission_seconds=args.submission_timeout,
        memory_mb=args.memory_mb,
        output_lines=args.max_output_lines,
        output_chars=args.max_output_chars,
        interrupt_grace_seconds=args.interrupt_grace,
        processes=args.processes,
        file_mb=args.file_mb,
        scratch_mb=args.scratch_mb,
        isolation=isolation,
        threads=max(1, (os.cpu_count() or 1) // max(args.jobs, 1)),
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    start = time.perf_counter()
    try:
        course_dir = _checked_course(args)
        limits = _limits(args)
        notebooks = sorted(p.name for p in (course_dir / "solutions" / args.assignment).glob("*.ipynb"))
        subs, roster = platform_io.discover(args, course_dir, notebooks)
    except (UsageError, ValueError) as error:
        print(f"adl4cv-grade: {error}", file=sys.stderr)
        return 2
    check_kernel_can_import()
    outcomes = autograde(
        subs,
        args.assignment,
        course_dir,
        limits,
        jobs=args.jobs,
        force=args.force,
        source_fingerprint=source_fingerprint(course_dir, args.assignment, limits),
        progress=not args.quiet,
        scheduler=args.scheduler,
        seed=args.seed,
    )
    platform_io.after_grading(args, course_dir, subs, roster)  # late penalties, before the feedback
    _report(args, course_dir, outcomes)
    print(f"done in {time.perf_counter() - start:.1f} s")
    failed = [o.student for o in outcomes if o.reason.startswith((INTERNAL_ERROR, WORKER_LOST))]
    if failed:
        print(
            f"adl4cv-grade: internal errors while grading {len(failed)} submission(s) ({', '.join(failed)}); "
            f"see {error_log(course_dir, args.assignment)}; run the command again to grade them",
            file=sys.stderr,
        )
        return 1
    return 0


def _report(args, course_dir: Path, outcomes: list[Outcome]) -> None:
    """Feedback HTML (unless --no-feedback), the grades CSV and the summary table."""
    if not args.no_feedback:
        proc = run_nbgrader(["generate_feedback", args.assignment, "--force"], cwd=course_dir)
        if proc.returncode != 0:
            print(f"adl4cv-grade: generate_feedback reported an error:\n{proc.stderr[-2000:]}", file=sys.stderr)
        for outcome in outcomes:
            if outcome.status == "not graded":
                write_problem_feedback(course_dir, args.assignment, outcome)
    rows = collect(outcomes, args.assignment, course_dir)
    order = platform_io.csv_test_order(course_dir, args.assignment)
    csv_path = write_csv(rows, args.csv or course_dir / "exports" / f"{args.assignment}_grades.csv", order)
    print(table(rows))
    print(f"grades: {csv_path}")
    for path in platform_io.write_exports(args, course_dir, rows):
        print(f"platform grades: {path}")
    if not args.no_feedback:
        print(f"feedback: {course_dir / 'feedback'}/<student>/{args.assignment}/")


if __name__ == "__main__":
    sys.exit(main())
