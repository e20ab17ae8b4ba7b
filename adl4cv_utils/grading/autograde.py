"""How is a batch of submissions autograded? Each in its own process and its own temporary course.

For every submission a worker runs the real ``nbgrader autograde --student S`` inside a fresh
temporary course folder that holds only the nbgrader config, a pristine gradebook with the
assignment (no other student's data) and that one submission. The main process is the only writer
of the course's gradebook: it copies the autograded notebooks back and stores each test cell's
score with nbgrader's own API, so ``nbgrader generate_feedback``, ``nbgrader export`` and the
formgrader keep working on the course folder. Workers run in parallel (``jobs``), and a submission
that breaks, hangs or floods its output gets a reason instead of stopping the batch.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from pathlib import Path

from nbgrader.api import Gradebook, MissingEntry
from sqlalchemy.exc import SAWarning

from adl4cv_utils.grading.limits import Limits
from adl4cv_utils.grading.nbgrader_run import nbgrader_env, run_nbgrader
from adl4cv_utils.grading.submissions import Submission


@dataclass
class Outcome:
    """What grading one submission gave: per-cell scores, a status and, if points were lost to it, why."""

    student: str
    status: str  # "graded", "partly graded", "not graded", "unchanged"
    reason: str = ""
    seconds: float = 0.0
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # notebook -> grade_id -> score
    fingerprint: str = ""


def gradebook_url(course_dir: Path) -> str:
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def prepare_assignment(assignment: str, course_dir: Path, work: Path) -> Path:
    """Put the assignment into the course's gradebook and return a pristine gradebook to copy per worker.

    ``nbgrader generate_assignment`` records the source's cells (hidden tests included) in a
    gradebook; it runs twice in parallel: in the course (release written to a temporary folder, so
    exercises/ is untouched) and in an empty temporary course that yields the pristine template.
    """
    template_course = work / "template"
    template_course.mkdir(parents=True)
    shutil.copy(course_dir / "nbgrader_config.py", template_course)
    shutil.copytree(course_dir / "solutions" / assignment, template_course / "solutions" / assignment)
    jobs = {
        "course": (
            course_dir,
            ["generate_assignment", assignment, "--force", f"--CourseDirectory.release_directory={work / 'release'}"],
        ),
        "template": (template_course, ["generate_assignment", assignment, "--force"]),
    }
    with ThreadPoolExecutor(2) as pool:
        procs = {k: pool.submit(run_nbgrader, args, cwd) for k, (cwd, args) in jobs.items()}
        for key, future in procs.items():
            proc = future.result()
            if proc.returncode != 0:
                raise RuntimeError(f"nbgrader generate_assignment {assignment} ({key}) failed:\n{proc.stderr[-3000:]}")
    return template_course / "gradebook.db"


def _worker(
    sub: Submission, assignment: str, course_dir: Path, template_db: Path, limits: Limits, work: Path
) -> tuple[Outcome, Path | None]:
    """Autograde one submission in its own temporary course; return its outcome and autograded folder."""
    start = time.perf_counter()
    course = Path(tempfile.mkdtemp(prefix=f"{sub.student}-", dir=work))
    shutil.copy(course_dir / "nbgrader_config.py", course)
    shutil.copy(template_db, course / "gradebook.db")
    target = course / "submitted" / sub.student / assignment
    target.mkdir(parents=True)
    for name, path in sub.notebooks.items():
        shutil.copy(path, target / name)
    args = [
        sys.executable,
        "-m",
        "nbgrader",
        "autograde",
        assignment,
        "--student",
        sub.student,
        "--force",
        f"--Execute.timeout={limits.cell_seconds}",
        f"--LimitOutput.max_lines={limits.output_lines}",
    ]
    log = course / "autograde.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            args,
            cwd=course,
            env=nbgrader_env(limits.environment()),
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=limits.apply_in_child,
            start_new_session=True,
        )
        try:
            proc.wait(timeout=limits.submission_seconds)
            reason = ""
        except subprocess.TimeoutExpired:
            _kill_group(proc)
            reason = f"time limit: grading stopped after {limits.submission_seconds:.0f} s for the whole submission"
    outcome = Outcome(sub.student, "graded", reason, fingerprint=sub.fingerprint())
    outcome.scores = _read_scores(course / "gradebook.db", assignment, sub.student, list(sub.notebooks))
    autograded = course / "autograded" / sub.student / assignment
    log_text = log.read_text(errors="replace")
    if not reason:
        outcome.reason = _reason_from_log(log_text, proc.returncode)
    if not autograded.is_dir() or not any(autograded.glob("*.ipynb")):
        outcome.status = "not graded"
        outcome.reason = outcome.reason or "nbgrader produced no autograded notebook"
        autograded = None
    elif outcome.reason:
        outcome.status = "partly graded"
    outcome.seconds = time.perf_counter() - start
    return outcome, autograded


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _reason_from_log(log: str, returncode: int) -> str:
    """A one-line reason from nbgrader's log when autograding a notebook went wrong."""
    markers = ("DeadKernelError", "Kernel died", "MemoryError", "CellTimeoutError", "Traceback")
    if returncode == 0 and not any(m in log for m in markers[:2]):
        return ""
    for line in log.splitlines():
        if "DeadKernelError" in line or "Kernel died" in line:
            return "the kernel died while running the notebook (a cell ended the process or ran out of memory)"
    if returncode != 0:
        errors = [ln for ln in log.splitlines() if "[ERROR]" in ln or "Error" in ln]
        return f"nbgrader failed: {errors[-1].strip()[:300] if errors else 'exit code ' + str(returncode)}"
    return ""


def _read_scores(db: Path, assignment: str, student: str, notebooks: list[str]) -> dict:
    scores: dict[str, dict[str, float | None]] = {}
    if not db.exists():
        return scores
    with Gradebook(f"sqlite:///{db}") as gb:
        for nb_name in notebooks:
            stem = Path(nb_name).stem
            try:
                sub_nb = gb.find_submission_notebook(stem, assignment, student)
            except MissingEntry:
                continue
            scores[stem] = {g.name: g.auto_score for g in sub_nb.grades}
    return scores


def store(outcome: Outcome, autograded: Path | None, sub: Submission, assignment: str, course_dir: Path) -> None:
    """Write one outcome into the course: submitted/ and autograded/ files, and the gradebook (one writer)."""
    submitted = course_dir / "submitted" / sub.student / assignment
    if submitted.exists():
        shutil.rmtree(submitted)
    submitted.mkdir(parents=True)
    for name, path in sub.notebooks.items():
        shutil.copy(path, submitted / name)
    target = course_dir / "autograded" / sub.student / assignment
    if target.exists():
        shutil.rmtree(target)
    if autograded is not None:
        shutil.copytree(autograded, target)
    with warnings.catch_warnings(), Gradebook(gradebook_url(course_dir)) as gb:
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's API triggers harmless autoflush warnings
        gb.update_or_create_student(sub.student)
        submission = gb.update_or_create_submission(assignment, sub.student)
        for notebook in submission.notebooks:
            for grade in notebook.grades:
                score = outcome.scores.get(notebook.name, {}).get(grade.name)
                # A test that never ran (broken notebook, limit hit before it) scores zero, not "ungraded".
                grade.auto_score = score if score is not None or grade.cell_type != "code" else 0.0
                grade.needs_manual_grade = grade.auto_score is None or grade.manual_score is not None
        gb.db.commit()
    state = state_file(course_dir, assignment, sub.student)
    state.parent.mkdir(parents=True, exist_ok=True)
    state.write_text(json.dumps(asdict(outcome), indent=1))


def state_file(course_dir: Path, assignment: str, student: str) -> Path:
    """Where the last grading of a student is remembered (to skip unchanged submissions)."""
    return Path(course_dir) / ".adl4cv-grading" / assignment / f"{student}.json"


def previous(course_dir: Path, assignment: str, student: str) -> Outcome | None:
    """The stored outcome of the student's last grading, if its autograded files are still there."""
    path = state_file(course_dir, assignment, student)
    if not path.exists() or not (course_dir / "autograded" / student / assignment).is_dir():
        return None
    try:
        return Outcome(**json.loads(path.read_text()))
    except (ValueError, TypeError):
        return None  # an unreadable state file only means: grade again


def autograde(
    subs: list[Submission],
    assignment: str,
    course_dir: Path,
    limits: Limits,
    jobs: int = 1,
    force: bool = False,
    source_fingerprint: str = "",
    progress: bool = True,
) -> list[Outcome]:
    """Grade ``subs`` with ``jobs`` workers; unchanged submissions are skipped unless ``force``."""
    from tqdm.auto import tqdm

    if jobs < 1:
        raise ValueError(f"jobs: expected a positive int, got {jobs!r}")
    course_dir = Path(course_dir).resolve()
    os.environ["PATH"] = nbgrader_env()["PATH"]  # the gradebook API in this process runs `alembic` too
    outcomes: dict[str, Outcome] = {}
    todo: list[Submission] = []
    broken: list[Submission] = []
    for sub in subs:
        old = None if force or sub.problem else previous(course_dir, assignment, sub.student)
        if old is not None and old.fingerprint == f"{sub.fingerprint()}:{source_fingerprint}":
            old.status, old.seconds = "unchanged", 0.0
            outcomes[sub.student] = old
        else:
            (broken if sub.problem else todo).append(sub)
    if todo or broken:
        with tempfile.TemporaryDirectory(prefix="adl4cv-grade-") as tmp:
            work = Path(tmp)
            template = prepare_assignment(assignment, course_dir, work)
            for sub in broken:  # unreadable notebooks: zero points and the reason, nothing to run
                outcomes[sub.student] = Outcome(sub.student, "not graded", sub.problem or "")
                store(outcomes[sub.student], None, sub, assignment, course_dir)
            by_student = {s.student: s for s in todo}
            with ThreadPoolExecutor(jobs) as pool:
                futures = [pool.submit(_worker, s, assignment, course_dir, template, limits, work) for s in todo]
                for future in tqdm(
                    as_completed(futures),
                    total=len(futures),
                    desc=f"grading {assignment}",
                    unit="submission",
                    disable=not progress,
                ):
                    outcome, autograded = future.result()
                    sub = by_student[outcome.student]
                    outcome.fingerprint = f"{sub.fingerprint()}:{source_fingerprint}"
                    store(outcome, autograded, sub, assignment, course_dir)  # main thread: the one writer
                    outcomes[outcome.student] = outcome
    return [outcomes[s.student] for s in subs]
