"""The judge inside nbgrader: after each test cell, its judge test probes the student's kernel.

``JudgedExecute`` replaces nbgrader's Execute when autograding (nbgrader_config.py, through
``adl4cv_utils.grading.preprocessors``). It runs in nbgrader's process, which never runs student
code; the student's code runs in the kernel (in the sandbox). Right after a test cell has run
(its in-kernel self-check output stays as feedback), the cell's judge test draws inputs from the
run's secret seed and runs probes in the kernel: each probe is a one-line cell
(``adl4cv_utils.worker.kernel.call_source``) whose reply comes back as a display output of plain
data, decoded here. The verdict goes into the test cell's metadata (``adl4cv_judge``), which the
kernel cannot write, and as a visible output; the coordinator stores the verdicts' points.
Using the grading kernel as the worker costs no second interpreter and judges exactly the state
the feedback shows.
"""

from __future__ import annotations

import base64
from dataclasses import asdict
from pathlib import Path

import nbformat
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbformat import NotebookNode
from traitlets import Integer, Unicode

from adl4cv_judge.assignments import tests_for
from adl4cv_judge.run import Verdict, analyse_notebook, is_test, run_test
from adl4cv_judge.worker_client import WorkerLost
from adl4cv_utils.grading.execute import LimitedExecute
from adl4cv_utils.worker import codec
from adl4cv_utils.worker.kernel import MIME, call_source

METADATA = "adl4cv_judge"  # cell metadata key of a test cell's verdict
MAX_REPLY_CHARS = 96 * 1024 * 1024  # base64 text of one probe reply


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

    def preprocess(self, nb, resources=None, km=None):
        if not self.judge_assignment:
            raise ValueError("judge_assignment: JudgedExecute needs the assignment's name")
        self._tests = tests_for(self.judge_assignment)
        self._report = analyse_notebook(self.judge_assignment, nb, release_sources(self.judge_release))
        self._probing = False
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        cell, resources = super().preprocess_cell(cell, resources, index)
        if is_test(cell):
            verdict = self._judge(cell, index)
            cell.metadata[METADATA] = asdict(verdict)
            cell.outputs.append(NotebookNode(output_type="stream", name="stdout", text=verdict.line() + "\n"))
        return cell, resources

    def _judge(self, cell, index: int) -> Verdict:
        md = cell.metadata["nbgrader"]
        grade_id, points = md["grade_id"], float(md.get("points") or 0)
        if self._stopped is not None:
            return Verdict(grade_id, points, 0.0, False, f"not judged: {self._stopped} (see the error above)")
        self._index = index
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
            raise WorkerLost(f"the kernel is gone ({self._stopped})")
        probe_cell = NotebookNode(
            id="adl4cv-judge-probe",
            cell_type="code",
            source=call_source({"probe": name, "inputs": inputs}),
            metadata={},
            outputs=[],
        )
        self._probing, self._cell_chars, self._cut = True, 0, False
        test_cell = self.nb.cells[self._index]  # nbclient stores the cell it ran at this index: put it back
        try:
            self.execute_cell(probe_cell, self._index, store_history=False)
        except DeadKernelError:
            self._stopped = "KernelDied"
            raise WorkerLost("the kernel died while the judge tested this cell") from None
        except CellTimeoutError:
            self._stopped = "KernelStuck"
            raise WorkerLost("time limit") from None
        finally:
            self._probing = False
            self.nb.cells[self._index] = test_cell
        for out in probe_cell.outputs:
            if out.get("output_type") == "error" and out.get("ename") in ("CellTimeoutError", "KeyboardInterrupt"):
                raise WorkerLost("time limit")
        frames = [o["data"][MIME] for o in probe_cell.outputs if MIME in o.get("data", {})]
        if len(frames) != 1 or not isinstance(frames[0], str):
            errors = [
                f"{o.get('ename')}: {o.get('evalue')}" for o in probe_cell.outputs if o.get("output_type") == "error"
            ]
            return {"ok": False, "error": errors[0] if errors else "the kernel gave no answer to the judge"}
        try:
            reply = codec.decode(base64.b64decode(frames[0], validate=True))
        except (codec.CodecError, ValueError) as error:
            return {"ok": False, "error": f"the kernel's answer is not plain data ({error})"}
        return reply if isinstance(reply, dict) else {"ok": False, "error": "the kernel's answer is not a dict"}

    def output(self, outs, msg, display_id, cell_index):
        if self._probing:
            data = msg.get("content", {}).get("data", {})
            if MIME in data:  # the probe's reply: kept whole up to its own cap, never shown
                if len(str(data[MIME])) > MAX_REPLY_CHARS:
                    return None
                outs.append(NotebookNode(output_type="display_data", data={MIME: data[MIME]}, metadata={}))
                return None
        return super().output(outs, msg, display_id, cell_index)
