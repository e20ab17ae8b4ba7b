"""How does a batch grade on a Dask cluster? The same sandboxed chunks, sent as data, run anywhere.

``adl4cv-grade ... --scheduler tcp://HOST:8786`` (or ``local:N`` for a ``LocalCluster`` of N worker
processes) sends each chunk of submissions to a Dask worker as plain data: the nbgrader config, the
pristine gradebook with the assignment, the release notebooks, the limits, the secret seed and the
chunk's notebooks. The worker rebuilds a temporary course from it, grades the chunk exactly as a
local worker thread does (``autograde._worker``: the same sandbox, limits and judge) and returns
data: each outcome and its autograded notebooks. Workers need the package (and bubblewrap), not the
course folder or a shared file system; the coordinator stays the only writer of the gradebook.

A chunk whose worker dies or loses its connection is retried once on another worker; after that
its students are "not graded: worker lost" and the rest of the batch goes on. Dask is an optional
extra (``pip install "adl4cv-utils[cluster]"``); without ``--scheduler`` it is never imported.
"""

from __future__ import annotations

import logging
import os
import tempfile
from dataclasses import asdict
from pathlib import Path

CRASH_ENV = "ADL4CV_TEST_CRASH_STUDENT"  # tests only: a worker grading this student dies ...
CRASH_ONCE_ENV = "ADL4CV_TEST_CRASH_ONCE_FILE"  # ... only the first time (this file marks it)


def connect(scheduler: str):
    """A ``distributed.Client`` for ``tcp://...`` or a new ``LocalCluster`` for ``local:N``."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError:
        raise SystemExit('adl4cv-grade: --scheduler needs Dask: pip install "adl4cv-utils[cluster]"') from None
    # A task whose worker died is retried once elsewhere, then reported (not retried 3 times).
    dask.config.set({"distributed.scheduler.allowed-failures": 1})
    if scheduler.startswith("local:"):
        try:
            n = int(scheduler.removeprefix("local:"))
        except ValueError:
            n = 0
        if n < 1:
            raise ValueError(f"scheduler: expected local:N with N >= 1, got {scheduler!r}")
        cluster = LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=logging.ERROR
        )
        return Client(cluster)
    if not scheduler.startswith(("tcp://", "tls://", "ws://", "wss://", "inproc://")):
        raise ValueError(f"scheduler: expected tcp://HOST:PORT or local:N, got {scheduler!r}")
    return Client(scheduler)


def payload(chunk, batch) -> dict:
    """Everything a remote worker needs to grade ``chunk``, as plain data (no paths of this machine)."""
    return {
        "assignment": batch.assignment,
        "config": (batch.course_dir / "nbgrader_config.py").read_text(),
        "template_db": batch.template_db.read_bytes(),
        "release": {p.name: p.read_text() for p in sorted(batch.release.glob("*.ipynb"))},
        "limits": asdict(batch.limits),
        "other_assignments": {k: sorted(v) for k, v in batch.other_assignments.items()},
        "seed": batch.seed,
        "submissions": [
            {
                "student": s.student,
                "name": s.name,
                "note": s.note,
                "notebooks": {n: Path(p).read_bytes() for n, p in s.notebooks.items()},
            }
            for s in chunk
        ],
    }


def grade_chunk(data: dict) -> list[dict]:
    """Runs on a Dask worker: grade one chunk from its payload; return outcomes and autograded notebooks."""
    from adl4cv_grading.chunk import Batch, _worker, add_slots
    from adl4cv_grading.limits import Limits
    from adl4cv_grading.submissions import Submission

    crash = os.environ.get(CRASH_ENV)
    if crash and any(s["student"] == crash for s in data["submissions"]):
        marker = os.environ.get(CRASH_ONCE_ENV)
        if not marker or not Path(marker).exists():
            if marker:
                Path(marker).touch()
            os._exit(13)  # a worker lost mid-chunk (tests)
    with tempfile.TemporaryDirectory(prefix="adl4cv-remote-") as tmp:
        work = Path(tmp)
        course = work / "course"
        course.mkdir()
        (course / "nbgrader_config.py").write_text(data["config"])
        (work / "template.db").write_bytes(data["template_db"])
        release = work / "release"
        release.mkdir()
        for name, text in data["release"].items():
            (release / name).write_text(text)
        chunk = []
        for s in data["submissions"]:
            folder = work / "in" / s["student"]
            folder.mkdir(parents=True)
            paths = {}
            for name, raw in s["notebooks"].items():
                (folder / name).write_bytes(raw)
                paths[name] = folder / name
            chunk.append(Submission(s["student"], paths, name=s["name"], note=s["note"]))
        limits = Limits(**data["limits"])
        batch = Batch(
            data["assignment"],
            course,
            work / "template.db",
            release,
            limits,
            work,
            {k: set(v) for k, v in data["other_assignments"].items()},
            seed=data["seed"],
        )
        add_slots(batch, 1, first=os.getpid() % 1000)  # its own sandbox uid on a machine shared by workers
        results = []
        for outcome, autograded in _worker(chunk, batch):
            files = {p.name: p.read_bytes() for p in sorted(autograded.glob("*.ipynb"))} if autograded else None
            results.append({"outcome": asdict(outcome), "autograded": files})
        return results


def run_chunks(todo, batch, scheduler: str, progress: bool = True):
    """Yield (chunk, [(Outcome, autograded folder)] or a reason) as the cluster finishes chunks."""
    from distributed import as_completed

    from adl4cv_grading.chunk import WORKER_LOST, Outcome, chunks

    client = connect(scheduler)
    try:
        if progress and client.dashboard_link:
            print(f"Dask dashboard: {client.dashboard_link}", flush=True)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        futures = {}
        for chunk in chunks(todo, workers):
            future = client.submit(grade_chunk, payload(chunk, batch), retries=1, pure=False)
            futures[future] = chunk
        for future in as_completed(list(futures)):
            chunk = futures[future]
            try:
                results = future.result()
            except Exception as error:  # noqa: BLE001 - KilledWorker, lost connection: these students only
                yield chunk, f"{WORKER_LOST} ({type(error).__name__}: {str(error)[:200]})"
                continue
            yield chunk, [_materialise(item, batch.work, Outcome) for item in results]
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None:
            cluster.close()


def _materialise(item: dict, work: Path, outcome_type):
    """A remote result as local files: (Outcome, folder of its autograded notebooks or None)."""
    outcome = outcome_type(**item["outcome"])
    files = item.get("autograded")
    if files is None:
        return outcome, None
    folder = Path(tempfile.mkdtemp(prefix=f"remote-{outcome.student}-", dir=work))
    for name, raw in files.items():
        (folder / Path(name).name).write_bytes(raw)
    return outcome, folder
