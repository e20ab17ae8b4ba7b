"""Does real nbgrader grade the training assignment end to end (reference, release, wrong)?"""

from __future__ import annotations

import pytest
from conftest import solution_cell, with_solutions

pytestmark = pytest.mark.slow
A = "06_training"
CELLS = ("dropout", "overfit_one_batch", "train_one_epoch", "evaluate")


def test_reference_full_release_zero_wrong_partial(grade_batch, course):
    """Reference -> 21/21, release -> 0, no zero_grad + mode not restored -> the expected partial scores."""
    reference = {gid: solution_cell(A, gid) for gid in CELLS}
    no_zero_grad = reference["train_one_epoch"].replace("        optimizer.zero_grad()\n", "")
    no_restore = reference["evaluate"].replace("    model.train(was_training)\n", "")
    assert no_zero_grad != reference["train_one_epoch"] and no_restore != reference["evaluate"]
    proc, rows = grade_batch(
        A,
        {
            "ref": with_solutions(A, reference),
            "release": with_solutions(A, {}),
            "wrong": with_solutions(A, {**reference, "train_one_epoch": no_zero_grad, "evaluate": no_restore}),
        },
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(rows["ref"]["score"]) == pytest.approx(21.0)
    assert float(rows["ref"]["max_score"]) == pytest.approx(21.0)
    assert float(rows["release"]["score"]) == 0.0
    scores = {k.split("/")[1]: float(v) for k, v in rows["wrong"].items() if k.startswith("training/")}
    lost = {k for k, v in scores.items() if v == 0}
    assert lost == {"train_epoch", "train_zero_grad", "train_hidden", "evaluate_mode"}, scores
    assert float(rows["wrong"]["score"]) == pytest.approx(21.0 - 6.0)

    feedback = course / "feedback"
    html = (feedback / "wrong" / A / "training.html").read_text()
    assert "call optimizer.zero_grad() before" in html
    assert "restore it" in html
    for name in ("ref", "release", "wrong"):
        page = (feedback / name / A / "training.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in page and "seed=1).assert_passed()" not in page, f"hidden source in {name}"
        assert "shape=(8, 4, 10, 10)" not in page, f"hidden source in {name}"
