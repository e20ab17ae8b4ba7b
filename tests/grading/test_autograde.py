"""Does autograding keep every grade and every file, whatever a submission does? (issue 10)

One batch of the tiny course is graded from the course's own ``submitted/`` folder (module
fixture): a correct notebook, one under a non-ASCII folder name, a cell that ignores SIGINT and
loops, one that leaves processes behind, one that connects to a listener on the host's loopback,
and one that walks the file system. Each test checks one promise. The unit tests at the end call
``store`` and ``autograde`` directly.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest
from conftest import run_grader

from adl4cv_grading import autograde as autograde_module
from adl4cv_grading import sandbox
from adl4cv_grading.autograde import INTERNAL_ERROR, Outcome, chunks, state_file, store
from adl4cv_grading.submissions import Submission, student_id

from .tiny import ADD, FULL, A, make_course, submission, write

needs_sandbox = pytest.mark.skipif(not sandbox.available(), reason=f"no sandbox: {sandbox.why_unavailable()}")
MARK = f"adl4cv-leftover-{uuid.uuid4().hex}"  # a unique argument to find processes a submission left
JAPANESE = "山田太郎"

WALK = """
import json, os, sys
python = f"lib/python{sys.version_info[0]}.{sys.version_info[1]}"
found = []
for d, dirs, files in os.walk("/"):
    # the system, an interpreter or a virtual environment (shown on purpose), the kernel's own folders
    interpreter = d != "/" and os.path.isdir(os.path.join(d, python)) and os.path.isdir(os.path.join(d, "bin"))
    if d.startswith(("/proc", "/sys", "/dev", "/usr")) or interpreter:
        dirs[:] = []
        continue
    found += [os.path.join(d, f) for f in files if f.endswith((".ipynb", ".db", "nbgrader_config.py", ".csv"))]
print("WALK", json.dumps(found))
"""

LEAVE = f"""
import os, subprocess, sys
sleeper = [sys.executable, "-c", "import time; time.sleep(600)", "{MARK}"]
subprocess.Popen(sleeper, start_new_session=True)
if os.fork() == 0:  # a double fork: the grandchild is re-parented, in a new session
    os.setsid()
    if os.fork() == 0:
        os.execv(sys.executable, sleeper)
    os._exit(0)
"""

SIGINT_LOOP = "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\nwhile True:\n    pass"


def connect(port: int) -> str:
    return f"""
import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=3).sendall(b"stolen answers")
    print("NET connected")
except OSError as error:
    print("NET", error)
"""


def leftovers() -> list[str]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if MARK.encode() in cmdline.read_bytes():
                found.append(cmdline.parent.name)
        except OSError:
            pass
    return found


def digests(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = make_course(tmp_path_factory.mktemp("tiny") / "course")
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)

    def listen():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                received.append(conn.recv(100) or b"(connected)")
            except OSError:
                pass

    stop = threading.Event()
    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    subs = {
        "alice": submission(),
        JAPANESE: submission(),
        "sigint": submission(extra={"test_add": SIGINT_LOOP}),
        "frozen": submission(extra={"test_add": "import os, signal\nos.kill(os.getpid(), signal.SIGSTOP)"}),
        "leaver": submission(extra={"test_mul": LEAVE}),
        "net": submission(extra={"test_mul": connect(server.getsockname()[1])}),
        "walker": submission(extra={"test_mul": WALK}),
    }
    for student, nb in subs.items():
        write(course / "submitted" / student / A / "tiny.ipynb", nb)
    (course / "submitted" / "alice" / A / "notes.txt").write_text("a student's own extra file")
    before = digests(course / "submitted")
    proc, rows = run_grader(course, A, course / "submitted", "--jobs", "2", "--cell-timeout", "5")
    time.sleep(1)
    stop.set()
    listener.join()
    server.close()
    return {"proc": proc, "rows": rows, "course": course, "before": before, "received": received}


def output_of(graded, student: str, prefix: str) -> str:
    nb = nbformat.read(graded["course"] / "autograded" / student / A / "tiny.ipynb", as_version=4)
    texts = [o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    return next(t for t in texts if t.startswith(prefix))


@pytest.mark.slow
def test_own_submitted_folder_is_graded_and_kept_byte_identical(graded):
    """Does grading the course's own submitted/ work, leaving every submitted file byte-identical?"""
    assert graded["proc"].returncode == 0, graded["proc"].stderr[-3000:]
    assert float(graded["rows"]["alice"]["score"]) == FULL, graded["rows"]["alice"]
    assert digests(graded["course"] / "submitted") == graded["before"]


@pytest.mark.slow
def test_non_ascii_name_is_graded(graded):
    """Is a folder named 山田太郎 graded under a stable ASCII id, the CSV keeping the original name?"""
    row = graded["rows"][student_id(JAPANESE)]
    assert row["name"] == JAPANESE and float(row["score"]) == FULL and row["status"] == "graded"


@pytest.mark.slow
def test_sigint_ignoring_loop_keeps_earlier_points(graded):
    """Does a cell that ignores SIGINT and loops keep the earlier test's points, later tests 'time limit'?"""
    row = graded["rows"]["sigint"]
    assert float(row["score"]) == 2.0 and row["status"] == "partly graded"
    assert "time limit" in row["reason"] and "did not stop when interrupted" in row["reason"]
    feedback = (graded["course"] / "feedback" / "sigint" / A / "tiny.html").read_text()
    assert "time limit" in feedback


@pytest.mark.slow
def test_kernel_that_stops_answering_keeps_earlier_points(graded):
    """Does a kernel that stops itself (SIGSTOP) keep the earlier test's points, later tests 'time limit'?"""
    row = graded["rows"]["frozen"]
    assert float(row["score"]) == 2.0 and row["status"] == "partly graded" and "time limit" in row["reason"]


@pytest.mark.slow
@needs_sandbox
def test_no_process_is_left_behind(graded):
    """Are processes a submission started (new session, double fork) gone when the grader has exited?"""
    assert float(graded["rows"]["leaver"]["score"]) == FULL
    left = leftovers()
    for pid in left:  # do not leave them on the machine either
        os.kill(int(pid), 9)
    assert left == []


@pytest.mark.slow
@needs_sandbox
def test_no_network(graded):
    """Does a listener on the host's loopback receive nothing from a grading kernel?"""
    assert graded["received"] == []
    assert "NET connected" not in output_of(graded, "net", "NET")


@pytest.mark.slow
@needs_sandbox
def test_file_system_walk_finds_no_notebook_or_course_file(graded):
    """Does a submission walking the whole file system find no notebook, gradebook, config or CSV?"""
    found = json.loads(output_of(graded, "walker", "WALK")[len("WALK ") :])
    assert found == []


def test_chunks_cover_every_submission():
    """Are the submissions split into balanced chunks that together hold each one exactly once?"""
    subs = [Submission(f"s{i}") for i in range(7)]
    parts = chunks(subs, jobs=2)
    assert [s for part in parts for s in part] == subs and max(len(p) for p in parts) == 2


def test_store_never_writes_the_submitted_files(tmp_path):
    """Does store() leave the submitted notebook alone even when it lies in the course's submitted/?"""
    course = make_course(tmp_path / "course")
    path = write(course / "submitted" / "alice" / A / "tiny.ipynb", submission())
    before = path.read_bytes()
    autograde_module.prepare_assignment(A, course, tmp_path / "work")
    store(
        Outcome("alice", "graded", scores={"tiny": {"test_add": 2.0}}),
        None,
        Submission("alice", {"tiny.ipynb": path}),
        A,
        course,
    )
    assert path.read_bytes() == before
    assert json.loads(state_file(course, A, "alice").read_text())["status"] == "graded"


def test_internal_error_is_logged_and_not_remembered(tmp_path, monkeypatch):
    """Does a failing store() give 'not graded: internal error (see log ...)' with the traceback logged?"""
    course = make_course(tmp_path / "course")
    path = write(tmp_path / "alice.ipynb", submission(add=ADD))
    autograde_module.prepare_assignment(A, course, tmp_path / "work")

    def broken(*args, **kwargs):
        raise RuntimeError("database is locked")

    monkeypatch.setattr(autograde_module, "store", broken)
    sub = Submission("alice", {"tiny.ipynb": path}, name="alice")
    outcome = autograde_module._store_or_fail(Outcome("alice", "graded"), None, sub, A, course)
    assert outcome.status == "not graded" and outcome.reason.startswith(INTERNAL_ERROR)
    log = autograde_module.error_log(course, A)
    assert str(log) in outcome.reason and "database is locked" in log.read_text()
    assert not state_file(course, A, "alice").exists()
