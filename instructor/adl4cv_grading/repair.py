"""How is a tampered notebook made gradable? Restore the assignment's cells, keep the student's answers.

Students delete, duplicate, reorder or retype cells, sometimes test cells. Before nbgrader runs,
``repair`` rebuilds the submission on the release's skeleton:

* every nbgrader cell (answers, tests, read-only cells) of the release is present exactly once,
  in the release's order, with the release's cell type; a missing one is restored from the
  release (a missing answer becomes the empty stub); of a duplicated cell the LAST copy counts, as
  in nbgrader: its own ``DeduplicateIds`` turns the earlier copies into plain cells (which still
  run where they stand), and repair only adds the note;
* the student's own extra cells travel with the nbgrader cell they followed, so helper code
  written between cells keeps working;
* test cells keep the release's source (nbgrader then restores the hidden tests from its gradebook).

Every change is reported as a note, which the grader shows in the summary and in the feedback.
A notebook that has none of the assignment's cells is not repaired: it is from another assignment.
"""

from __future__ import annotations

import copy
from collections import Counter

from nbformat import NotebookNode, v4
from nbgrader.preprocessors import DeduplicateIds


def nbgrader_id(cell: NotebookNode) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def _is_answer(cell: NotebookNode) -> bool:
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def repair(
    sub: NotebookNode,
    release: NotebookNode,
    assignment: str = "this assignment",
    other_assignments: dict[str, set[str]] | None = None,
) -> tuple[NotebookNode | None, list[str]]:
    """Return (repaired notebook, notes); (None, [reason]) when the notebook is from another assignment."""
    release_cells = {gid: cell for cell in release.cells if (gid := nbgrader_id(cell))}
    order = list(release_cells)
    present = {nbgrader_id(c) for c in sub.cells} & set(order)
    if not present:
        ids = {nbgrader_id(c) for c in sub.cells} - {None}
        guess = [a for a, a_ids in (other_assignments or {}).items() if ids & a_ids]
        hint = f" (it looks like {', '.join(guess)})" if guess else ""
        return None, [f"not a notebook of {assignment}: none of its cells are there{hint}"]

    notes: list[str] = []
    counts = Counter(nbgrader_id(c) for c in sub.cells if nbgrader_id(c) in release_cells)
    if any(n > 1 for n in counts.values()):
        sub, _ = DeduplicateIds().preprocess(copy.deepcopy(sub), {})
        for gid, n in counts.items():
            if n > 1:
                notes.append(f"cell '{gid}' appeared {'twice' if n == 2 else f'{n} times'}; the last copy was graded")
    preamble: list[NotebookNode] = []
    groups: dict[str, list[NotebookNode]] = {}
    current, seen_order = preamble, []
    for cell in sub.cells:
        gid = nbgrader_id(cell)
        if gid in release_cells:
            if gid in groups:  # a copy DeduplicateIds left (a cell nbgrader does not track): drop it
                current = []  # with the cells after it
                continue
            current = groups[gid] = [cell]
            seen_order.append(gid)
        else:
            if gid is not None or "nbgrader" in cell.get("metadata", {}):  # keep it as a plain cell
                cell = copy.deepcopy(cell)  # (an nbgrader cell of something else, or an earlier copy)
                cell.metadata.pop("nbgrader", None)
            current.append(cell)
    if seen_order != [g for g in order if g in groups]:
        notes.append("cells were moved; they were graded in the assignment's order")

    cells = list(preamble)
    for gid in order:
        original = release_cells[gid]
        if gid not in groups:
            kind = "answer" if _is_answer(original) else "cell"
            notes.append(f"{kind} '{gid}' was deleted; restored from the assignment")
            cells.append(copy.deepcopy(original))
            continue
        first, *extra = groups[gid]
        fixed = _restore(first, original, gid, notes)
        cells += [fixed, *extra]
    repaired = copy.deepcopy(sub)
    repaired.cells = cells
    return repaired, notes


def _restore(cell: NotebookNode, original: NotebookNode, gid: str, notes: list[str]) -> NotebookNode:
    """The student's cell with the release's type, metadata and (for non-answers) source."""
    source = cell.source if _is_answer(original) else original.source
    if cell.cell_type != original.cell_type:
        notes.append(f"cell '{gid}' was changed to a {cell.cell_type} cell; restored as a {original.cell_type} cell")
    elif not _is_answer(original) and cell.source != original.source:
        notes.append(f"cell '{gid}' (not an answer) was edited; the original was used")
    make = v4.new_code_cell if original.cell_type == "code" else v4.new_markdown_cell
    fixed = make(source=source, metadata=copy.deepcopy(original.metadata))
    if "id" in original:
        fixed["id"] = original["id"]
    return fixed
