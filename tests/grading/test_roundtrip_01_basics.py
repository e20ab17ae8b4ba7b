"""Does real nbgrader grade the basics assignment end to end (reference, release, wrong)?"""

from __future__ import annotations

import pytest
from conftest import solution_cell, with_solutions

pytestmark = pytest.mark.slow
A = "01_basics"
CELLS = ("softmax_loss", "hinge_loss", "sigmoid", "tanh", "relu", "maxout", "gradient_check")


def test_reference_full_release_zero_wrong_partial(grade_batch, course):
    """Reference -> 18/18, release -> 0, hinge counting y + sigmoid' from x -> the expected partial scores."""
    reference = {gid: solution_cell(A, gid) for gid in CELLS}
    hinge_with_y = reference["hinge_loss"].replace("margins[rows, y] = 0  # the sum runs over k != y_i", "")
    sigmoid_from_x = reference["sigmoid"].replace("return out, out", "return out, x")
    assert hinge_with_y != reference["hinge_loss"] and sigmoid_from_x != reference["sigmoid"]
    proc, rows = grade_batch(
        A,
        {
            "ref": with_solutions(A, reference),
            "release": with_solutions(A, {}),
            "wrong": with_solutions(A, {**reference, "hinge_loss": hinge_with_y, "sigmoid": sigmoid_from_x}),
        },
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(rows["ref"]["score"]) == pytest.approx(18.0)
    assert float(rows["ref"]["max_score"]) == pytest.approx(18.0)
    assert float(rows["release"]["score"]) == 0.0
    scores = {k.split("/")[1]: float(v) for k, v in rows["wrong"].items() if k.startswith("basics/")}
    lost = {k: v for k, v in scores.items() if v == 0}
    assert set(lost) == {
        "hinge_loss_values",
        "hinge_loss_margin",
        "hinge_loss_hidden",
        "sigmoid_test",
        "activations_hidden",
    }, scores
    assert float(rows["wrong"]["score"]) == pytest.approx(18.0 - 6.0)

    feedback = course / "feedback"
    html = (feedback / "wrong" / A / "basics.html").read_text()
    assert "the correct class is counted" in html
    assert "uses the input x instead of the output" in html
    for name in ("ref", "release", "wrong"):
        page = (feedback / name / A / "basics.html").read_text()
        # The hidden cells' calls must not show (a traceback of the student's own code may name a check).
        assert "BEGIN HIDDEN TESTS" not in page and "seed=1).assert_passed()" not in page, f"hidden source in {name}"
        assert "basics.check_gradient_check_eps(gradient_check)" not in page, f"hidden source in {name}"
