"""Does grading on a Dask cluster give exactly the grades of local grading, and survive a lost worker? (issue 12)

The tiny course (torch-free, fast kernels) is graded twice with the same judge seed: locally with
``--jobs 2`` and on a real ``LocalCluster`` of 2 worker processes (``--scheduler local:2``). Scores,
statuses, reasons and per-test points must be identical, and ``nbgrader export`` must agree with
the CSV. A worker that dies on a chunk once is retried; one that dies every time loses only that
chunk's students ("worker lost"), and the rest of the batch is graded.
"""

from __future__ import annotations

import csv
import os
import shutil

import pytest
from conftest import run_grader

from adl4cv_grading import cluster
from adl4cv_grading.nbgrader_run import run_nbgrader

from .tiny import FULL, A, make_course, submission, write

pytestmark = pytest.mark.slow
pytest.importorskip("distributed")

SEED = "20261130"


def batch(folder):
    """Correct, wrong, broken, stub and hostile notebooks of the tiny course."""
    write(folder / "correct.ipynb", submission())
    write(folder / "wrong_add.ipynb", submission(add="def add(a, b):\n    return a - b"))
    write(folder / "broken.ipynb", "{ this is not a notebook")
    write(folder / "stub.ipynb", submission(add="raise NotImplementedError()", mul="raise NotImplementedError()"))
    hostile = "import os\nprint(sorted(os.listdir('/')))\nopen('/tmp/x', 'w').write('x')"
    write(folder / "hostile.ipynb", submission(extra={"test_add": hostile}))
    write(folder / "partial.ipynb", submission(mul="def mul(a, b):\n    return a * b + (a == 0)"))
    return folder


def graded_with(tmp_path, name, *args, env=None):
    course = make_course(tmp_path / name)
    folder = batch(tmp_path / f"{name}-submissions")
    old = dict(os.environ)
    os.environ.update(env or {})
    try:
        proc, rows = run_grader(course, A, folder, "--jobs", "2", "--seed", SEED, *args)
    finally:
        os.environ.clear()
        os.environ.update(old)
    return course, proc, rows


def comparable(rows):
    drop = {"seconds"}
    return {s: {k: v for k, v in r.items() if k not in drop} for s, r in rows.items()}


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cluster")
    local = graded_with(tmp, "local")
    remote = graded_with(tmp, "remote", "--scheduler", "local:2")
    return local, remote


def test_cluster_grades_match_local_grades(both):
    """Are scores, statuses, reasons and per-test points identical locally and on the cluster?"""
    (_, lproc, local), (_, rproc, remote) = both
    assert lproc.returncode == 0, lproc.stderr[-2000:]
    assert rproc.returncode == 0, rproc.stderr[-2000:]
    assert comparable(local) == comparable(remote)
    assert float(remote["correct"]["score"]) == FULL
    assert float(remote["wrong_add"]["score"]) == 3.0
    assert remote["broken"]["status"] == "not graded"
    assert float(remote["stub"]["score"]) == 0.0
    assert float(remote["partial"]["score"]) == 2.0  # mul is wrong only where a == 0 (the judge's case)


def test_nbgrader_export_agrees_with_the_cluster_csv(both):
    """Does ``nbgrader export`` on the course graded by the cluster give the same scores as our CSV?"""
    _, (course, _, rows) = both
    proc = run_nbgrader(["export", "--to", str(course / "export.csv")], cwd=course)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(course / "export.csv") as f:
        exported = {r["student_id"]: float(r["raw_score"] or 0) for r in csv.DictReader(f) if r["assignment"] == A}
    for student, row in rows.items():
        if row["status"] != "not graded":
            assert exported[student] == pytest.approx(float(row["score"])), student


def test_a_worker_lost_once_is_retried(tmp_path):
    """Is a chunk whose worker died once graded on a retry, as if nothing happened?"""
    env = {cluster.CRASH_ENV: "correct", cluster.CRASH_ONCE_ENV: str(tmp_path / "crashed-once")}
    _, proc, rows = graded_with(tmp_path, "retry", "--scheduler", "local:2", env=env)
    assert (tmp_path / "crashed-once").exists(), "the injected crash did not happen"
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert float(rows["correct"]["score"]) == FULL and rows["correct"]["status"] == "graded"


def test_a_worker_lost_twice_loses_only_its_chunk(tmp_path):
    """When a chunk's worker dies every time, are only its students 'not graded: worker lost', with a full CSV?"""
    _, proc, rows = graded_with(tmp_path, "lost", "--scheduler", "local:2", env={cluster.CRASH_ENV: "correct"})
    assert proc.returncode == 1, proc.stderr[-2000:]
    assert set(rows) == {"correct", "wrong_add", "broken", "stub", "hostile", "partial"}
    assert rows["correct"]["status"] == "not graded" and rows["correct"]["reason"].startswith("worker lost")
    lost = {s for s, r in rows.items() if r["reason"].startswith("worker lost")}
    assert len(lost) < len(rows) - 1  # other chunks were graded
    assert any(r["status"] == "graded" for r in rows.values())


def test_unknown_scheduler_is_refused(tmp_path):
    """Does a malformed --scheduler give a clear error naming the argument?"""
    with pytest.raises(ValueError, match="scheduler"):
        cluster.connect("local:zero")
    with pytest.raises(ValueError, match="scheduler"):
        cluster.connect("http://example")
    shutil.rmtree(tmp_path, ignore_errors=True)
