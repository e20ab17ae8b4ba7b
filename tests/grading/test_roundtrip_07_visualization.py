"""Does real nbgrader grade the visualization assignment end to end (reference, release, wrong)?"""

from __future__ import annotations

import pytest
from conftest import solution_cell, with_solutions

pytestmark = pytest.mark.slow
A = "07_visualization"
CELLS = ("occlusion_map", "top_activating_patches")


def test_reference_full_release_zero_wrong_partial(grade_batch, course):
    """Reference -> 12/12, release -> 0, fill ignored + hook kept -> exactly those two tests lost."""
    reference = {gid: solution_cell(A, gid) for gid in CELLS}
    fill_ignored = reference["occlusion_map"].replace(
        "left : left + patch_size] = fill", "left : left + patch_size] = 0"
    )
    hook_kept = reference["top_activating_patches"].replace("        handle.remove()\n", "        pass\n")
    assert fill_ignored != reference["occlusion_map"] and hook_kept != reference["top_activating_patches"]
    proc, rows = grade_batch(
        A,
        {
            "ref": with_solutions(A, reference),
            "release": with_solutions(A, {}),
            "wrong": with_solutions(A, {"occlusion_map": fill_ignored, "top_activating_patches": hook_kept}),
        },
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(rows["ref"]["score"]) == pytest.approx(12.0)
    assert float(rows["ref"]["max_score"]) == pytest.approx(12.0)
    assert float(rows["release"]["score"]) == 0.0
    scores = {k.split("/")[1]: float(v) for k, v in rows["wrong"].items() if k.startswith("visualization/")}
    assert {k for k, v in scores.items() if v == 0} == {"occlusion_fill", "top_hook"}, scores
    assert float(rows["wrong"]["score"]) == pytest.approx(10.0)

    feedback = course / "feedback"
    html = (feedback / "wrong" / A / "visualization.html").read_text()
    assert "use the fill argument" in html and "handle.remove()" in html
    for name in ("ref", "release", "wrong"):
        page = (feedback / name / A / "visualization.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in page and "seed=1" not in page, f"hidden source in {name}"
