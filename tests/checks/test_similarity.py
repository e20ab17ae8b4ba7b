"""Do the 08_similarity self-checks pass the reference, name each deliberate mistake, and survive broken code?

The wrong implementations are the judge's mistake table (tests/judge/test_similarity.py): the reference
cells with one mistake edited in, run here through the self-checks of the test cells they must fail.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from conftest import solution_cell

from adl4cv_grading.exercises.similarity import reference
from adl4cv_utils.checks import similarity as S
from tests.judge.test_similarity import BROKEN, CELLS, DELEGATIONS, RIGHT, WRONG

A = "08_similarity"
NAMES = {
    "contrastive": "contrastive_loss",
    "triplet": "triplet_loss",
    "batch_hard": "batch_hard_triplet_loss",
    "info_nce": "info_nce",
}
CHECKS = {  # test cell -> the self-check it calls (as in the notebook)
    "contrastive_values": lambda f: S.check_contrastive_loss(f),
    "contrastive_margin": lambda f: S.check_contrastive_margin(f),
    "contrastive_hidden": lambda f: S.check_contrastive_loss(f, seed=1),
    "triplet_values": lambda f: S.check_triplet_loss(f),
    "triplet_margin": lambda f: S.check_triplet_margin(f),
    "triplet_hidden": lambda f: S.check_triplet_loss(f, seed=1),
    "batch_hard_values": lambda f: S.check_batch_hard_loss(f),
    "batch_hard_gradients": lambda f: S.check_batch_hard_gradients(f),
    "batch_hard_hidden": lambda f: S.check_batch_hard_loss(f, seed=1),
    "info_nce_values": lambda f: S.check_info_nce(f),
    "info_nce_temperature": lambda f: S.check_info_nce_temperature(f),
    "info_nce_stability": lambda f: S.check_info_nce_stability(f),
    "info_nce_hidden": lambda f: S.check_info_nce(f, seed=1),
}


def _define(cell: str, source: str):
    """The function an answer cell defines, run as the notebook would (torch and F imported)."""
    namespace = {"torch": torch, "F": F}
    exec(compile(source, f"<{cell}>", "exec"), namespace)  # noqa: S102 - the test's own fixtures
    return namespace[NAMES[cell]]


def test_reference_passes_every_check_in_well_under_2_s():
    """Does the solution notebook's code pass every self-check, each in well under 2 s?"""
    for cell, tests in CELLS.items():
        fn = _define(cell, solution_cell(A, cell))
        for test in tests:
            result = CHECKS[test](fn)
            assert result.passed and result.seconds < 2.0, result.summary()


def test_instructor_references_pass_every_check():
    """Does the judge's reference (reference.py) pass the self-checks too, so that both agree?"""
    for cell, tests in CELLS.items():
        fn = reference.REFERENCES[NAMES[cell]]
        for test in tests:
            assert CHECKS[test](fn).passed, CHECKS[test](fn).summary()


@pytest.mark.parametrize("name", sorted(set(WRONG) - DELEGATIONS))
def test_wrong_implementation_is_named(name):
    """Does each known mistake fail exactly the self-checks of its cells, with a message that names it?"""
    (cell, source), failing = WRONG[name]
    fn = _define(cell, source)
    for test in CELLS[cell]:
        result = CHECKS[test](fn)
        if test not in failing:
            assert result.passed, f"{name}: {test} should pass: {result.summary()}"
        elif failing[test] is not None:
            assert not result.passed and failing[test] in result.message, f"{name}: {test}: {result.summary()}"


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_valid_variant_passes(name):
    """Does each valid variant (other building blocks, loops) pass every self-check of its cell?"""
    cell, source = RIGHT[name]
    fn = _define(cell, source)
    for test in CELLS[cell]:
        assert CHECKS[test](fn).passed, CHECKS[test](fn).summary()


def test_broken_code_gives_a_failed_result():
    """Do raising code, a per-sample vector, a float and None give failed results with a message, not exceptions?"""
    texts = {"contrastive": "raised RuntimeError: boom", "triplet": "must return a 0-dim tensor"}
    texts |= {"batch_hard": "expected a tensor", "info_nce": "expected a tensor"}
    for cell, source in BROKEN.items():
        result = CHECKS[CELLS[cell][0]](_define(cell, source))
        assert not result.passed and texts[cell] in result.message, result.summary()
    stub = CHECKS["info_nce_values"](lambda *args, **kwargs: (_ for _ in ()).throw(NotImplementedError()))
    assert not stub.passed and "not implemented" in stub.message


def test_unknown_seed_is_a_wrong_argument():
    """Does a seed without stored values raise a ValueError naming the argument (not a failed result)?"""
    with pytest.raises(ValueError, match="seed"):
        S.check_triplet_loss(reference.triplet, seed=7)


def test_checks_leave_the_global_rng_alone():
    """Does running a self-check leave torch's global random state as it found it?"""
    torch.manual_seed(3)
    before = torch.get_rng_state()
    S.check_info_nce(reference.info_nce)
    assert torch.equal(before, torch.get_rng_state())
