"""How do the judge tests hand a notebook to the judge? Through the grading pipeline's own JudgedExecute.

A real kernel runs the cells and the judge's probe cells, exactly as in ``nbgrader autograde``
(``adl4cv_grading.execute.JudgedExecute``), without nbgrader's CLI or the sandbox (tests/grading covers
those). ``judge`` runs a whole notebook in a fresh kernel. A ``JudgeSession`` keeps one kernel for a
table of wrong implementations: the release's setup cells run once, then each submission's answer cells
(the reference's where it does not replace them) and the named test cells run through
``JudgedExecute.preprocess_cell``, each test cell's verdict read back from its metadata.
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, notebook_path, solution_cell, with_solutions
from nbclient import NotebookClient

from adl4cv_grading.execute import JudgedExecute
from adl4cv_grading.sandbox import guard_kernel_spec
from adl4cv_grading.static import Report
from adl4cv_grading.verdict import Verdict, is_test


def edit(source: str, *changes: tuple[str, str]) -> str:
    """``source`` with each (old, new) of ``changes`` replaced; every ``old`` must occur in it, so that a wrong
    variant never silently equals the reference."""
    for old, new in changes:
        if old not in source:
            raise ValueError(f"changes: {old!r} does not occur in the source")
        source = source.replace(old, new)
    return source


def edited(assignment: str, grade_id: str, *changes: tuple[str, str]) -> str:
    """The reference answer cell ``grade_id`` with every ``(old, new)`` replacement applied (each must match)."""
    return edit(solution_cell(assignment, grade_id), *changes)


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


def answer_ids(assignment: str) -> list[str]:
    """The grade_ids of the answer cells, in notebook order."""
    nb = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.get("metadata", {}).get("nbgrader", {}).get("solution")
    ]


def submission(assignment: str, answers: dict[str, str] | None = None, base: str = "exercises"):
    """The release notebook (``base="solutions"``: the reference) with ``answers`` in the answer cells."""
    if base == "solutions":
        return without_demos(nbformat.read(notebook_path("solutions", assignment), as_version=4))
    full = {name: solution_cell(assignment, name) for name in answer_ids(assignment)}
    return without_demos(with_solutions(assignment, {**full, **(answers or {})}))


def release_notebook(assignment: str) -> nbformat.NotebookNode:
    """The release notebook as handed out (stubs in the answer cells), without its demos."""
    return without_demos(nbformat.read(notebook_path("exercises", assignment), as_version=4))


GUARD_KERNEL = "adl4cv-guard"


def _guard_kernel() -> None:
    """A kernel spec named GUARD_KERNEL (the guarded kernel without the sandbox), on JUPYTER_PATH."""
    folder = Path(tempfile.gettempdir()) / f"adl4cv-guard-kernel-{os.getpid()}"
    guard_kernel_spec(folder, GUARD_KERNEL)
    paths = os.environ.get("JUPYTER_PATH", "")
    if str(folder) not in paths.split(os.pathsep):
        os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (str(folder), paths) if p)


def _executor(assignment: str, seed: int, cell_seconds: float) -> tuple[JudgedExecute, dict]:
    folder = Path(tempfile.mkdtemp(prefix=f"judge-{assignment}-"))
    shutil.copytree(REPO / "exercises" / assignment, folder, dirs_exist_ok=True)
    release = str(REPO / "exercises" / assignment)
    _guard_kernel()
    executor = JudgedExecute(
        judge_assignment=assignment,
        judge_seed=seed,
        judge_release=release,
        timeout=cell_seconds,
        kernel_name=GUARD_KERNEL,
    )
    return executor, {"metadata": {"path": str(folder)}}


def verdicts_of(nb) -> dict[str, Verdict]:
    """{grade_id: Verdict} of every test cell of a judged notebook."""
    return {c.metadata["nbgrader"]["grade_id"]: Verdict.read(c) for c in nb.cells if is_test(c)}


def judge(assignment: str, nb, seed: int = 7, cell_seconds: float = 60.0) -> dict[str, Verdict]:
    """The judge's verdicts by grade_id for the whole notebook ``nb``, run in a fresh kernel."""
    executor, resources = _executor(assignment, seed, cell_seconds)
    judged, _ = executor.preprocess(copy.deepcopy(nb), resources)
    return verdicts_of(judged)


def groups(table: dict) -> list[list[str]]:
    """The names of a mistake table (name -> ((answer cell, source), expectations)) in groups of at most
    one wrong answer per answer cell: one judge run rules on a whole group."""
    by_cell: dict[str, list[str]] = {}
    for name, ((cell, _), _) in table.items():
        by_cell.setdefault(cell, []).append(name)
    return [[names[i] for names in by_cell.values() if i < len(names)] for i in range(max(map(len, by_cell.values())))]


def assert_group(assignment: str, table: dict, cells: dict[str, tuple[str, ...]], names: list[str], session=None):
    """Judge one notebook holding the group's wrong answers; each must fail exactly its expected cells.

    ``table[name] = ((answer cell, source), {test cell: text})``: a listed test cell fails with the text in
    its message ("" any message, None: it may pass); the answer cell's other test cells (``cells``) pass.
    """
    answers = {table[n][0][0]: table[n][0][1] for n in names}
    got = session.verdicts(answers) if session else judge(assignment, submission(assignment, answers))
    for name in names:
        (cell, _), failing = table[name]
        for test in cells[cell]:
            v = got[test]
            if test not in failing:
                assert v.passed, f"{name}: {test} should pass: {v.message}"
            elif failing[test] is not None:
                assert not v.passed and v.score == 0, f"{name}: {test} passed: {v.message}"
                assert failing[test] in v.message, f"{name}: {test}: {v.message}"
                if not failing[test]:  # "" accepts any message, but none may be empty
                    assert v.message, f"{name}: {test} failed without a message"


def assert_lost(verdicts: dict[str, Verdict], failing, text: str) -> None:
    """Each test cell in ``failing`` failed with zero points and a message that contains ``text``."""
    for gid in failing:
        assert not verdicts[gid].passed and verdicts[gid].score == 0, (gid, verdicts[gid].message)
        assert text in verdicts[gid].message, (gid, verdicts[gid].message)


class JudgeSession:
    """One kernel with the release's setup cells run; ``verdicts`` judges a submission's answer cells."""

    def __init__(self, assignment: str, cell_seconds: float = 60.0):
        self.assignment = assignment
        self.release = release_notebook(assignment)
        self.answers = answer_ids(assignment)
        self.points = {
            c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"].get("points")
            for c in self.release.cells
            if is_test(c)
        }
        self.executor, resources = _executor(assignment, 0, cell_seconds)
        NotebookClient.__init__(self.executor, self.release)
        self.executor.resources = resources
        self.executor.reset_execution_trackers()
        self._kernel = self.executor.setup_kernel()
        self._kernel.__enter__()
        self.executor.start_notebook(self.release)
        first_answer = next(i for i, c in enumerate(self.release.cells) if _grade_id(c) in self.answers)
        for index, cell in enumerate(self.release.cells[:first_answer]):
            self.executor.preprocess_cell(cell, resources, index)

    def verdicts(self, replacements: dict[str, str], grade_ids=None, seed: int = 0, static_analysis: bool = True):
        """Run every answer cell (``replacements[grade_id]`` or the reference's), then judge ``grade_ids`` (all).

        ``static_analysis=False`` leaves delegation to the kernel's trace alone."""
        nb = submission(self.assignment, replacements)
        ex = self.executor
        ex.nb, ex.judge_seed = nb, seed
        ex.start_notebook(nb)
        if not static_analysis:
            ex._report = Report()
        wanted = set(grade_ids or self.points)
        out = {}
        for index, cell in enumerate(nb.cells):
            gid = _grade_id(cell)
            if gid in self.answers or gid in wanted:
                ex.preprocess_cell(cell, ex.resources, index)
            if gid in wanted and is_test(cell):
                out[gid] = Verdict.read(cell)
        return out

    def close(self) -> None:
        self._kernel.__exit__(None, None, None)


def _grade_id(cell) -> str | None:
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def assert_reference_full_marks(assignment: str, seeds, ids=None) -> None:
    """Run the solution notebook whole once per seed: every cell (exactly ids, when given) gets every point."""
    nb = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    for seed in seeds:
        verdicts = judge(assignment, nb, seed=seed)
        if ids is not None:
            assert set(verdicts) == set(ids)
        for gid, v in verdicts.items():
            assert v.passed and v.score == v.points > 0, (seed, gid, v.message)


def assert_release_zero(assignment: str) -> None:
    """Run the release notebook (stubs): zero on every cell, each saying it is not implemented."""
    verdicts = judge(assignment, nbformat.read(notebook_path("exercises", assignment), as_version=4))
    assert all(v.score == 0 and "not implemented" in v.message for v in verdicts.values()), verdicts


def assert_session_full_marks(judged: JudgeSession, seeds=range(1, 21)) -> None:
    """Submit the reference into the release in a session: every cell passes for every secret seed."""
    for seed in seeds:
        for gid, v in judged.verdicts({}, seed=seed).items():
            assert v.passed and v.score == v.points, (seed, gid, v.message)


def session_fixture(assignment: str):
    """A module-scoped ``judged`` fixture: one JudgeSession on ``assignment``, closed after the module."""

    @pytest.fixture(scope="module")
    def judged():
        session = JudgeSession(assignment)
        yield session
        session.close()

    return judged


def assert_every_test_cell_judged(judged: JudgeSession, assignment: str, ids) -> None:
    """Every graded cell of the notebook has a judge test (exactly ids), and no judge test lacks a cell."""
    from adl4cv_grading import exercises as assignments

    assert set(assignments.tests_for(assignment)) == set(judged.points) == set(ids)
