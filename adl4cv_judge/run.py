"""How is one submission judged? Its cells run in a worker, in order; every test cell gets a verdict.

The worker executes the notebook's code cells one by one (test cells excepted), so at each test
cell its state is the notebook's state at that position; there the cell's judge test runs. A cell
that outlives ``cell_seconds`` is stopped as nbgrader would interrupt it: the worker is restarted,
the cells that ran before are replayed, and the notebook goes on without it. After
``submission_seconds`` the remaining test cells score zero ("time limit"). Delegation (static
analysis and the worker's trace against rules.py) turns a passed test into a failed one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import nbformat

from adl4cv_judge import rules, static
from adl4cv_judge.assignments import tests_for
from adl4cv_judge.registry import Context, JudgeTest
from adl4cv_judge.worker_client import Worker, WorkerLost
from adl4cv_utils.checks.result import CheckFailed, CheckResult, _short


@dataclass
class Verdict:
    """The judge's ruling on one test cell."""

    grade_id: str
    points: float
    score: float
    passed: bool
    message: str
    expected: str | None = None
    got: str | None = None
    max_diff: float | None = None
    seconds: float = 0.0

    def line(self) -> str:
        text = CheckResult(
            self.grade_id, self.passed, self.message, self.expected, self.got, self.max_diff, self.seconds
        )
        return f"Judge: {self.score:g}/{self.points:g} " + text.summary()


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def is_test(cell) -> bool:
    md = _nbgrader(cell)
    return cell.cell_type == "code" and bool(md.get("grade")) and bool(md.get("grade_id"))


def _is_student(cell, release_sources: set[str]) -> bool:
    md = _nbgrader(cell)
    if cell.cell_type != "code" or is_test(cell) or md.get("locked"):
        return False
    return not (cell.source.strip() in release_sources and not md.get("solution"))


def student_sources(nb, release_sources: set[str] = frozenset()) -> list[str]:
    """The code the student wrote: answer cells and added cells (not locked release cells, not tests)."""
    return [cell.source for cell in nb.cells if _is_student(cell, release_sources)]


def analyse_notebook(assignment: str, nb, release_sources: set[str] = frozenset()) -> static.Report:
    """The static report of ``nb``, each finding at its cell's position in the notebook."""
    mine = [(i, c.source) for i, c in enumerate(nb.cells) if _is_student(c, release_sources)]
    return static.analyse(
        assignment,
        [src for _, src in mine],
        context=context_sources(nb, release_sources),
        positions=[i for i, _ in mine],
    )


def context_sources(nb, release_sources: set[str] = frozenset()) -> list[str]:
    """The notebook's other cells that the worker runs (setup cells): the static analysis learns only their
    imports. Test cells are left out: the worker does not run them, so their names mean nothing there."""
    return [
        c.source for c in nb.cells if c.cell_type == "code" and not is_test(c) and not _is_student(c, release_sources)
    ]


def _delegation(
    assignment: str, test: JudgeTest, report: static.Report, traces: list[dict], before: int | None = None
) -> str:
    """Why the test's passing result does not count (static findings in cells before ``before``, the trace)."""

    def earlier(findings):
        return [f for f in findings if before is None or f.cell < before]

    escapes = earlier(report.escapes)
    if escapes:
        shown = ", ".join(str(f) for f in escapes[:3])
        return f"the grader cannot verify code that uses {shown}; such code earns no points (see the notebook's rules)"
    for unit in test.units:
        found = earlier(report.units.get(unit, []))
        if found:
            return f"{unit} uses {', '.join(str(f) for f in found[:3])}: the exercise is to write it yourself"
        for trace in traces:
            for kind in ("python", "builtins", "ops"):
                for name in trace.get(kind, []):
                    if isinstance(name, str) and rules.forbidden(assignment, unit, name):
                        shown = rules.normalise(name)
                        return f"{unit} ran `{shown}` while it was tested: the exercise is to write it yourself"
    return ""


class _Session:
    """A worker plus the cells it has run, so that it can be restarted where it was."""

    def __init__(self, wrap, env, cell_seconds: float):
        self.wrap, self.env, self.cell_seconds = wrap, env, cell_seconds
        self.ran: list[tuple[str, str]] = []
        self.worker = Worker(wrap, env)

    def restart(self) -> None:
        self.worker.kill()
        self.worker = Worker(self.wrap, self.env)
        for cell_id, source in self.ran:
            try:
                self.worker.request({"op": "exec", "source": source, "cell": cell_id}, self.cell_seconds)
            except WorkerLost:
                self.worker.kill()
                self.worker = Worker(self.wrap, self.env)

    def exec(self, cell_id: str, source: str) -> str:
        try:
            self.worker.request({"op": "exec", "source": source, "cell": cell_id}, self.cell_seconds)
        except WorkerLost as lost:
            self.restart()
            return f"cell {cell_id} was stopped ({lost.reason})"
        self.ran.append((cell_id, source))
        return ""

    def call(self, probe: str, inputs: dict) -> dict:
        return self.worker.request({"op": "probe", "probe": probe, "inputs": inputs}, self.cell_seconds)


def judge_notebook(
    assignment: str,
    nb: nbformat.NotebookNode,
    seed: int,
    cell_seconds: float = 60.0,
    submission_seconds: float = 600.0,
    wrap: Callable[[list[str]], Sequence[str]] | None = None,
    env: dict | None = None,
    release_sources: set[str] = frozenset(),
) -> dict:
    """Verdicts for every test cell of ``nb``: {"verdicts": {grade_id: Verdict as dict}, "notes": [...]}."""
    tests = tests_for(assignment)
    report = analyse_notebook(assignment, nb, release_sources)
    verdicts: dict[str, Verdict] = {}
    notes: list[str] = []
    deadline = time.monotonic() + submission_seconds
    session = _Session(wrap, env, cell_seconds)
    try:
        last_test = max((i for i, c in enumerate(nb.cells) if is_test(c)), default=-1)
        for index, cell in enumerate(nb.cells[: last_test + 1]):  # cells after the last test decide nothing
            if cell.cell_type != "code":
                continue
            md = _nbgrader(cell)
            if not is_test(cell):
                if time.monotonic() < deadline:
                    note = session.exec(md.get("grade_id") or str(index + 1), cell.source)
                    if note:
                        notes.append(note)
                continue
            grade_id, points = md["grade_id"], float(md.get("points") or 0)
            if time.monotonic() >= deadline:
                verdicts[grade_id] = Verdict(
                    grade_id, points, 0.0, False, "time limit: the notebook ran out of time before this test"
                )
                continue
            verdicts[grade_id] = run_test(
                assignment,
                tests.get(grade_id),
                grade_id,
                points,
                seed,
                session.call,
                report,
                cell_seconds,
                session.restart,
                position=index,
            )
    finally:
        session.worker.kill()
    return {"verdicts": {k: asdict(v) for k, v in verdicts.items()}, "notes": notes}


def run_test(
    assignment: str,
    test: JudgeTest | None,
    grade_id: str,
    points: float,
    seed: int,
    call: Callable[[str, dict], dict],
    report: static.Report,
    cell_seconds: float,
    on_lost: Callable[[], None] | None = None,
    position: int | None = None,
) -> Verdict:
    """The verdict of one judge test, whatever the student's code does (never raises for it)."""
    start = time.perf_counter()
    if test is None:
        return Verdict(grade_id, points, 0.0, False, "internal error: the judge has no test for this cell")
    ctx = Context(seed, grade_id, call)
    verdict = Verdict(grade_id, points, points, True, "")
    try:
        outcome = test.fn(ctx)
        message, max_diff = outcome if isinstance(outcome, tuple) else (outcome or "", None)
        verdict.message, verdict.max_diff = message, max_diff
    except CheckFailed as fail:
        verdict = Verdict(
            grade_id, points, 0.0, False, fail.message, _short(fail.expected), _short(fail.got), fail.max_diff
        )
    except WorkerLost as lost:
        message = (
            f"time limit: the test took longer than {cell_seconds:g} s" if lost.reason == "time limit" else lost.reason
        )
        verdict = Verdict(grade_id, points, 0.0, False, message)
        if on_lost is not None:
            on_lost()
    except Exception as error:  # noqa: BLE001 - a value the student's code returned that the test could not use
        verdict = Verdict(
            grade_id,
            points,
            0.0,
            False,
            f"your code returned something the test could not use ({type(error).__name__}: {error})",
        )
    # Delegation decides even when the values are wrong too: it is the more useful message.
    why = _delegation(assignment, test, report, ctx.traces, position)
    if why:
        verdict = Verdict(grade_id, points, 0.0, False, why)
    verdict.seconds = time.perf_counter() - start
    return verdict
