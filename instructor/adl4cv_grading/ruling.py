"""How does the judge rule on one test cell? Run its judge test, then apply the delegation rules.

``run_test`` is called by ``JudgedExecute`` (execute.py) right after a test cell ran in the student's
kernel: the judge test draws inputs from the run's secret seed, has probes run in the kernel (``call``)
and compares their plain-data replies with its own references. Delegation (the static analysis of the
guard's evidence: what it refused, what ran, what the student's code called; adl4cv_utils.guard) turns a
passed test into a failed one. The static analysis of the submitted cells never takes points: its
findings are review notes for the instructor (``Verdict.review``).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from adl4cv_grading import copies, static
from adl4cv_grading.judge_tests import Context, JudgeTest
from adl4cv_grading.verdict import Verdict, is_test, nbgrader_metadata
from adl4cv_utils import rules
from adl4cv_utils.checks.result import CheckFailed, short


class KernelLost(Exception):
    """The kernel that runs the probes died or is stuck; ``reason`` starts with "time limit" or says which."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def new_seed() -> int:
    """A secret seed for one grading run: the judge draws every test input from it."""
    return secrets.randbits(62)


def _is_student(cell, release_sources: set[str]) -> bool:
    md = nbgrader_metadata(cell)
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
    """The notebook's other cells that the grading kernel runs (setup cells): the static analysis learns only their
    imports. Test cells are left out: the grading kernel does not run them, so their names mean nothing there."""
    return [
        c.source for c in nb.cells if c.cell_type == "code" and not is_test(c) and not _is_student(c, release_sources)
    ]


def review_notes(test: JudgeTest, report: static.Report, before: int | None = None) -> list[str]:
    """What the instructor may want to look at (static findings before ``before``): flagged, never a lost point."""
    found = [f for f in report.escapes + report.copies if before is None or f.cell < before]
    for unit in test.units:
        found += [f for f in report.units.get(unit, []) if before is None or f.cell < before]
    return list(dict.fromkeys(str(f) for f in found))


def _shown(name: str) -> str:
    """The public spelling of a traced name (torch's functional builtins live in ``torch._C._nn``)."""
    name = rules.normalise(name)
    return "torch.nn.functional." + name[len("torch._C._nn.") :] if name.startswith("torch._C._nn.") else name


def _delegation(assignment: str, test: JudgeTest, traces: list[dict], tamper: list[str]) -> str:
    """Why the test's passing result does not count: the guard's evidence (tampering, what ran, what was called)."""
    if tamper:
        shown = "; ".join(dict.fromkeys(tamper[:3]))
        return f"the grader cannot verify this test: {shown} while your code was tested (see the notebook's rules)"
    for unit in test.units:
        for trace in traces:
            for kind in ("python", "builtins", "ops", "boundary"):
                for name in trace.get(kind, []):
                    if isinstance(name, str) and rules.forbidden(assignment, unit, name):
                        shown = _shown(name)
                        return f"{unit} ran `{shown}` while it was tested: the exercise is to write it yourself"
            for name in trace.get("boundary", []):
                if isinstance(name, str) and rules.runtime_escape(name):
                    return f"{unit} called `{_shown(name)}`: the grader cannot verify such code"
                if isinstance(name, str) and rules.not_a_block(assignment, unit, name):
                    shown = _shown(name)
                    return f"{unit} called `{shown}`, which is not one of the building blocks the notebook lists"
    return ""


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
            grade_id, points, 0.0, False, fail.message, short(fail.expected), short(fail.got), fail.max_diff
        )
    except KernelLost as lost:
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
    why = _delegation(assignment, test, ctx.traces, ctx.tamper)
    if why:
        verdict = Verdict(grade_id, points, 0.0, False, why)
    verdict.review = review_notes(test, report, position) + copies.compiled_copies(ctx.compiled)
    verdict.seconds = time.perf_counter() - start
    return verdict
