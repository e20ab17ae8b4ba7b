"""What may not run while a probe tests a graded name? Made unusable for the window, not merely noticed.

``Enforcement.for_rules(rules)`` resolves, once and before any student code runs, an assignment's
forbidden building blocks (``adl4cv_utils.rules``) into

* the aten operators its ``aten_ops`` patterns name: for the window each gets a kernel that raises
  (``torch._C._dispatch_library``, at every dispatch key where the operator has a kernel), so every
  path to the operator fails, from Python, from C, from ``torch.ops``, with the Python dispatch key
  disabled; the registration handle lives only in the guard, so student code cannot deregister it;
* the Python functions its ``names``, ``modules`` and ``functions`` name (and the methods of the
  classes they name): for the window their ``__code__`` is a stub that raises, and the audit hook
  refuses any other change of a library function's code.

Both raise ``RuleError`` with a message that names the rule ("torch.optim.Adam may not be used in
02_optimizers"). Outside the window everything works: the notebook's experiments may compare with
torch's own implementations.
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings
from fnmatch import fnmatchcase

import torch

from adl4cv_utils.rules.model import Rules

_KEYS = ("CPU", "CUDA", "MPS", "CompositeExplicitAutograd", "CompositeImplicitAutograd")


class RuleError(RuntimeError):
    """A forbidden building block was called while the grader tested a graded name."""


def _resolve(name: str):
    """The object a qualified name names (None when it does not exist)."""
    parts = name.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr, None)
            if obj is None:
                return None
        return obj
    return None


def _functions_of(obj, filename: str | None = None):
    """Python functions of a function, a class (its own methods) or a module (those defined in it), written in
    ``filename`` (a class's own module file by default): never the shared machinery a class dict also holds
    (an Enum's ``__new__``, a dataclass's helpers)."""
    if isinstance(obj, types.FunctionType):
        if filename is None or obj.__code__.co_filename == filename:
            yield obj
    elif isinstance(obj, (staticmethod, classmethod, property)):
        for part in (getattr(obj, "__func__", None), getattr(obj, "fget", None), getattr(obj, "fset", None)):
            if isinstance(part, types.FunctionType):
                yield from _functions_of(part, filename)
    elif isinstance(obj, type):
        home = filename or getattr(sys.modules.get(obj.__module__), "__file__", None)
        for value in list(vars(obj).values()):
            if not isinstance(value, type):
                yield from _functions_of(value, home or "\0")
    elif isinstance(obj, types.ModuleType):
        for value in list(vars(obj).values()):
            if isinstance(value, type) and getattr(value, "__module__", None) == obj.__name__:
                yield from _functions_of(value, filename)
            elif isinstance(value, types.FunctionType):
                yield from _functions_of(value, filename)


def _stub(code: types.CodeType, message: str) -> types.CodeType:
    """A code object that raises ``message`` and has ``code``'s free variables (``__code__`` needs them)."""
    free = code.co_freevars
    body = "".join(f"    {v} = None\n" for v in free)
    body += "    def stub(*args, **kwargs):\n" + "".join(f"        {v}\n" for v in free)
    body += f"        raise RuntimeError({message!r})\n    return stub\n"
    namespace: dict = {}
    exec(compile("def outer():\n" + body, "<adl4cv guard stub>", "exec"), namespace)  # noqa: S102 - our own text
    stub = namespace["outer"]().__code__
    # the original's names and file: the recorder names the stub's run as the forbidden function's
    return stub.replace(co_name=code.co_name, co_qualname=code.co_qualname, co_filename=code.co_filename)


def _signature(fn):
    import inspect

    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


class Enforcement:
    """One assignment's forbidden functions and operators, switched on for a window and off after it."""

    def __init__(self, assignment: str, functions: list, ops: list[str]):
        self.assignment = assignment
        self.swaps = functions  # [(function, original code, stub code, original signature)]
        self.ops = ops
        self._library = None

    @classmethod
    def for_rules(cls, rules: Rules) -> Enforcement:
        """Resolve ``rules`` (imports the modules it names)."""
        found: dict[int, tuple] = {}
        targets = [(n.removesuffix(".*"), n) for n in (*rules.names, *rules.functions) if "*" not in n[:-2]]
        targets += [(m, m) for m in rules.modules]
        for name, shown in targets:
            obj = _resolve(name)
            filename = getattr(obj, "__file__", None)
            for fn in _functions_of(obj, filename) if obj is not None else ():
                message = f"{shown.removesuffix('.*')} may not be used in {rules.assignment} (the notebook's rules)"
                found.setdefault(id(fn), (fn, fn.__code__, _stub(fn.__code__, message), _signature(fn)))
        names = torch._C._dispatch_get_all_op_names()
        ops = sorted(n for n in names if rules.forbids_op(n.split(".")[0]) and not n.endswith("_available"))
        return cls(rules.assignment, list(found.values()), ops)

    def files(self) -> frozenset[str]:
        """The files of the forbidden Python functions (the hook refuses to run them anew)."""
        return frozenset(swap[1].co_filename for swap in self.swaps)

    def on(self) -> None:
        """Forbid: stubs in, raising kernels registered."""
        for fn, _, stub, signature in self.swaps:
            fn.__code__ = stub
            if signature is not None and "__signature__" not in fn.__dict__:
                fn.__signature__ = signature  # what inspect shows stays the original's
        message = f"this torch operator may not be used in {self.assignment} (the notebook's rules)"

        def refuse(*args, **kwargs):
            raise RuntimeError(message)

        self._library = torch._C._dispatch_library("IMPL", "aten", "", "<adl4cv guard>", 0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for op in self.ops:
                for key in _KEYS:
                    if torch._C._dispatch_has_kernel_for_dispatch_key(op, key):
                        self._library.impl(op.split("::", 1)[1], key, refuse, False)

    def off(self) -> None:
        """Allow again: the original code back, the kernels deregistered."""
        for fn, original, _, signature in self.swaps:
            fn.__code__ = original
            if signature is not None and fn.__dict__.get("__signature__") is signature:
                del fn.__signature__
        library, self._library = self._library, None
        if library is not None:
            library.reset()


def matches_any(name: str, patterns) -> bool:
    """Does ``name`` match one of the fnmatch ``patterns``?"""
    return any(fnmatchcase(name, p) for p in patterns)
