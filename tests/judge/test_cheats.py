"""Can a student get points without the work? A cheat suite graded by the real ``adl4cv-grade``.

Each cheat (tests/judge/integrity.py) is the reference with one answer cell replaced by code that
tries to get that cell's points without writing it: torch's own implementation reached by names no
analysis resolves, modules written at run time, the recorder switched off, the reply forged, other
threads and processes, reflection. Each must score no more than the baseline (the same cell earning
nothing), and the reference full marks; the points come from the judge, in another process.
"""

from __future__ import annotations

import pytest

from tests.judge.harness import JudgeSession
from tests.judge.integrity import CHEATS, SESSION_CHEATS, TARGET
from tests.judge.test_similarity import CELLS as SIMILARITY_CELLS

pytestmark = pytest.mark.slow


def _score(row) -> float:
    return float(row["score"])


@pytest.mark.parametrize("assignment", sorted(TARGET))
def test_reference_and_baseline(grade_suites, assignment):
    """Does the reference get full marks and the baseline lose the target cell's points?"""
    rows = grade_suites(assignment)
    assert _score(rows["reference"]) == pytest.approx(float(rows["reference"]["max_score"])), rows["reference"]
    assert _score(rows["baseline"]) < _score(rows["reference"]), rows["baseline"]


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_cheat_gains_nothing(grade_suites, cheat):
    """Does the cheat score no more than the same notebook whose cell earns nothing?"""
    assignment = CHEATS[cheat][0]
    rows = grade_suites(assignment)
    row, baseline = rows[f"cheat-{cheat}"], rows["baseline"]
    assert _score(row) <= _score(baseline) + 1e-9, (cheat, row)


def test_the_suite_covers_every_mechanism_class():
    """Are there at least 20 cheats, across 02-06 and 09?"""
    assert len(CHEATS) >= 20
    assert {a for a, _ in CHEATS.values()} == set(TARGET)


@pytest.fixture(scope="module")
def similarity():
    session = JudgeSession("08_similarity")
    yield session
    session.close()


@pytest.mark.parametrize("cheat", sorted(SESSION_CHEATS))
def test_08_cheat_gains_nothing(similarity, cheat):
    """Does torch's own loss or log-sum-exp, reached in the guarded kernel around 08's rules (called from C by
    map or reduce, or under another name), earn none of its cell's points, with a message naming the rule?"""
    cell, source = SESSION_CHEATS[cheat]
    got = similarity.verdicts({cell: source}, SIMILARITY_CELLS[cell], seed=3)
    assert set(got) == set(SIMILARITY_CELLS[cell])
    for gid, v in got.items():
        assert v.score == 0 and not v.passed, (cheat, gid, v.message)
        assert "yourself" in v.message or "may not be used in 08_similarity" in v.message, (cheat, gid, v.message)
