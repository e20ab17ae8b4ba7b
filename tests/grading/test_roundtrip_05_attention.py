"""Does real nbgrader grade the attention assignment end to end (reference, release, wrong code)?"""

from __future__ import annotations

import pytest
from conftest import solution_cell, with_solutions

pytestmark = pytest.mark.slow
A = "05_attention"
TOTAL = 13.0


def test_reference_full_release_zero_wrong_partial(grade_batch, course):
    """Reference -> 13/13, release -> 0, an inverted mask and a missing output projection -> partial."""
    sdpa, mha = solution_cell(A, "sdpa"), solution_cell(A, "mha")
    inverted = sdpa.replace("scores.masked_fill(~mask,", "scores.masked_fill(mask,")
    no_out_proj = mha.replace("return self.out_proj(out), weights", "return out, weights")
    assert inverted != sdpa and no_out_proj != mha
    proc, rows = grade_batch(
        A,
        {
            "ref": with_solutions(A, {"sdpa": sdpa, "mha": mha}),
            "release": with_solutions(A, {}),
            "wrong": with_solutions(A, {"sdpa": inverted, "mha": no_out_proj}),
        },
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(rows["ref"]["score"]) == pytest.approx(TOTAL)
    assert float(rows["ref"]["max_score"]) == pytest.approx(TOTAL)
    assert float(rows["release"]["score"]) == 0.0
    scores = {k.split("/")[1]: float(v) for k, v in rows["wrong"].items() if k.startswith("attention/")}
    assert scores == {
        "sdpa_output": 1,
        "sdpa_weights": 1,
        "sdpa_causal_mask": 0,
        "sdpa_padding_mask": 0,
        "sdpa_hidden": 0,  # the batch-dimension test uses a mask
        "mha_interface": 1,
        "mha_self_attention": 0,
        "mha_cross_attention": 0,
        "mha_mask": 0,
        "mha_hidden": 0,
    }
    assert float(rows["wrong"]["score"]) == pytest.approx(3.0)

    feedback = course / "feedback"
    html = (feedback / "wrong" / A / "attention.html").read_text()
    assert "the mask is inverted" in html and "the output projection is missing" in html
    for name in ("ref", "release", "wrong"):
        page = (feedback / name / A / "attention.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in page and "check_mha_gradients" not in page, f"hidden source in {name}"
