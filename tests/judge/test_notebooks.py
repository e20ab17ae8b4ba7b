"""Does the judge give each assignment's whole notebook the right points: the reference all, the release none,
each known mistake the loss of the cells that test it, valid variants all, and broken code failed verdicts?

The tables (A, CELLS, WRONG, GROUPS, RIGHT, BROKEN, BROKEN_EXPECTED) live in the per-assignment modules.
Modules with a kernel session of their own (``judged``: 08-10) already judge every wrong group there, one
group after another in one kernel; here they get the whole-notebook runs only (reference, release, variants,
broken code), not one fresh kernel per wrong group again.
"""

from __future__ import annotations

import pytest

from tests.judge import test_basics as basics
from tests.judge import test_diffusion as diffusion
from tests.judge import test_generative as generative
from tests.judge import test_similarity as similarity
from tests.judge import test_training as training
from tests.judge import test_visualization as visualization
from tests.judge.harness import assert_group, judge, release_notebook, submission

MODULES = [basics, training, visualization, similarity, generative, diffusion]
IDS = [m.A for m in MODULES]
WRONG_GROUPS = [(m, names) for m in MODULES if not hasattr(m, "judged") for names in m.GROUPS]


@pytest.mark.slow
@pytest.mark.parametrize("m", MODULES, ids=IDS)
def test_reference_gets_full_marks_and_release_zero(m):
    """Does the reference notebook get every point, and the untouched release notebook none?"""
    ref = judge(m.A, submission(m.A, base="solutions"), seed=7)
    assert set(ref) == {c for cells in m.CELLS.values() for c in cells}
    assert all(v.passed and v.score == v.points for v in ref.values()), ref
    release = judge(m.A, release_notebook(m.A), seed=7)
    assert all(v.score == 0 for v in release.values()), release


@pytest.mark.slow
@pytest.mark.parametrize(("m", "names"), WRONG_GROUPS, ids=[f"{m.A}: {' | '.join(g)}" for m, g in WRONG_GROUPS])
def test_wrong_answers_lose_the_right_cells(m, names):
    """Does each known mistake or delegation lose the points of the cells that test it, with a message naming it?"""
    assert_group(m.A, m.WRONG, m.CELLS, names)


@pytest.mark.slow
@pytest.mark.parametrize("m", MODULES, ids=IDS)
def test_valid_variants_and_broken_code(m):
    """Do valid variants keep full marks, and raising or mistyped code get failed verdicts (not a crash)?"""
    got = judge(m.A, submission(m.A, dict(m.RIGHT.values())), seed=7)
    assert all(v.passed for v in got.values()), {k: v.message for k, v in got.items() if not v.passed}
    got = judge(m.A, submission(m.A, m.BROKEN), seed=7)
    for test, text in m.BROKEN_EXPECTED.items():
        assert not got[test].passed and text in got[test].message, (test, got[test].message)
