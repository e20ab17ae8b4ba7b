"""What is a rules table? ``Rules``: one assignment's forbidden building blocks, and how a name is matched.

Name patterns of ``names`` and ``aten_ops``: an exact qualified name, or a prefix ending in ``*``
(``torch._foreach_*``). Patterns of ``units`` are prefixes (patterns.py). Op names are as
``torch.profiler`` reports them (``aten::convolution``).
"""

from __future__ import annotations

import sys
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
    blocks: tuple[str, ...] = ()  # library prefixes graded code may call directly (empty: any library)

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


# What every "write it yourself" assignment lists as its building blocks (``Rules.blocks``): Python
# itself (its standard library, ``sys.stdlib_module_names``), ``math`` and torch's public tensor API.
# Names under IMPLEMENTATION are how torch's public API is implemented (a call from the student's
# code lands there), not ready-made operations.
BUILDING_BLOCKS = ("torch.",)  # besides Python's standard library, which outside_blocks always allows
IMPLEMENTATION = ("torch._tensor.", "torch._tensor_str.", "torch._C.TensorBase.", "torch._C._TensorBase.")
IMPLEMENTATION += ("torch.autograd.grad_mode.", "torch.utils._contextlib.", "torch._jit_internal.", "torch._VF.")
IMPLEMENTATION += ("torch.nn.modules.module.Module._", "torch._C._nn.", "torch._C._special.", "torch._C._linalg.")
IMPLEMENTATION += ("torch._C._fft.", "torch._C._get_tracing_state", "torch.Tensor.__")
# Private torch modules that hold reference implementations, compilers or the dispatcher's switches.
PRIVATE_TORCH = ("torch._refs", "torch._prims", "torch._decomp", "torch._dynamo", "torch._inductor", "torch._ops")
PRIVATE_TORCH += ("torch._higher_order_ops", "torch._functorch", "torch._library", "torch._subclasses", "torch.library")
PRIVATE_TORCH += ("torch.utils._python_dispatch", "torch.utils.cpp_extension", "torch.ops", "torch._C._dispatch")
# What no graded code may call while it is tested: work moved where the recorder cannot follow it.
RUNTIME_ESCAPES = ("threading.", "_thread.", "concurrent.", "multiprocessing.", "subprocess.", "os.system", "os.fork")
RUNTIME_ESCAPES += ("adl4cv_utils.guard", "adl4cv_utils.probing", "adl4cv_grading", "torch._C._DisableTorch")
RUNTIME_ESCAPES += ("torch._C._ExcludeDispatchKeyGuard", "torch._C._pop_torch_dispatch", "torch._C._set_dispatch")
RUNTIME_ESCAPES += ("torch._C._unset_dispatch", "torch._C._push_on_torch_dispatch", "torch.utils._python_dispatch")


def _private(name: str) -> bool:
    last = name.rsplit(".", 1)[-1]
    return name.startswith(PRIVATE_TORCH) or (last.startswith("_") and not last.startswith("__"))


def outside_blocks(rules: Rules, unit: str, name: str) -> str:
    """``name`` when the graded ``unit`` called it directly and it is not one of ``rules.blocks``, else ''."""
    if not rules.blocks or unit not in rules.graded:
        return ""
    name = normalise(name)
    if name.startswith(IMPLEMENTATION) or ".probes." in name or name.startswith(rules.allowed or ("\0",)):
        return ""
    if name.split(".", 1)[0] in sys.stdlib_module_names:  # Python itself (warnings, time, random, ...)
        return ""
    if not name.startswith(rules.blocks) or (name.startswith("torch.") and _private(name)):
        return name
    return ""


def runtime_escape(name: str) -> str:
    """``name`` when a direct call of it moves work out of the grader's sight, else ''."""
    return name if normalise(name).startswith(RUNTIME_ESCAPES) else ""
