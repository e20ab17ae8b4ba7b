"""What does an autograded notebook say beyond the points? Why points were lost when the code itself
was never judged (a syntax error in any cell, an unanswered or failing answer cell), and how long the
student's own cells ran. Errors of the notebook's other cells (demos) cost no points and are not
reported.

Cells are numbered as the student's notebook shows them, from 1, over all its cells (the grader's
note that ``autograde.store`` puts first is not counted). Test cells are left out: their failures
are the judge's verdicts, which the points already say.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import nbformat

SYNTAX = ("SyntaxError", "IndentationError", "TabError")
GRADER_NOTE = "**Notes from the grader:**"


def _student_cells(nb) -> list:
    cells = list(nb.cells)
    if cells and cells[0].cell_type == "markdown" and cells[0].source.startswith(GRADER_NOTE):
        cells = cells[1:]
    return cells


def _where(number: int, cell) -> str:
    gid = cell.metadata.get("nbgrader", {}).get("grade_id")
    return f"cell {number} ({gid})" if gid else f"cell {number}"


def _error_reason(number: int, cell, error) -> str | None:
    """The reason an error output in a non-test cell gives, or None for a test cell."""
    meta = cell.metadata.get("nbgrader", {})
    name, value = error.get("ename", ""), str(error.get("evalue", ""))[:120]
    if meta.get("grade") and not meta.get("solution"):
        return None  # a test: the judge's verdict says what went wrong
    if name in SYNTAX:
        return f"syntax error in {_where(number, cell)}: {value}"
    if not meta.get("solution"):
        return None  # a demo cell of the notebook: its error costs no points
    if name == "NotImplementedError":
        return f"{_where(number, cell)} not answered (it still raises NotImplementedError)"
    return f"{_where(number, cell)} raised {name}: {value}"


def reasons(nb) -> list[str]:
    """One line per syntax error and per answer cell that ended in an error, in notebook order."""
    found = []
    for number, cell in enumerate(_student_cells(nb), start=1):
        if cell.cell_type != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and (reason := _error_reason(number, cell, output)):
                found.append(reason)
                break
    return found


def _stamp(text: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")) if text else None
    except ValueError:
        return None


def seconds(nb) -> float | None:
    """Seconds from the first cell's start to the last cell's reply (nbclient's timing metadata)."""
    starts, ends = [], []
    for cell in nb.cells:
        timing = cell.metadata.get("execution", {})
        starts.append(_stamp(timing.get("iopub.status.busy") or timing.get("shell.execute_reply.started")))
        ends.append(_stamp(timing.get("shell.execute_reply")))
    starts, ends = [s for s in starts if s], [e for e in ends if e]
    if not starts or not ends:
        return None
    return max(0.0, (max(ends) - min(starts)).total_seconds())


def inspect(folder: Path) -> tuple[list[str], float | None]:
    """(reasons, seconds) over the autograded notebooks in ``folder`` (none there: nothing, None)."""
    found: list[str] = []
    total, timed = 0.0, False
    for path in sorted(Path(folder).glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        prefix = f"{path.stem}: " if len(list(Path(folder).glob("*.ipynb"))) > 1 else ""
        found += [prefix + r for r in reasons(nb)]
        if (s := seconds(nb)) is not None:
            total, timed = total + s, True
    return found, total if timed else None


def graded_cell_order(source_folder: Path) -> list[str]:
    """``notebook/grade_id`` of every graded cell, notebooks by name, cells in notebook order."""
    order = []
    for path in sorted(Path(source_folder).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if meta.get("grade") and meta.get("grade_id"):
                order.append(f"{path.stem}/{meta['grade_id']}")
    return order
