"""How is a batch of submissions autograded? Each in its own process and its own temporary course.

Submissions are graded in chunks (chunk.py): a worker runs the real ``nbgrader autograde`` inside a
fresh temporary course folder that holds only the nbgrader config, a pristine gradebook with the
assignment (no other student's data) and the chunk's submissions; the judge decides each test
cell's points inside that nbgrader process. Chunks run in local worker threads or, with
``scheduler``, on a Dask cluster (cluster.py). The main process is the only writer
of the course's gradebook: it copies the autograded notebooks back and stores each test cell's
score with nbgrader's own API, so ``nbgrader generate_feedback``, ``nbgrader export`` and the
formgrader keep working on the course folder. Workers run in parallel (``jobs``), and a submission
that breaks, hangs or floods its output gets a reason instead of stopping the batch. Kernels run in
the bubblewrap sandbox (sandbox.py) when ``limits.isolation``.

Nothing is lost: the submitted files are only read (they may be the course's own ``submitted/``);
the course is written only in ``autograded/``, the gradebook and the state folder
``.adl4cv-grading/``. An exception in a worker's chunk or in ``store`` makes those students "not
graded: internal error (see log ...)" (traceback in ``error_log``) and the batch goes on.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import traceback
import warnings
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict
from pathlib import Path

import nbformat
from nbgrader.api import Gradebook
from sqlalchemy.exc import SAWarning

from adl4cv_grading.chunk import (  # noqa: F401 - re-exported: the coordinator's vocabulary
    INTERNAL_ERROR,
    WORKER_LOST,
    Batch,
    Outcome,
    _worker,
    add_slots,
    chunks,
)
from adl4cv_grading.limits import Limits
from adl4cv_grading.nbgrader_run import nbgrader_env, run_nbgrader
from adl4cv_grading.repair import nbgrader_id
from adl4cv_grading.submissions import Submission


def gradebook_url(course_dir: Path) -> str:
    return f"sqlite:///{Path(course_dir).resolve() / 'gradebook.db'}"


def prepare_assignment(assignment: str, course_dir: Path, work: Path) -> tuple[Path, Path]:
    """Put the assignment into the course's gradebook; return (pristine gradebook, release folder).

    ``nbgrader generate_assignment`` records the source's cells (hidden tests included) in a
    gradebook; it runs twice in parallel: in the course (release written to ``work/release``, so
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
    return template_course / "gradebook.db", work / "release" / assignment


def store(outcome: Outcome, autograded: Path | None, sub: Submission, assignment: str, course_dir: Path) -> None:
    """Write one outcome into the course: its autograded/ files and the gradebook (one writer).

    The submitted files are only read, never written: they may be the course's own ``submitted/``.
    """
    target = course_dir / "autograded" / sub.student / assignment
    if target.exists():
        shutil.rmtree(target)
    if autograded is not None:
        shutil.copytree(autograded, target)
        if outcome.reason:
            for path in target.glob("*.ipynb"):
                nb = nbformat.read(path, as_version=4)
                nb.cells.insert(0, nbformat.v4.new_markdown_cell(f"**Notes from the grader:** {outcome.reason}."))
                nbformat.write(nb, path)
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
    if outcome.reason.startswith(INTERNAL_ERROR):
        state.unlink(missing_ok=True)  # graded again next time
    else:
        state.write_text(json.dumps(asdict(outcome), indent=1))


def error_log(course_dir: Path, assignment: str) -> Path:
    """Where internal errors of the grader are written (tracebacks), in its state folder."""
    return Path(course_dir) / ".adl4cv-grading" / assignment / "errors.log"


def _log_error(course_dir: Path, assignment: str, what: str) -> str:
    """Append the current exception's traceback to the error log; return the students' reason."""
    log = error_log(course_dir, assignment)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "a") as f:
        f.write(f"--- {time.strftime('%Y-%m-%d %H:%M:%S')} {what}\n{traceback.format_exc()}\n")
    return f"{INTERNAL_ERROR} (see log {log})"


def _store_or_fail(outcome: Outcome, autograded: Path | None, sub: Submission, assignment: str, course_dir: Path):
    """``store``; when it raises, the student is 'not graded: internal error' (stored as such if possible)."""
    try:
        store(outcome, autograded, sub, assignment, course_dir)
        return outcome
    except Exception:  # noqa: BLE001 - one student's failure must not end the batch
        reason = _log_error(course_dir, assignment, f"storing {sub.student}")
        failed = Outcome(sub.student, "not graded", reason, name=sub.name)
        failed.seconds = outcome.seconds
        try:
            store(failed, None, sub, assignment, course_dir)
        except Exception:  # noqa: BLE001 - the gradebook itself may be unusable; the report says so
            pass
        return failed


def _run_chunks_locally(work: list[list[Submission]], batch: Batch, jobs: int):
    """Yield (chunk, results or a reason) as local worker threads finish them."""
    with ThreadPoolExecutor(jobs) as pool:
        futures = {pool.submit(_worker, chunk, batch): chunk for chunk in work}
        for future in as_completed(futures):
            chunk = futures[future]
            try:
                yield chunk, future.result()
            except Exception:  # noqa: BLE001 - this chunk's students get the reason, the rest go on
                yield chunk, _log_error(batch.course_dir, batch.assignment, f"grading {[s.student for s in chunk]}")


def _grade_ids(course_dir: Path) -> dict[str, set[str]]:
    """The nbgrader cell ids of every assignment of the course (to name the one a stray notebook is from)."""
    ids: dict[str, set[str]] = {}
    for path in sorted((course_dir / "solutions").glob("*/*.ipynb")):
        cells = nbformat.read(path, as_version=4).cells
        ids.setdefault(path.parent.name, set()).update(g for c in cells if (g := nbgrader_id(c)))
    return ids


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
    scheduler: str | None = None,
    seed: int | None = None,
) -> list[Outcome]:
    """Grade ``subs`` with ``jobs`` workers; unchanged submissions are skipped unless ``force``.

    ``scheduler`` (``tcp://HOST:PORT`` or ``local:N``) grades the chunks on a Dask cluster instead of
    local threads (cluster.py); ``seed`` fixes the judge's secret seed (to reproduce a grading run).
    """
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
            old.status, old.seconds, old.name = "unchanged", 0.0, sub.name
            outcomes[sub.student] = old
        else:
            (broken if sub.problem else todo).append(sub)
    if todo or broken:
        with tempfile.TemporaryDirectory(prefix="adl4cv-grade-") as tmp:
            work = Path(tmp)
            template, release = prepare_assignment(assignment, course_dir, work)
            for sub in broken:  # unreadable notebooks: zero points and the reason, nothing to run
                reason = "; ".join(r for r in (sub.problem or "", sub.note) if r)
                outcome = Outcome(sub.student, "not graded", reason, name=sub.name)
                outcome.fingerprint = f"{sub.fingerprint()}:{source_fingerprint}"
                outcomes[sub.student] = _store_or_fail(outcome, None, sub, assignment, course_dir)
            batch = Batch(assignment, course_dir, template, release, limits, work, _grade_ids(course_dir))
            if seed is not None:
                batch.seed = seed
            outcomes.update(_grade_batch(todo, batch, jobs, source_fingerprint, progress, scheduler))
    return [outcomes[s.student] for s in subs]


def _grade_batch(todo, batch: Batch, jobs: int, source_fingerprint: str, progress: bool, scheduler) -> dict:
    """Grade the chunks (local threads or a Dask cluster) and store each outcome from this, the main thread."""
    from tqdm.auto import tqdm

    outcomes: dict[str, Outcome] = {}
    by_student = {s.student: s for s in todo}
    bar = tqdm(total=len(todo), desc=f"grading {batch.assignment}", unit="submission", disable=not progress)
    if scheduler:
        from adl4cv_grading import cluster

        results = cluster.run_chunks(todo, batch, scheduler, progress)
    else:
        add_slots(batch, jobs)
        results = _run_chunks_locally(chunks(todo, jobs), batch, jobs)
    for chunk, found in results:
        if isinstance(found, str):  # the chunk failed as a whole: its students get the reason
            found = [(Outcome(s.student, "not graded", found, name=s.name), None) for s in chunk]
        for outcome, autograded in found:
            sub = by_student[outcome.student]
            if not outcome.reason.startswith((INTERNAL_ERROR, WORKER_LOST)):
                outcome.fingerprint = f"{sub.fingerprint()}:{source_fingerprint}"
            # main thread: the one writer
            outcomes[outcome.student] = _store_or_fail(outcome, autograded, sub, batch.assignment, batch.course_dir)
            bar.update(1)
    bar.close()
    return outcomes
