"""How does a probe run in the grading kernel? One probe per call, encrypted in, signed out.

When nbgrader executes a submission, the judge (``adl4cv_grading.execute.JudgedExecute``, in
nbgrader's process) first greets the kernel's guard (``hello_source``) before any notebook cell, and
then runs, right after each test cell, a one-line cell (``call_source``) that raises the audit event
``adl4cv.probe`` with the encrypted request. The guard's audit hook (adl4cv_utils.guard.hook), not a
function the student's code could replace, decrypts it, runs ``handle_probe`` in its window and
publishes the signed reply as a display output of the MIME type ``MIME``; nothing else crosses.
"""

from __future__ import annotations

import traceback

from adl4cv_utils.probing import codec

MIME = "application/x-adl4cv-judge-frame"


def hello_source(assignment: str, sandboxed: bool) -> str:
    """The judge's first cell: the guard learns the assignment and publishes the session key."""
    return f'__import__("sys").audit("adl4cv.hello", {assignment!r}, {bool(sandboxed)!r})'


def call_source(frame_b64: str) -> str:
    """The one-line cell that hands the encrypted request ``frame_b64`` to the guard."""
    return f'__import__("sys").audit("adl4cv.probe", "{frame_b64}")'


def _error_text(error: BaseException) -> str:
    # No traceback: its frames are the guard's (refused) and the grader's (not the student's business).
    return "".join(traceback.format_exception_only(type(error), error)).strip()[:2000]


def handle_probe(namespace: dict, request: dict) -> bytes:
    """Run ``request["probe"]`` on the namespace; the encoded reply (encoded here, inside the window)."""
    from adl4cv_utils import probing

    reply: dict = {"ok": False, "error": ""}
    try:
        probe_fn = probing.PROBES[request["probe"]]
        value = probe_fn(namespace, **request.get("inputs", {}))
        reply = {"ok": True, "error": "", "value": value}
        return codec.encode(reply)
    except BaseException as error:  # noqa: BLE001 - the student's code may raise anything, even SystemExit
        try:
            reply["error"] = "KeyboardInterrupt" if isinstance(error, KeyboardInterrupt) else _error_text(error)
        except BaseException:  # noqa: BLE001 - an exception whose text raises
            reply["error"] = f"{type(error).__name__} (its message could not be read)"
    try:
        return codec.encode(reply)
    except BaseException:  # noqa: BLE001
        return codec.encode({"ok": False, "error": "the result is not plain data"})
