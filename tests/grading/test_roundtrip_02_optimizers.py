"""Does real nbgrader grade the optimizers assignment end to end (reference, release, wrong, broken)?"""

from __future__ import annotations

import pytest
from conftest import solution_cell, with_solutions

pytestmark = pytest.mark.slow
A = "02_optimizers"


def test_reference_full_release_zero_wrong_partial(grade_batch, course):
    """Reference -> full marks, release -> zero, slide's Adam -> partial, a warning costs nothing, bad JSON -> 0."""
    reference = {gid: solution_cell(A, gid) for gid in ("sgd_momentum", "rmsprop", "adam")}
    slide_adam = reference["adam"].replace("m / (1 - beta1**t)", "m / (1 - beta1)")
    noisy_sgd = reference["sgd_momentum"].replace(
        "for group in self.param_groups:",
        "warnings.warn('a harmless warning')\n        for group in self.param_groups:",
    )
    proc, rows = grade_batch(
        A,
        {
            "ref": with_solutions(A, reference),
            "release": with_solutions(A, {}),
            "slide_adam": with_solutions(A, {**reference, "adam": slide_adam}),
            "noisy": with_solutions(A, {**reference, "sgd_momentum": "import warnings\n" + noisy_sgd}),
            "broken": "{ this is not a notebook",
        },
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(rows["ref"]["score"]) == pytest.approx(23.0)
    assert float(rows["ref"]["max_score"]) == pytest.approx(23.0)
    assert float(rows["release"]["score"]) == 0.0
    assert float(rows["noisy"]["score"]) == pytest.approx(23.0), "a warning on stderr must not cost points"
    # The slide's (1 - beta1) equals (1 - beta1**t) at t = 1: only the interface and the single step pass.
    adam = {k.split("/")[1]: float(v) for k, v in rows["slide_adam"].items() if k.startswith("optimizers/adam")}
    assert adam == {
        "adam_interface": 1,
        "adam_single_step": 1,
        "adam_many_steps": 0,
        "adam_param_groups": 0,
        "adam_eps": 0,
        "adam_hidden": 0,
    }
    assert float(rows["slide_adam"]["score"]) == pytest.approx(23.0 - 6.0)
    assert rows["broken"]["status"] == "not graded" and "not a readable notebook" in rows["broken"]["reason"]
    assert float(rows["broken"]["score"]) == 0.0

    feedback = course / "feedback"
    html = (feedback / "slide_adam" / A / "optimizers.html").read_text()
    assert "looks like the bias correction of m divides by (1 - beta1) as on the slide" in html
    for name in ("ref", "release", "slide_adam", "noisy"):
        page = (feedback / name / A / "optimizers.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in page and "check_training_run" not in page, f"hidden source in {name}"
    assert "not a readable notebook" in (feedback / "broken" / A / "not_graded.html").read_text()
    assert "ref" in proc.stdout and "23/23" in proc.stdout


def test_rerun_skips_unchanged(grade_batch):
    """Is a second run on the same folder fast, keeping the grades, and does --force regrade?"""
    subs = {"ref": with_solutions(A, {g: solution_cell(A, g) for g in ("sgd_momentum", "rmsprop", "adam")})}
    proc, rows = grade_batch(A, subs)
    assert proc.returncode == 0 and rows["ref"]["status"] == "graded"
    proc, rows = grade_batch(A, subs)
    assert rows["ref"]["status"] == "unchanged" and float(rows["ref"]["score"]) == pytest.approx(23.0)
    proc, rows = grade_batch(A, subs, "--force")
    assert rows["ref"]["status"] == "graded"
