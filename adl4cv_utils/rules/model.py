"""What is a rules table? ``Rules``: one assignment's forbidden building blocks, and how a name is matched.

Name patterns of ``names`` and ``aten_ops``: an exact qualified name, or a prefix ending in ``*``
(``torch._foreach_*``). Patterns of ``units`` are prefixes (patterns.py). Op names are as
``torch.profiler`` reports them (``aten::convolution``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fnmatch import fnmatchcase


@dataclass(frozen=True)
class Rules:
    """The forbidden building blocks of one assignment's graded names."""

    assignment: str
    graded: tuple[str, ...]  # the names the rules apply to (what the student writes)
    statement: str  # the sentence in the notebook's introduction
    names: tuple[str, ...] = ()  # qualified names that may not be referenced (aliases resolved)
    aten_ops: tuple[str, ...] = ()  # torch ops that may not run while a graded name runs
    modules: tuple[str, ...] = ()  # Python modules whose code may not run while a graded name runs
    functions: tuple[str, ...] = ()  # qualified functions whose code may not run while a graded name runs
    units: dict[str, tuple[str, ...]] = field(default_factory=dict)  # the judge's prefix patterns per graded name
    allowed: tuple[str, ...] = ()  # prefixes that no pattern forbids (e.g. the required base class)

    def forbids_name(self, name: str) -> bool:
        """Does a pattern in ``names`` match the qualified ``name``?"""
        return any(fnmatchcase(name, pattern) for pattern in self.names)

    def forbids_op(self, op: str) -> bool:
        """Does a pattern in ``aten_ops`` match the op name ``op`` (``aten::...``)?"""
        return any(fnmatchcase(op, pattern) for pattern in self.aten_ops)


def matches(name: str, rule: str) -> bool:
    """Does the qualified name ``name`` fall under ``rule``? (".x" rules match an attribute named x.)"""
    if rule.startswith("."):
        last = name.rsplit(".", 1)[-1]
        return last in (rule[1:], rule[1:] + "_")
    return name.startswith(rule)


def normalise(name: str) -> str:
    """One spelling for names seen in traces (torch's builtins live on ``_VariableFunctionsClass``)."""
    return name.replace("torch._VariableFunctionsClass.", "torch.").replace("torch._C._VariableFunctions.", "torch.")


def forbidden_by(rules: Rules, unit: str, name: str) -> str:
    """The rule of ``rules`` that forbids ``name`` to ``unit``, or '' (the unit's patterns, then the stated names)."""
    name = normalise(name)
    if any(name.startswith(ok) for ok in rules.allowed):
        return ""
    for rule in rules.units.get(unit, ()):
        if matches(name, rule):
            return rule
    if unit not in rules.graded:
        return ""
    if name.startswith("aten::"):
        return name if rules.forbids_op(name) else ""
    code = (*rules.modules, *rules.functions)
    if rules.forbids_name(name) or any(name == c or name.startswith(c + ".") for c in code):
        return name
    return ""
