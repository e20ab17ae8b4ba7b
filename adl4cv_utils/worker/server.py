"""The worker's loop: execute the submission's cells on request, then run probes for the judge.

Started by the judge as ``python -m adl4cv_utils.worker`` inside the grading sandbox. Requests arrive
on stdin and replies leave on stdout as codec frames; before any student code runs, the two pipes
are moved to private descriptors and the process's stdout/stdin are pointed at stderr and
/dev/null, so what the student's code prints never mixes with the replies. Requests:

- ``{"op": "exec", "source": str, "cell": str}``: run one notebook cell (IPython syntax) in the
  notebook's namespace; reply ``{"ok": bool, "error": str}``.
- ``{"op": "probe", "probe": name, "inputs": {...}}``: call ``probes.PROBES[name](namespace,
  **inputs)`` under a ``Trace``; reply ``{"ok": bool, "value": plain data, "error": str,
  "trace": {...}}``.

A student's exception is reported as text; the worker never decides anything.
"""

from __future__ import annotations

import os
import sys
import traceback

from adl4cv_utils.worker import codec


def _error_text(error: BaseException) -> str:
    frames = traceback.format_exception(type(error), error, error.__traceback__)
    tail = "".join(frames[-3:]) if frames else ""
    return f"{type(error).__name__}: {error}"[:2000] + ("\n" + tail[-3000:] if tail else "")


class _Shell:
    """Enough of ``get_ipython()`` for notebook cells: magics are ignored (no %pip in grading)."""

    def run_line_magic(self, *args, **kwargs):
        return None

    def run_cell_magic(self, *args, **kwargs):
        return None

    def system(self, *args, **kwargs):
        return None

    getoutput = system


def _transform(source: str) -> str:
    try:
        from IPython.core.inputtransformer2 import TransformerManager
    except ImportError:  # pragma: no cover - IPython comes with the grading environment
        return source
    return TransformerManager().transform_cell(source)


def handle_probe(namespace: dict, request: dict) -> dict:
    """Run ``request["probe"]`` on the namespace under a Trace; the reply the judge decodes."""
    from adl4cv_utils.worker import probes
    from adl4cv_utils.worker.trace import Trace

    reply: dict = {"ok": False, "error": ""}
    trace = Trace()
    try:
        probe = probes.PROBES[request["probe"]]
        with trace:
            value = probe(namespace, **request.get("inputs", {}))
        reply = {"ok": True, "error": "", "value": value}
    except BaseException as error:  # noqa: BLE001 - the student's code may raise anything, even SystemExit
        reply["error"] = "KeyboardInterrupt" if isinstance(error, KeyboardInterrupt) else _error_text(error)
    reply["trace"] = trace.as_dict()
    return reply


def serve() -> None:
    os.environ.setdefault("MPLBACKEND", "Agg")
    requests, replies = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.dup2(2, 1)  # what the student's code prints goes to stderr, which the judge discards
    sys.stdout = sys.stderr
    namespace: dict = {"__name__": "__main__", "get_ipython": lambda: _Shell()}
    while True:
        try:
            request = codec.read_frame(requests)
        except EOFError:
            return
        reply: dict = {"ok": False, "error": ""}
        try:
            op = request.get("op") if isinstance(request, dict) else None
            if op == "exec":
                code = compile(_transform(request["source"]), f"<cell {request.get('cell', '?')}>", "exec")
                exec(code, namespace)  # noqa: S102 - this process exists to run the student's cells
                reply = {"ok": True, "error": ""}
            elif op == "probe":
                reply = handle_probe(namespace, request)
            else:
                reply["error"] = f"unknown request {op!r}"
        except BaseException as error:  # noqa: BLE001 - the student's code may raise anything, even SystemExit
            if isinstance(error, KeyboardInterrupt):
                reply["error"] = "KeyboardInterrupt"
            else:
                reply["error"] = _error_text(error)
        try:
            codec.write_frame(replies, reply)
        except codec.CodecError as error:
            codec.write_frame(replies, {"ok": False, "error": f"the result is not plain data: {error}"})
