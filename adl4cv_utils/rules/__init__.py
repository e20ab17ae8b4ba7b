"""What may graded code not use? One rules table per assignment (tables.py), plus the escapes of all.

``rules_for(assignment)`` is the assignment's ``Rules``; ``forbidden(assignment, unit, name)`` is the
rule that forbids the qualified ``name`` (a name the source reaches, or a Python function, torch
builtin or aten operator the kernel's trace saw) to the graded ``unit``, or ''. ``ESCAPES`` holds what
no assignment's graded code may use (escapes.py). The judge (instructor/adl4cv_grading/static.py and
ruling.py) enforces exactly this; the notebooks state it in words.
"""

from __future__ import annotations

from adl4cv_utils.rules.escapes import DYNAMIC_ATTRIBUTE, ESCAPES, REASONS
from adl4cv_utils.rules.model import (
    BUILDING_BLOCKS,
    Rules,
    forbidden_by,
    matches,
    normalise,
    outside_blocks,
    runtime_escape,
)
from adl4cv_utils.rules.tables import RULES

__all__ = [
    "BUILDING_BLOCKS",
    "outside_blocks",
    "runtime_escape",
    "DYNAMIC_ATTRIBUTE",
    "ESCAPES",
    "REASONS",
    "RULES",
    "Rules",
    "forbidden",
    "not_a_block",
    "matches",
    "normalise",
    "rules_for",
]


def rules_for(assignment: str) -> Rules:
    """The rules of ``assignment`` (e.g. ``"03_convolution"``)."""
    if assignment not in RULES:
        raise ValueError(f"assignment: expected one of {sorted(RULES)}, got {assignment!r}")
    return RULES[assignment]


def not_a_block(assignment: str, unit: str, name: str) -> str:
    """``name`` when ``unit`` of ``assignment`` may not call it directly (not a listed building block), else ''."""
    rules = RULES.get(assignment)
    return outside_blocks(rules, unit, name) if rules is not None else ""


def forbidden(assignment: str, unit: str, name: str) -> str:
    """The rule that forbids ``name`` to ``unit`` of ``assignment``, or '' (an unknown assignment forbids nothing)."""
    rules = RULES.get(assignment)
    return forbidden_by(rules, unit, name) if rules is not None else ""
