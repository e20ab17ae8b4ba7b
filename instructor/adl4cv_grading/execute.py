"""How does a submission run when it is graded? Under limits, with the judge ruling on every test cell.

``LimitedExecute`` replaces nbgrader's ``Execute`` in autograding. It keeps what a submission
earned before something went wrong:

* the whole notebook has ``submission_seconds``: each cell's timeout is the smaller of nbgrader's
  per-cell ``timeout`` and the time left, and once it is used up the remaining cells are not run;
* a cell that kills its kernel (``os._exit``, the out-of-memory killer) ends the run there: the
  cells before it keep their results, the rest are marked as not run;
* a cell that ignores the interrupt at its time limit (or a kernel that stops answering) is given
  ``iopub_timeout`` seconds more, then its kernel is killed and the run ends there, keeping what
  the cells before it earned;
* a cell's output is cut after ``max_output_chars`` characters while it streams, so a cell that
  prints 100 MB costs neither memory nor points.

Each of these leaves an ``error`` output with one of the names in ``LIMIT_ERRORS`` (so the test
cells it hits score zero, as nbgrader scores errors) or a stream notice starting with
``TRUNCATED``; ``limit_reasons`` reads them back from the autograded notebook.

``JudgedExecute`` (LimitedExecute plus the judge) is what autograding uses (preprocessors.py). It runs in
nbgrader's process, which never runs student code; the student's code runs in the kernel (in the
sandbox). Right after a test cell has run (its in-kernel self-check output stays as feedback), the cell's
judge test draws inputs from the run's secret seed and runs probes in the kernel: each probe is a
one-line cell (``adl4cv_utils.probing.channel.call_source``) whose reply comes back as a display output
of plain data, decoded here. The verdict goes into the test cell's metadata (verdict.py), which the
kernel cannot write, and as a visible output; the coordinator stores the verdicts' points.
"""

from __future__ import annotations

import base64
import os
import tempfile
import time
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Bool, Float, Integer, Unicode

from adl4cv_grading.exercises import tests_for
from adl4cv_grading.ruling import KernelLost, analyse_notebook, new_seed, run_test
from adl4cv_grading.verdict import Verdict, is_test
from adl4cv_utils.guard import seal
from adl4cv_utils.guard.hook import HELLO_MIME
from adl4cv_utils.probing import codec
from adl4cv_utils.probing.channel import MIME, call_source, hello_source

LIMIT_ERRORS = {
    "SubmissionTimeLimit": "time limit: the notebook used up its {seconds:.0f} s before cell {cell}; "
    "later cells were not run",
    "KernelDied": "the kernel died in cell {cell} (the code ended its own process or ran out of memory); "
    "later cells were not run",
    "CellTimeoutError": "time limit: cell {cell} ran longer than its limit and was interrupted",
    "KernelStuck": "time limit: cell {cell} did not stop when interrupted (or its kernel stopped answering); "
    "its kernel was killed and later cells were not run",
}
TRUNCATED = "TRUNCATED by the grader:"


class LimitedExecute(Execute):
    """nbgrader's Execute with a per-notebook deadline, kernel-death handling and an output cap."""

    submission_seconds = Float(900.0, help="Seconds for all cells of one notebook together").tag(config=True)
    max_output_chars = Integer(200_000, help="Characters of output kept per cell").tag(config=True)

    def preprocess(self, nb, resources=None, km=None):
        self.start_notebook(nb)
        return super().preprocess(nb, resources, km)

    def start_notebook(self, nb) -> None:
        """Reset the per-notebook state: the deadline starts now, nothing has stopped the run yet."""
        self._deadline = time.monotonic() + self.submission_seconds
        self._stopped: str | None = None
        self.timeout_func = self._cell_timeout

    def _cell_timeout(self, cell) -> int:
        left = int(self._deadline - time.monotonic())
        return max(1, min(self.timeout, left) if self.timeout else left)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped is None and time.monotonic() >= self._deadline:
            self._stopped = "SubmissionTimeLimit"
        if self._stopped is not None:
            cell.outputs = [_error(self._stopped, f"not run: {self._stopped}")]
            return cell, resources
        self._cell_chars, self._cut = 0, False
        try:
            cell, resources = super().preprocess_cell(cell, resources, index)
        except DeadKernelError as error:
            self._stopped = "KernelDied"
            cell.outputs.append(_error("KernelDied", f"the kernel died while running this cell ({error})"))
        except CellTimeoutError as error:  # interrupted at its limit, but the kernel never became idle
            self._stopped = "KernelStuck"
            run_sync(self._kill_kernel)()
            cell.outputs.append(_error("KernelStuck", f"the cell did not stop when interrupted ({error})"))
        if self._cut:
            cell.outputs.append(
                NotebookNode(
                    output_type="stream",
                    name="stdout",
                    text=f"\n{TRUNCATED} output longer than {self.max_output_chars} "
                    f"characters ({self._cell_chars} in all)\n",
                )
            )
        return cell, resources

    async def _kill_kernel(self) -> None:
        await ensure_async(self.km.shutdown_kernel(now=True))

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = len(content.get("text", "")) + sum(len(str(v)) for v in content.get("data", {}).values())
        self._cell_chars += size
        if self._cell_chars > self.max_output_chars:
            self._cut = True
            return None
        return super().output(outs, msg, display_id, cell_index)


def _error(name: str, text: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=name, evalue=text, traceback=[f"{name}: {text}"])


def limit_reasons(nb: NotebookNode, submission_seconds: float = 0.0) -> list[str]:
    """The limits a graded notebook ran into, one readable line each (cells counted from 1)."""
    reasons: list[str] = []
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for number, cell in enumerate(code_cells, start=1):
        for out in cell.get("outputs", []):
            name = out.get("ename") if out.get("output_type") == "error" else None
            if name in LIMIT_ERRORS and not str(out.get("evalue", "")).startswith("not run"):
                reasons.append(LIMIT_ERRORS[name].format(cell=number, seconds=submission_seconds))
            if name == "SubmissionTimeLimit" and not any("time limit: the notebook" in r for r in reasons):
                reasons.append(LIMIT_ERRORS[name].format(cell=number, seconds=submission_seconds))
            if out.get("output_type") == "stream" and str(out.get("text", "")).lstrip().startswith(TRUNCATED):
                reasons.append(f"output of cell {number} was cut (too long); no points lost for it")
    return reasons


MAX_REPLY_CHARS = 96 * 1024 * 1024  # base64 text of one probe reply
NO_SANDBOX = (
    "the grading sandbox cannot start here, so nothing is graded: install bubblewrap and run as root (or allow "
    "unprivileged user namespaces), or grade without it with --JudgedExecute.judge_isolation=off"
)
NO_GUARD = "the grading kernel has no guard (it must be started with `python -m adl4cv_utils.guard`)"
FORGED = "the kernel's answer was not signed by the grader's guard (it was printed or changed by code)"
_SIG = 32  # bytes of an HMAC-SHA256 signature


def _score_as_verdict(cell, verdict: Verdict) -> None:
    """Make nbgrader's own score of the test cell the verdict's: an error output exactly when it failed.

    nbgrader gives a test cell its points when it has no error output. A failed verdict keeps the in-kernel
    errors (HideHiddenTests trims their tracebacks) or adds one of its own; a passed verdict turns them into
    one line of text each, without the traceback (which would quote hidden tests).
    """
    line = verdict.line()
    errors = [o for o in cell.outputs if o.get("output_type") == "error"]
    if verdict.passed:
        cell.outputs = [
            NotebookNode(output_type="stream", name="stdout", text=f"{o.get('ename')}: {o.get('evalue')}\n")
            if o.get("output_type") == "error"
            else o
            for o in cell.outputs
        ]
    if verdict.passed or errors:
        cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=line + "\n"))
    else:
        cell.outputs.append(NotebookNode(output_type="error", ename="JudgeVerdict", evalue=line, traceback=[line]))


def open_reply(key: bytes, nonce: bytes, frames: list) -> dict:
    """The guard's signed reply among ``frames`` (base64 text), decoded; a failed reply when none is genuine."""
    for text in frames:
        try:
            raw = base64.b64decode(text, validate=True)
            got, signature, payload = (
                raw[: seal.NONCE_BYTES],
                raw[seal.NONCE_BYTES :][:_SIG],
                raw[seal.NONCE_BYTES + _SIG :],
            )
            if got != nonce or not seal.verify(key, nonce, payload, signature):
                continue
            size = int.from_bytes(payload[:8], "big")
            reply, evidence = codec.decode(payload[8 : 8 + size]), codec.decode(payload[8 + size :])
        except (codec.CodecError, ValueError, TypeError):
            continue
        if isinstance(reply, dict) and isinstance(evidence, dict):
            return {**reply, **{k: evidence.get(k) for k in ("trace", "tamper", "compiled")}}
    return {"ok": False, "error": FORGED, "tamper": ["a reply that the guard did not sign"]}


def release_sources(folder: str) -> set[str]:
    """The code of every release notebook's cells in ``folder`` (stripped): cells the student did not write."""
    found: set[str] = set()
    if folder:
        for path in sorted(Path(folder).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            found |= {c.source.strip() for c in nb.cells if c.cell_type == "code"}
    return found


class JudgedExecute(LimitedExecute):
    """LimitedExecute plus the judge's verdict on every test cell."""

    judge_assignment = Unicode("", help="The assignment being graded (its judge tests)").tag(config=True)
    judge_seed = Integer(0, help="Secret seed of this grading run (the judge's inputs)").tag(config=True)
    judge_release = Unicode("", help="Folder of the release notebooks (their cells are not the student's)").tag(
        config=True
    )
    judge_isolation = Unicode(
        "sandbox", help="'sandbox': kernels run in the grading sandbox; 'off': the guarded kernel without it"
    ).tag(config=True)
    judge_kernel_ready = Bool(
        False, help="The caller (adl4cv-grade, the tests) provides the guarded kernel spec itself"
    ).tag(config=True)
    _key: bytes | None = None
    _greeted = False
    _kernel_folder: Path | None = None
    judge_sandboxed = Bool(False, help="Kernels run in the sandbox (the guard may end stray processes)").tag(
        config=True
    )

    def start_notebook(self, nb) -> None:
        """The judge's per-notebook state too: the assignment's judge tests and the static analysis of ``nb``."""
        super().start_notebook(nb)
        if not self.judge_assignment:
            raise ValueError("judge_assignment: JudgedExecute needs the assignment's name")
        self._tests = tests_for(self.judge_assignment)
        self._report = analyse_notebook(self.judge_assignment, nb, release_sources(self.judge_release))
        self._probing, self._units = False, ()

    def preprocess(self, nb, resources=None, km=None):
        self._key, self._greeted = None, False  # a fresh kernel per notebook: its guard greets the judge once
        if not self.judge_assignment:  # plain `nbgrader autograde` / the formgrader: nbgrader names it
            self.judge_assignment = str(((resources or {}).get("nbgrader") or {}).get("assignment") or "")
        if not self.judge_seed:
            self.judge_seed = new_seed()  # a fresh secret per run, never 0
        if not self.judge_kernel_ready:
            self._own_kernel()
        return super().preprocess(nb, resources, km)

    def _own_kernel(self) -> None:
        """Plain nbgrader: write the guarded kernel spec (sandboxed unless isolation is off) and use it."""
        from adl4cv_grading import sandbox
        from adl4cv_grading.limits import Limits

        if self._kernel_folder is None:
            if self.judge_isolation not in ("sandbox", "off"):
                raise ValueError(f"judge_isolation: expected 'sandbox' or 'off', got {self.judge_isolation!r}")
            why = sandbox.why_unavailable() if self.judge_isolation == "sandbox" else ""
            if why:
                raise RuntimeError(f"{NO_SANDBOX} ({why})")
            folder = Path(tempfile.mkdtemp(prefix="adl4cv-kernel-"))
            if self.judge_isolation == "sandbox":
                sandbox.kernel_spec(folder, folder / "runtime", Limits(), sandbox.BASE_UID)
                self._runtime = folder / "runtime"
            else:
                sandbox.guard_kernel_spec(folder)
                self._runtime = None
            self._kernel_folder = folder
            self.judge_sandboxed = self.judge_isolation == "sandbox"
        os.environ["JUPYTER_PATH"] = os.pathsep.join([str(self._kernel_folder), os.environ.get("JUPYTER_PATH", "")])
        self.kernel_name = "python3"

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self._kernel_folder is not None and getattr(self, "_runtime", None) is not None:
            km.transport, km.ip = "ipc", str(self._runtime.resolve() / "kernel")
        return km

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and not self._greeted and self._stopped is None:
            self._greeted = True
            self._key = self._hello(index)
        cell, resources = super().preprocess_cell(cell, resources, index)
        if is_test(cell):
            verdict = self._judge(cell, index)
            verdict.write(cell)
            _score_as_verdict(cell, verdict)
        return cell, resources

    def _hello(self, index: int) -> bytes | None:
        """Greet the kernel's guard before any notebook cell runs; the session key it publishes (None: no guard)."""
        try:
            outputs = self._run_hidden(hello_source(self.judge_assignment, self.judge_sandboxed), index)
        except KernelLost:
            return None
        keys = [o["data"][HELLO_MIME] for o in outputs if HELLO_MIME in o.get("data", {})]
        try:
            return bytes.fromhex(keys[0]) if len(keys) == 1 else None
        except (TypeError, ValueError):
            return None

    def _run_hidden(self, source: str, index: int) -> list:
        """Run one judge cell in the kernel at position ``index``; its outputs (never part of the notebook)."""
        probe_cell = NotebookNode(id="adl4cv-judge-probe", cell_type="code", source=source, metadata={}, outputs=[])
        self._probing, self._cell_chars, self._cut = True, 0, False
        kept = self.nb.cells[index]  # nbclient stores the cell it ran at this index: put it back
        try:
            self.execute_cell(probe_cell, index, store_history=False)
        except DeadKernelError:
            self._stopped = "KernelDied"
            raise KernelLost("the kernel died while the judge tested this cell") from None
        except CellTimeoutError:
            self._stopped = "KernelStuck"
            raise KernelLost("time limit") from None
        finally:
            self._probing = False
            self.nb.cells[index] = kept
        return probe_cell.outputs

    def _judge(self, cell, index: int) -> Verdict:
        md = cell.metadata["nbgrader"]
        grade_id, points = md["grade_id"], float(md.get("points") or 0)
        if self._stopped is not None:
            return Verdict(grade_id, points, 0.0, False, f"not judged: {self._stopped} (see the error above)")
        self._index = index
        test = self._tests.get(grade_id)
        self._units = test.units if test is not None else ()
        return run_test(
            self.judge_assignment,
            self._tests.get(grade_id),
            grade_id,
            points,
            self.judge_seed,
            self._probe,
            self._report,
            float(self.timeout or 0),
            position=index,
        )

    def _probe(self, name: str, inputs: dict) -> dict:
        if self._stopped is not None:
            raise KernelLost(f"the kernel is gone ({self._stopped})")
        if self._key is None:
            return {"ok": False, "error": NO_GUARD}
        nonce = seal.new_nonce()
        request = codec.encode({"probe": name, "inputs": inputs, "units": list(self._units)})
        frame = base64.b64encode(seal.pack(nonce, seal.encrypt(self._key, nonce, request))).decode()
        try:
            outputs = self._run_hidden(call_source(frame), self._index)
        except ValueError as error:  # a garbled kernel message (jupyter_client's "Invalid Signature"): once more
            if not str(error).startswith("Invalid Signature"):
                raise
            return self._probe_once_more(name, inputs)
        for out in outputs:
            if out.get("output_type") == "error" and out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
                raise KernelLost("time limit")
        frames = [o["data"][MIME] for o in outputs if MIME in o.get("data", {})]
        if not frames:
            errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in outputs if o.get("output_type") == "error"]
            return {"ok": False, "error": errors[0] if errors else "the kernel gave no answer to the judge"}
        return open_reply(self._key, nonce, frames)

    def _probe_once_more(self, name: str, inputs: dict) -> dict:
        """The probe again, with a fresh nonce, after the kernel's messages could not be read (not the student's doing:
        two of the kernel's threads wrote on one socket); a second failure is the test's."""
        if getattr(self, "_retried", False):
            return {"ok": False, "error": "the kernel's messages could not be read (Invalid Signature)"}
        self._retried = True
        try:
            return self._probe(name, inputs)
        finally:
            self._retried = False

    def output(self, outs, msg, display_id, cell_index):
        if self._probing:
            data = msg.get("content", {}).get("data", {})
            if MIME in data:  # the probe's reply: kept whole up to its own cap, never shown
                if len(str(data[MIME])) > MAX_REPLY_CHARS:
                    return None
                outs.append(NotebookNode(output_type="display_data", data={MIME: data[MIME]}, metadata={}))
                return None
        return super().output(outs, msg, display_id, cell_index)
