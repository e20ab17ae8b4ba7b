"""Does real nbgrader grade the ResNet assignment end to end (reference, release, a wrong block)?"""

from __future__ import annotations

import time

import pytest
from conftest import solution_cell, with_solutions

pytestmark = pytest.mark.slow
A = "04_resnet"
TOTAL = 10.0


def test_reference_full_release_zero_wrong_partial(grade_batch, course):
    """Reference -> 10/10, release -> 0 (quickly), ReLU before the addition -> only the structure points."""
    reference = solution_cell(A, "basic_block")
    relu_before_add = reference.replace(
        "return F.relu(out + self.shortcut(x))", "return F.relu(out) + self.shortcut(x)"
    )
    assert relu_before_add != reference
    start = time.perf_counter()
    proc, rows = grade_batch(
        A,
        {
            "ref": with_solutions(A, {"basic_block": reference}),
            "release": with_solutions(A, {}),
            "relu_first": with_solutions(A, {"basic_block": relu_before_add}),
        },
    )
    seconds = time.perf_counter() - start
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(rows["ref"]["score"]) == pytest.approx(TOTAL)
    assert float(rows["ref"]["max_score"]) == pytest.approx(TOTAL)
    assert float(rows["release"]["score"]) == 0.0
    scores = {k.split("/")[1]: float(v) for k, v in rows["relu_first"].items() if k.startswith("resnet/")}
    assert scores == {
        "basic_block_parameters": 1,
        "basic_block_conv_layers": 1,
        "basic_block_shortcut": 1,
        "basic_block_output_shapes": 1,
        "basic_block_forward_train": 0,
        "basic_block_forward_eval": 0,
        "basic_block_skip_gradient": 0,
        "basic_block_hidden": 0,
    }
    assert float(rows["relu_first"]["score"]) == pytest.approx(4.0)

    feedback = course / "feedback"
    html = (feedback / "relu_first" / A / "resnet.html").read_text()
    assert "the ReLU is applied before the addition" in html
    for name in ("ref", "release", "relu_first"):
        page = (feedback / name / A / "resnet.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in page and "check_backward" not in page, f"hidden source in {name}"
    assert seconds < 600, f"grading three notebooks took {seconds:.0f} s"
