"""Are the stored expected values of the self-checks what the instructor's references compute now?"""

from __future__ import annotations

import pytest
import torch

from adl4cv_grading import expected as generate
from adl4cv_utils.checks import fixtures, visualization
from adl4cv_utils.checks.result import CheckArgumentError


def _same(a, b) -> bool:
    if torch.is_tensor(a):
        return torch.is_tensor(b) and a.shape == b.shape and torch.allclose(a, b, atol=1e-6, rtol=1e-5)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return abs(a - b) <= 1e-6 * (1 + abs(b))


@pytest.mark.parametrize("topic", list(generate.TOPICS))
def test_stored_values_match_the_references(topic):
    """Do the files in checks/expected/ hold exactly what the references compute (no drift)?

    If this fails after changing a case or torch: ``python -m adl4cv_grading.expected``.
    """
    fresh = generate.TOPICS[topic]()
    stored = torch.load(fixtures.EXPECTED_DIR / f"{topic}.pt", weights_only=True)
    assert stored.keys() == fresh.keys()
    drifted = [key for key in fresh if not _same(stored[key], fresh[key])]
    assert not drifted, drifted[:5]


def test_a_case_without_stored_values_is_a_wrong_argument():
    """Does asking for a case that was never stored raise a ValueError naming the argument?"""
    with pytest.raises(CheckArgumentError, match="seed"):
        fixtures.expected("training", "epoch/seed=99")
    result = visualization.check_occlusion_values(lambda *a, **k: None, seed=0)
    assert not result.passed
    with pytest.raises(ValueError, match="seed"):
        visualization.check_occlusion_values(lambda *a, **k: None, seed=7)


def test_strict_float():
    """Does as_float(strict=True) refuse tensors and ints but accept python floats?"""
    assert fixtures.as_float("x", 0.5, strict=True) == 0.5
    assert fixtures.as_float("x", torch.tensor(0.5)) == 0.5
    for bad in (torch.tensor(0.5), 1, True):
        with pytest.raises(Exception, match="expected a"):
            fixtures.as_float("x", bad, strict=True)


def test_ties_in_top_k_are_accepted():
    """Is any order among equal top-k values accepted, and a real reordering refused?"""
    values = torch.tensor([3.0, 2.0, 2.0, 1.0])
    want = torch.tensor([[0, 0, 0], [1, 1, 1], [2, 2, 2], [3, 3, 3]])
    swapped_tie = want[[0, 2, 1, 3]]
    assert visualization._tie_order(values, want, swapped_tie) is not None
    assert visualization._tie_order(values, want, want[[1, 0, 2, 3]]) is None
    assert visualization._tie_order(values, want, want[:, [0, 2, 1]] + 5) is None
