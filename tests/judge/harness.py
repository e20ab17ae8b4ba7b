"""A judge session for tests: one worker judges many submissions' answer cells, cell by cell.

``judge_notebook`` starts a worker and runs the whole notebook (seconds per notebook); a table of
wrong implementations instead reuses one worker: the release's setup cells run once, then for each
submission the answer cells (the reference's where the submission does not replace them) are
executed and the named test cells judged exactly as ``judge_notebook`` judges them (``run.run_test``:
probes, references, the static analysis of the submitted cells and the worker's trace).
"""

from __future__ import annotations

import nbformat
from conftest import notebook_path, solution_cell

from adl4cv_judge import run, static
from adl4cv_judge.assignments import tests_for


def edit(source: str, *changes: tuple[str, str]) -> str:
    """``source`` with each (old, new) of ``changes`` replaced; every ``old`` must occur in it, so that a wrong
    variant never silently equals the reference."""
    for old, new in changes:
        if old not in source:
            raise ValueError(f"changes: {old!r} does not occur in the source")
        source = source.replace(old, new)
    return source


def release_sources(assignment: str) -> set[str]:
    """The code cells of the release notebook, as ``python -m adl4cv_judge`` collects them."""
    nb = nbformat.read(notebook_path("exercises", assignment), as_version=4)
    return {c.source.strip() for c in nb.cells if c.cell_type == "code"}


def judge(assignment: str, nb, seed: int = 0) -> dict[str, dict]:
    """Verdicts of ``judge_notebook`` for a whole notebook, by grade_id."""
    result = run.judge_notebook(assignment, nb, seed=seed, release_sources=release_sources(assignment))
    return result["verdicts"]


class JudgeSession:
    """One worker with the release's setup cells run; ``verdicts`` judges a submission's answer cells."""

    def __init__(self, assignment: str):
        self.assignment = assignment
        nb = nbformat.read(notebook_path("exercises", assignment), as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        first_answer = next(i for i, c in enumerate(code) if c.metadata.get("nbgrader", {}).get("solution"))
        self.answers = [
            c.metadata["nbgrader"]["grade_id"] for c in code if c.metadata.get("nbgrader", {}).get("solution")
        ]
        self.points = {
            c.metadata["nbgrader"]["grade_id"]: float(c.metadata["nbgrader"].get("points") or 0)
            for c in code
            if run.is_test(c)
        }
        self.tests = tests_for(assignment)
        self.setup = [c.source for c in code[:first_answer]]
        self.session = run._Session(None, None, 60.0)
        for i, source in enumerate(self.setup):
            self.session.exec(f"setup-{i}", source)

    def verdicts(
        self, replacements: dict[str, str], grade_ids=None, seed: int = 0, static_analysis: bool = True
    ) -> dict[str, run.Verdict]:
        """Run every answer cell (``replacements[grade_id]`` or the reference's) and judge ``grade_ids`` (all).

        ``static_analysis=False`` leaves delegation to the worker's trace alone."""
        sources = {gid: replacements.get(gid, solution_cell(self.assignment, gid)) for gid in self.answers}
        for gid, source in sources.items():
            self.session.exec(gid, source)
        report = (
            static.analyse(self.assignment, list(sources.values()), self.setup) if static_analysis else static.Report()
        )
        out = {}
        for gid in grade_ids or self.points:
            out[gid] = run.run_test(
                self.assignment,
                self.tests[gid],
                gid,
                self.points[gid],
                seed,
                self.session.call,
                report,
                self.session.cell_seconds,
                self.session.restart,
            )
        return out

    def close(self) -> None:
        self.session.worker.kill()
