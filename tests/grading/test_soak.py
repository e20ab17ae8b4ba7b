"""Does a batch of 200 mixed submissions end with every student's row right, no grade lost, no process left?

Correct, wrong, unreadable, other-assignment and hostile notebooks (ignoring SIGINT in a loop,
leaving processes behind, calling a listener on the host, killing their kernel, flooding the
output) of the tiny course, in one batch with two workers. Each kind has its expected status and
score; the listener must receive nothing and no process started by a submission may survive.
"""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest
from conftest import run_grader

from adl4cv_grading import sandbox

from .test_autograde import LEAVE, MARK, SIGINT_LOOP, connect, leftovers
from .tiny import FULL, A, make_course, submission, write

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not sandbox.available(), reason=f"no sandbox: {sandbox.why_unavailable()}"),
]
WRONG_MUL = "def mul(a, b):\n    return a + b"
OTHER = '{"cells": [{"cell_type": "code", "source": "x = 1", "metadata": {"nbgrader": {"grade_id": "conv2d", '
OTHER += '"solution": true, "grade": false, "locked": false, "schema_version": 3}}, "outputs": [], '
OTHER += '"execution_count": null}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}'


def kinds(port: int) -> dict[str, tuple[int, object, str, float]]:
    """kind -> (how many, notebook, expected status, expected score)."""
    return {
        "correct": (50, submission(), "graded", FULL),
        "wrong": (30, submission(mul=WRONG_MUL), "graded", 2.0),
        "badjson": (60, '{"cells": [', "not graded", 0.0),
        "other": (20, OTHER, "not graded", 0.0),
        "sigint": (10, submission(extra={"test_add": SIGINT_LOOP}), "partly graded", 2.0),
        "leaver": (10, submission(extra={"test_mul": LEAVE}), "graded", FULL),
        "net": (10, submission(extra={"test_mul": connect(port)}), "graded", FULL),
        "exit": (5, submission(extra={"test_add": "import os\nos._exit(3)"}), "partly graded", 2.0),
        "flood": (5, submission(extra={"test_mul": "print('x' * 5_000_000)"}), "graded", FULL),
    }


def test_two_hundred_mixed_submissions(tmp_path):
    """Is every one of 200 students graded to its expected status and score, with nothing left behind?"""
    course = make_course(tmp_path / "course")
    received: list[bytes] = []
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.5)
    stop = threading.Event()

    def listen():
        while not stop.is_set():
            try:
                received.append(server.accept()[0].recv(100) or b"(connected)")
            except OSError:
                pass

    listener = threading.Thread(target=listen, daemon=True)
    listener.start()
    expected = {}
    for kind, (count, nb, status, score) in kinds(server.getsockname()[1]).items():
        for i in range(count):
            write(tmp_path / "subs" / f"{kind}{i:03d}.ipynb", nb)
            expected[f"{kind}{i:03d}"] = (status, score)
    assert len(expected) == 200
    start = time.perf_counter()
    proc, rows = run_grader(
        course, A, tmp_path / "subs", "--jobs", "2", "--cell-timeout", "3", "--interrupt-grace", "2"
    )
    seconds = time.perf_counter() - start
    stop.set()
    listener.join()
    server.close()
    left = leftovers()
    for pid in left:
        os.kill(int(pid), 9)
    print(f"200 submissions graded in {seconds:.0f} s ({seconds / 200:.2f} s each)")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert set(rows) == set(expected)
    wrong = {s: (rows[s]["status"], float(rows[s]["score"]), e) for s, e in expected.items()}
    wrong = {s: v for s, v in wrong.items() if v[:2] != v[2]}
    assert wrong == {}
    assert all("was cut" in rows[f"flood{i:03d}"]["reason"] for i in range(5))
    assert received == [] and left == [] and MARK
