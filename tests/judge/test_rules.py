"""Does the judge enforce every rule the notebooks state (adl4cv_utils.rules), and allow what they allow?"""

from __future__ import annotations

import pytest

from adl4cv_judge import rules
from adl4cv_utils.rules import RULES

CASES = [
    (a, unit, name)
    for a, r in RULES.items()
    for unit in r.graded
    for name in (*r.names, *r.aten_ops, *r.modules, *r.functions)
    if "*" not in name
]


@pytest.mark.parametrize("assignment, unit, name", CASES)
def test_every_stated_rule_is_enforced(assignment, unit, name):
    """Is each name the notebook forbids to a graded unit forbidden by the judge too?"""
    assert rules.forbidden(assignment, unit, name), (assignment, unit, name)


@pytest.mark.parametrize(
    "assignment, unit, name",
    [
        ("02_optimizers", "Adam", "torch.optim.optimizer.Optimizer.zero_grad"),
        ("03_convolution", "conv2d", "torch.nn.functional.unfold"),
        ("03_convolution", "conv2d", "aten::im2col"),
        ("05_attention", "MultiHeadAttention", "torch.nn.functional.linear"),
        ("05_attention", "scaled_dot_product_attention", "aten::_softmax"),
        ("04_resnet", "BasicBlock", "aten::convolution"),
        ("06_training", "Dropout", "aten::bernoulli_"),
    ],
)
def test_allowed_building_blocks_stay_allowed(assignment, unit, name):
    """Are the building blocks the notebooks allow never flagged?"""
    assert not rules.forbidden(assignment, unit, name)


def test_rules_apply_to_their_unit_only():
    """Does a rule of one unit leave other units alone (06: only Dropout may not use torch's dropout)?"""
    assert rules.forbidden("06_training", "Dropout", "aten::native_dropout")
    assert not rules.forbidden("06_training", "train_one_epoch", "aten::native_dropout")
