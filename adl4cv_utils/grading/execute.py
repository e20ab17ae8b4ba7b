"""How does a notebook run under grading limits? nbgrader's Execute with a deadline and output caps.

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
"""

from __future__ import annotations

import time

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async, run_sync
from nbformat import NotebookNode
from nbgrader.preprocessors import Execute
from traitlets import Float, Integer

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
        self._deadline = time.monotonic() + self.submission_seconds
        self._stopped: str | None = None
        self.timeout_func = self._cell_timeout
        return super().preprocess(nb, resources, km)

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
