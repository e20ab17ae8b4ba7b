"""Does the judge enforce every rule the notebooks state (adl4cv_utils.rules), and allow what they allow?"""

from __future__ import annotations

import re

import pytest

from adl4cv_utils import rules

CASES = [
    (a, unit, name)
    for a, r in rules.RULES.items()
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


def test_each_table_states_every_name_it_has_patterns_for():
    """Does every graded name get the judge's patterns, and does the statement name every unit that has them?"""
    for assignment, table in rules.RULES.items():
        assert set(table.graded) <= set(table.units), assignment
        unstated = [u for u in table.units if u not in table.graded and f"`{u}`" not in table.statement]
        assert not unstated, (assignment, unstated)


ALIASES = {"F.": "torch.nn.functional.", "nn.": "torch.nn.", "Tensor.": "torch.Tensor."}


def _stated(statement: str) -> tuple[list[str], list[str]]:
    """The qualified names a statement forbids and allows, from its `code` spans: what comes before its first
    ": no" is what the code is built from (allowed), then the forbidden list up to "Allowed:", then allowed."""
    head, _, rest = statement.partition(": no ") if not statement.startswith("No ") else ("", "", statement)
    forbidden_part, _, allowed_part = rest.partition("Allowed:")
    allowed_part = head + " " + allowed_part

    def names(text):
        out = []
        for span in re.findall(r"`([^`]+)`", text):
            for name in re.split(r"\s*/\s*|\s+", span.replace("()", "")):
                if name.startswith("."):
                    name = "torch.Tensor" + name
                for short, full in ALIASES.items():
                    name = full + name[len(short) :] if name.startswith(short) else name
                if re.fullmatch(r"(torch|adl4cv_utils)(\.\w+)*", name) and name != "torch":
                    out.append(name)
        return out

    return names(forbidden_part), names(allowed_part)


STATED = [(a, n, True) for a, t in rules.RULES.items() for n in _stated(t.statement)[0]]
STATED += [(a, n, False) for a, t in rules.RULES.items() for n in _stated(t.statement)[1]]


@pytest.mark.parametrize("assignment, name, forbids", STATED, ids=[f"{a}:{n}" for a, n, _ in STATED])
def test_the_statement_and_the_enforcement_agree(assignment, name, forbids):
    """Is each name a notebook's statement forbids forbidden to every graded name, and each it allows allowed?"""
    table = rules.RULES[assignment]
    # a module forbids what lies in it (`torch.autograd` is torch.autograd.grad and the rest)
    verdicts = {
        u: bool(rules.forbidden(assignment, u, name) or rules.forbidden(assignment, u, f"{name}.x"))
        for u in table.graded
    }
    assert all(v == forbids for v in verdicts.values()), verdicts
