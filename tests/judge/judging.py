"""Helpers of the judge tests: hand a notebook to the judge as a student would, and edit answer cells."""

from __future__ import annotations

import nbformat

from adl4cv_judge.run import judge_notebook
from tests.conftest import notebook_path, solution_cell, with_solutions


def release_sources(assignment: str) -> set[str]:
    """The code cells of the release notebook (what the judge does not count as the student's)."""
    nb = nbformat.read(notebook_path("exercises", assignment), as_version=4)
    return {c.source.strip() for c in nb.cells if c.cell_type == "code"}


def without_demos(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``nb`` without the unmarked code cells after the first answer cell (demos and plots: slow, ungraded)."""
    cells, answers = [], False
    for cell in nb.cells:
        md = cell.get("metadata", {}).get("nbgrader", {})
        answers = answers or bool(md.get("solution"))
        if cell.cell_type == "code" and answers and not md.get("grade_id"):
            continue
        cells.append(cell)
    nb.cells = cells
    return nb


def edited(assignment: str, grade_id: str, *edits: tuple[str, str]) -> str:
    """The reference answer cell ``grade_id`` with every ``(old, new)`` replacement applied (each must match)."""
    source = solution_cell(assignment, grade_id)
    for old, new in edits:
        if old not in source:
            raise ValueError(f"edits: {old!r} is not in the answer cell {grade_id!r}")
        source = source.replace(old, new)
    return source


def submission(assignment: str, answers: dict[str, str] | None = None, base: str = "exercises"):
    """The release notebook (``base="solutions"``: the reference) with ``answers`` in the answer cells."""
    if base == "solutions":
        return without_demos(nbformat.read(notebook_path("solutions", assignment), as_version=4))
    names = {
        c.metadata["nbgrader"]["grade_id"]
        for c in nbformat.read(notebook_path("solutions", assignment), as_version=4).cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    }
    full = {name: solution_cell(assignment, name) for name in names}
    return without_demos(with_solutions(assignment, {**full, **(answers or {})}))


def release_notebook(assignment: str) -> nbformat.NotebookNode:
    """The release notebook as handed out (stubs in the answer cells), without its demos."""
    return without_demos(nbformat.read(notebook_path("exercises", assignment), as_version=4))


def verdicts(assignment: str, nb, seed: int = 7) -> dict[str, dict]:
    """The judge's verdicts by grade_id for ``nb`` (release cells as in the pipeline)."""
    return judge_notebook(assignment, nb, seed=seed, release_sources=release_sources(assignment))["verdicts"]


def groups(table: dict) -> list[list[str]]:
    """The names of a mistake table (name -> ((answer cell, source), expectations)) in groups of at most
    one wrong answer per answer cell: one judge run rules on a whole group."""
    by_cell: dict[str, list[str]] = {}
    for name, ((cell, _), _) in table.items():
        by_cell.setdefault(cell, []).append(name)
    return [[names[i] for names in by_cell.values() if i < len(names)] for i in range(max(map(len, by_cell.values())))]


def assert_group(assignment: str, table: dict, cells: dict[str, tuple[str, ...]], names: list[str]) -> None:
    """Judge one notebook holding the group's wrong answers; each must fail exactly its expected cells.

    ``table[name] = ((answer cell, source), {test cell: text})``: a listed test cell fails with the text in
    its message ("" any message, None: it may pass); the answer cell's other test cells (``cells``) pass.
    """
    got = verdicts(assignment, submission(assignment, {table[n][0][0]: table[n][0][1] for n in names}))
    for name in names:
        (cell, _), failing = table[name]
        for test in cells[cell]:
            v = got[test]
            if test not in failing:
                assert v["passed"], f"{name}: {test} should pass: {v['message']}"
            elif failing[test] is not None:
                assert not v["passed"] and v["score"] == 0, f"{name}: {test} passed: {v['message']}"
                assert failing[test] in v["message"], f"{name}: {test}: {v['message']}"
