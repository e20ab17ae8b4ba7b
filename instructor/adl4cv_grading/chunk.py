"""What is the unit of grading work? A chunk: a few submissions in one temporary course, one nbgrader.

``_worker`` grades a chunk wherever it runs (a local worker thread, or a Dask worker through
cluster.py): it repairs each notebook against the release, runs ``nbgrader autograde`` once for the
chunk (each notebook in its own sandboxed kernel, the judge ruling on every test cell) and returns
each submission's ``Outcome`` with its autograded folder. It never touches the course folder: the
coordinator (autograde.py) stores the results.
"""

from __future__ import annotations

import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from adl4cv_grading import sandbox, verdict
from adl4cv_grading.execute import limit_reasons
from adl4cv_grading.limits import Limits
from adl4cv_grading.nbgrader_run import nbgrader_env
from adl4cv_grading.repair import repair
from adl4cv_grading.ruling import new_seed
from adl4cv_grading.submissions import Submission

INTERNAL_ERROR = "internal error"
WORKER_LOST = "worker lost"  # a cluster worker died twice on the chunk (cluster.py)


@dataclass
class Outcome:
    """What grading one submission gave: per-cell scores, a status and, if points were lost to it, why."""

    student: str
    status: str  # "graded", "partly graded", "not graded", "unchanged"
    reason: str = ""
    seconds: float = 0.0
    scores: dict[str, dict[str, float | None]] = field(default_factory=dict)  # notebook -> grade_id -> score
    fingerprint: str = ""
    judge_seed: int | None = None  # the secret seed the judge drew this submission's inputs from
    name: str = ""  # the file or folder name the student id was made from
    review: str = ""  # what the static analysis flagged for the instructor (no points taken)


@dataclass
class Batch:
    """What every worker of one grading run shares."""

    assignment: str
    course_dir: Path
    template_db: Path
    release: Path
    limits: Limits
    work: Path
    other_assignments: dict[str, set[str]]
    slots: queue.Queue = field(default_factory=queue.Queue)  # per-worker (environment, nbgrader options)
    seed: int = field(default_factory=new_seed)  # secret: the judge's inputs come from it


def _worker(chunk: list[Submission], batch: Batch) -> list[tuple[Outcome, Path | None]]:
    """Autograde a chunk of submissions in one temporary course with one nbgrader process.

    One process per chunk (not per submission) saves nbgrader's start-up, which costs about as
    much as grading a notebook; each notebook still gets its own kernel, limits and sandbox.
    """
    start = time.perf_counter()
    course = Path(tempfile.mkdtemp(prefix="chunk-", dir=batch.work))
    shutil.copy(batch.course_dir / "nbgrader_config.py", course)
    shutil.copy(batch.template_db, course / "gradebook.db")
    done, todo = _prepare(chunk, batch, course)
    if not todo:
        return done
    log_text, stopped = _run_nbgrader(batch, course, len(todo))
    elapsed = (time.perf_counter() - start) / len(todo)
    return done + [
        _collect(sub, outcome, notes, batch, course, log_text, stopped, elapsed) for sub, outcome, notes in todo
    ]


def _prepare(chunk: list[Submission], batch: Batch, course: Path):
    """Repair each submission into the course's submitted/; (not gradable outcomes, [(sub, outcome, notes)])."""
    assignment = batch.assignment
    done: list[tuple[Outcome, Path | None]] = []
    todo: list[tuple[Submission, Outcome, list[str]]] = []
    for sub in chunk:
        outcome, notes = Outcome(sub.student, "graded", name=sub.name), [sub.note] if sub.note else []
        target = course / "submitted" / sub.student / assignment
        target.mkdir(parents=True)
        for name, path in sub.notebooks.items():
            release = nbformat.read(batch.release / name, as_version=4)
            repaired, found = repair(nbformat.read(path, as_version=4), release, assignment, batch.other_assignments)
            if repaired is None:
                outcome.status, outcome.reason = "not graded", "; ".join([*notes, *found])
                break
            notes += found
            nbformat.write(repaired, target / name)
        if outcome.status == "not graded":
            shutil.rmtree(target.parent)
            done.append((outcome, None))
        else:
            todo.append((sub, outcome, notes))
    return done, todo


def _nbgrader_args(batch: Batch) -> list[str]:
    """The ``nbgrader autograde`` command line of a chunk, with the judge's and the limits' options."""
    assignment, limits = batch.assignment, batch.limits
    return [
        *limits.prlimit_prefix(),
        sys.executable,
        "-m",
        "nbgrader",
        "autograde",
        assignment,
        "--force",
        f"--Execute.timeout={limits.cell_seconds}",
        f"--JudgedExecute.judge_assignment={assignment}",
        f"--JudgedExecute.judge_seed={batch.seed}",
        f"--JudgedExecute.judge_release={batch.release}",
        f"--JudgedExecute.judge_sandboxed={bool(limits.isolation)}",
        "--JudgedExecute.judge_kernel_ready=True",
        f"--Execute.iopub_timeout={max(1, round(limits.interrupt_grace_seconds))}",
        f"--LimitedExecute.submission_seconds={limits.submission_seconds}",
        f"--LimitedExecute.max_output_chars={limits.output_chars}",
        f"--LimitOutput.max_lines={limits.output_lines}",
    ]


def _run_nbgrader(batch: Batch, course: Path, count: int) -> tuple[str, str]:
    """Run nbgrader for the chunk's ``count`` submissions; (its log, why it was stopped or "")."""
    limits, log = batch.limits, course / "autograde.log"
    backstop = count * (limits.submission_seconds + 60) + 60
    slot_env, slot_args = batch.slots.get()  # this worker's environment (its own sandbox uid and sockets)
    try:
        with open(log, "w") as out:
            proc = subprocess.Popen(  # limits by prlimit (no preexec_fn: this runs in a thread)
                [*_nbgrader_args(batch), *slot_args],
                cwd=course,
                env=nbgrader_env({**limits.environment(), **slot_env}),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:  # a backstop: LimitedExecute already stops each notebook at submission_seconds
                proc.wait(timeout=backstop)
                stopped = ""
            except subprocess.TimeoutExpired:
                _kill_group(proc)
                stopped = f"time limit: grading was stopped after {backstop:.0f} s"
    finally:
        batch.slots.put((slot_env, slot_args))
    return log.read_text(errors="replace"), stopped


def _collect(sub, outcome, notes, batch, course, log_text, stopped, elapsed) -> tuple[Outcome, Path | None]:
    """One submission's outcome: the judge's points, the limits it hit and why it was not (fully) graded."""
    autograded = course / "autograded" / sub.student / batch.assignment
    graded = sorted(autograded.glob("*.ipynb")) if autograded.is_dir() else []
    # The points: the judge's verdicts, written by nbgrader's process (JudgedExecute), not the kernel's.
    found = verdict.verdicts(autograded)
    outcome.scores = verdict.scores(found)
    outcome.judge_seed = batch.seed
    notes += verdict.notes(found)
    outcome.review = "; ".join(verdict.reviews(found))
    for path in graded:
        notes += limit_reasons(nbformat.read(path, as_version=4), batch.limits.submission_seconds)
    if not graded:
        outcome.status = "not graded"
        notes.append(stopped or _reason_from_log(log_text, sub.student))
        autograded = None
    elif stopped or any(n.startswith(("time limit", "the kernel died")) for n in notes):
        outcome.status = "partly graded"
    outcome.reason = "; ".join(dict.fromkeys(notes))
    outcome.seconds = elapsed
    return outcome, autograded


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def _reason_from_log(log: str, student: str) -> str:
    """A one-line reason from nbgrader's log when it produced nothing for ``student``."""
    lines = log.splitlines()
    mine = [i for i, ln in enumerate(lines) if f"/submitted/{student}/" in ln and "[ERROR]" in ln]
    # nbgrader logs the error text just before "There was an error processing assignment: .../<student>/..."
    for i in mine:
        before = [ln.strip() for ln in lines[max(0, i - 60) : i] if "Error" in ln and "[ERROR]" not in ln]
        if before:
            return f"nbgrader failed: {before[-1][:300]}"
    return "nbgrader failed and produced no autograded notebook"


def add_slots(batch: Batch, jobs: int, first: int = 0) -> None:
    """One environment per parallel worker: with isolation, its own kernel spec, uid and socket folder."""
    limits, work = batch.limits, batch.work
    for slot in range(first, first + jobs):
        if limits.isolation:
            folder, runtime = work / f"jupyter-{slot}", work / f"runtime-{slot}"
            spec = sandbox.kernel_spec(folder, runtime, limits, sandbox.BASE_UID + slot)
            env = {"JUPYTER_PATH": str(spec.parents[1]), "JUPYTER_RUNTIME_DIR": str(runtime)}
            batch.slots.put((env, sandbox.kernel_client_config(runtime)))
        else:  # no sandbox, but the guarded kernel all the same
            spec = sandbox.guard_kernel_spec(work / f"jupyter-{slot}")
            batch.slots.put(({"JUPYTER_PATH": str(spec.parents[1])}, []))


def chunks(subs: list[Submission], jobs: int, most: int = 10) -> list[list[Submission]]:
    """Split the work into about two chunks per worker (balance), of at most ``most`` submissions.

    Each chunk costs one nbgrader start-up (about 2.5 s on a laptop CPU), so chunks are as large
    as balance allows.
    """
    size = max(1, min(most, -(-len(subs) // (jobs * 2))))
    return [subs[i : i + size] for i in range(0, len(subs), size)]
