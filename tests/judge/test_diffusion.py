"""Does the judge give 10_diffusion's points for what the code computes on its secret inputs, and only then?

Wrong answers are the self-checks' mutant table (tests/checks/test_diffusion.py: the reference cells with
one known mistake edited in), each self-check mapped to the test cell that calls it; one judge run rules on
a group of them (one per answer cell), in one kernel session.
"""

from __future__ import annotations

import pytest

from tests.checks.test_diffusion import BROKEN as BROKEN_CHECKS
from tests.checks.test_diffusion import CHECKS, MUTANTS, VARIANTS

from . import harness
from .harness import edited, groups

A = "10_diffusion"
CELL_OF_CHECK = {  # self-check (as tests/checks/test_diffusion.py names it) -> the test cell that calls it
    "check_linear_schedule": "linear_schedule_values",
    "check_linear_schedule_hidden": "linear_schedule_hidden",
    "check_cosine_schedule": "cosine_schedule_values",
    "check_cosine_offset": "cosine_schedule_offset",
    "check_cosine_schedule_hidden": "cosine_schedule_hidden",
    "check_q_sample": "q_sample_values",
    "check_q_sample_hidden": "q_sample_hidden",
    "check_ddpm_loss": "ddpm_loss_values",
    "check_ddpm_loss_gradient": "ddpm_loss_gradient",
    "check_ddpm_loss_hidden": "ddpm_loss_hidden",
    "check_p_sample_mean": "p_sample_mean",
    "check_p_sample_variance": "p_sample_variance",
    "check_p_sample_last_step": "p_sample_last_step",
    "check_p_sample_step": "p_sample_hidden",
}
CELLS = {cell: tuple(CELL_OF_CHECK[c] for c in checks) for cell, checks in CHECKS.items()}
IDS = [gid for cells in CELLS.values() for gid in cells]
YOURSELF = "the exercise is to write it yourself"

WRONG = {
    name: ((cell, edited(A, cell, *edits)), {CELL_OF_CHECK[c]: text for c, text in failing.items()})
    for name, (cell, edits, failing) in MUTANTS.items()
}
LOSS_LINE = "return ((noise - model(x_t, t)) ** 2).mean()"
WRONG["ddpm_loss by F.mse_loss"] = (
    ("ddpm_loss", edited(A, "ddpm_loss", (LOSS_LINE, "return torch.nn.functional.mse_loss(model(x_t, t), noise)"))),
    dict.fromkeys(CELLS["ddpm_loss"], YOURSELF),
)
WRONG["ddpm_loss by nn.MSELoss"] = (
    ("ddpm_loss", edited(A, "ddpm_loss", (LOSS_LINE, "return torch.nn.MSELoss()(model(x_t, t), noise)"))),
    dict.fromkeys(CELLS["ddpm_loss"], YOURSELF),
)
HELPER = """from adl4cv_utils.checks.diffusion.common import column


def q_sample(x0, t, noise, alphas_cumprod):
    abar = column(alphas_cumprod[t], x0)
    return abar.sqrt() * x0 + (1 - abar).sqrt() * noise
"""
WRONG["q_sample with the checks' broadcasting helper"] = (("q_sample", HELPER), dict.fromkeys(CELLS["q_sample"], ""))
GROUPS = groups(WRONG)
RIGHT = {f"{cell} written differently": (cell, source) for cell, source in VARIANTS.items()}
BROKEN = {cell: source for cell, (source, _) in BROKEN_CHECKS.items()}  # raising or mistyped code
BROKEN_EXPECTED = {CELLS[cell][0]: text for cell, (_, text) in BROKEN_CHECKS.items()}  # first test cell -> text

judged = harness.session_fixture(A)


def test_every_test_cell_has_a_judge_test(judged):
    """Does every graded cell of the notebook have a judge test, and no judge test lack a cell?"""
    harness.assert_every_test_cell_judged(judged, A, IDS)


@pytest.mark.slow
def test_reference_notebook_gets_full_marks():
    """Does the solution notebook, run whole, get every point from the judge (two secret seeds)?"""
    harness.assert_reference_full_marks(A, (0, 12345), IDS)


def test_release_notebook_gets_zero():
    """Does the release notebook (stubs) get zero on every cell, each saying it is not implemented?"""
    harness.assert_release_zero(A)


def test_submitted_reference_gets_full_marks_in_a_session(judged):
    """Does the reference, submitted into the release, pass every cell for 20 secret seeds (no chance failures)?"""
    harness.assert_session_full_marks(judged)


@pytest.mark.parametrize("names", GROUPS, ids=[" | ".join(g) for g in GROUPS])
def test_wrong_answers_lose_the_right_cells(judged, names):
    """Does each known mistake or delegation lose the points of the cells that test it, naming it, and keep
    the points of its answer cell's other cells?"""
    harness.assert_group(A, WRONG, CELLS, names, session=judged)


def test_valid_variants_get_full_marks(judged):
    """Do valid answers written differently (another formulation, allowed building blocks) get every point,
    for several secret seeds?"""
    for seed in (1, 2, 3):
        got = judged.verdicts(dict(RIGHT.values()), seed=seed)
        assert all(v.passed and v.score == v.points for v in got.values()), {
            k: v.message for k, v in got.items() if not v.passed
        }


def test_broken_code_gives_failed_verdicts(judged):
    """Does code that raises or returns the wrong type or shape get failed verdicts naming it (not a crash)?"""
    got = judged.verdicts(BROKEN)
    for test, text in BROKEN_EXPECTED.items():
        v = got[test]
        assert not v.passed and v.score == 0 and text in v.message, (test, v.message)
