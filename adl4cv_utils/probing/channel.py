"""How does a probe run in the grading kernel? One probe per call, the reply as display data.

When nbgrader executes a submission, the judge (``adl4cv_grading.execute.JudgedExecute``, in
nbgrader's process) runs, right after each test cell, a one-line cell that calls ``probe`` with
the request as base64 text. The reply goes back as a display output of the MIME type ``MIME``
(a base64 codec frame), which the judge decodes as plain data; nothing else crosses.
"""

from __future__ import annotations

import base64
import traceback

from adl4cv_utils.probing import codec

MIME = "application/x-adl4cv-judge-frame"


def probe(request_b64: str) -> None:
    """Decode the judge's request, run it on the notebook's namespace, publish the reply."""
    from IPython import get_ipython
    from IPython.display import publish_display_data

    shell = get_ipython()
    namespace = shell.user_ns if shell is not None else {}
    try:
        request = codec.decode(base64.b64decode(request_b64))
        reply = handle_probe(namespace, request)
        frame = codec.encode(reply)
    except Exception as error:  # noqa: BLE001 - a reply that cannot be encoded is an answer too
        frame = codec.encode({"ok": False, "error": f"the result is not plain data: {error}"})
    publish_display_data({MIME: base64.b64encode(frame).decode()})


def call_source(request: dict) -> str:
    """The one-line cell that runs ``request`` in the kernel."""
    payload = base64.b64encode(codec.encode(request)).decode()
    return f'__import__("adl4cv_utils.probing.channel", fromlist=["probe"]).probe("{payload}")'


def _error_text(error: BaseException) -> str:
    frames = traceback.format_exception(type(error), error, error.__traceback__)
    tail = "".join(frames[-3:]) if frames else ""
    return f"{type(error).__name__}: {error}"[:2000] + ("\n" + tail[-3000:] if tail else "")


def handle_probe(namespace: dict, request: dict) -> dict:
    """Run ``request["probe"]`` on the namespace under a Trace; the reply the judge decodes."""
    from adl4cv_utils import probing
    from adl4cv_utils.probing.trace import Trace

    reply: dict = {"ok": False, "error": ""}
    trace = Trace()
    try:
        probe_fn = probing.PROBES[request["probe"]]
        with trace:
            value = probe_fn(namespace, **request.get("inputs", {}))
        reply = {"ok": True, "error": "", "value": value}
    except BaseException as error:  # noqa: BLE001 - the student's code may raise anything, even SystemExit
        reply["error"] = "KeyboardInterrupt" if isinstance(error, KeyboardInterrupt) else _error_text(error)
    reply["trace"] = trace.as_dict()
    return reply
