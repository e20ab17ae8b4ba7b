"""Does an honest, correct notebook keep full marks whatever harmless habits it has?

Each habit (tests/judge/integrity.py) is the reference plus one thing honest students do: shell lines,
magics, plot and cudnn settings, ``setattr``/``getattr`` on their own modules, ``self.__class__``,
seeding, warnings filters, ``sys.path`` edits, progress bars, helper modules the notebook writes,
experiments that compare with torch's own implementation outside the graded code. Graded by the real
``adl4cv-grade`` (the same batches as the cheat suite).
"""

from __future__ import annotations

import pytest

from tests.judge.integrity import HABITS

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("habit", sorted(HABITS))
def test_habit_keeps_full_marks(grade_suites, habit):
    """Does the notebook with this habit score every point?"""
    row = grade_suites(HABITS[habit][0])[f"habit-{habit}"]
    assert float(row["score"]) == pytest.approx(float(row["max_score"])), (habit, row)


def test_the_suite_has_fifteen_habits():
    """Are there at least 15 habits?"""
    assert len(HABITS) >= 15


def test_flagged_habits_keep_their_points_and_are_flagged(grade_suites):
    """Is a construct the static analysis cannot follow (setattr/getattr with computed names) flagged for the
    instructor in the CSV's review column, while the notebook keeps full marks?"""
    row = grade_suites("04_resnet")["habit-setattr_getattr_layers"]
    assert float(row["score"]) == pytest.approx(float(row["max_score"]))
    assert "getattr" in row["review"] or "setattr" in row["review"], row
