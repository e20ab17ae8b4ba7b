"""Did the student's code use torch's own convolution or pooling? (exercise 03_convolution)

``forbid_builtins()`` is a context manager that, while the student's code runs, replaces torch's
convolution and pooling functions by ones that raise ``BuiltinUsed`` (and records the call):
on ``torch``, ``torch.nn.functional``, ``torch._C._nn``, ``torch.ops.aten``, the ``forward`` of the
``nn.Conv*``/``nn.*Pool*`` modules, and any alias of them in the student's own globals (``from
torch.nn.functional import conv2d as c``). Everything is restored on exit, also after an error.
``builtin_nodes(output)`` names convolution or pooling nodes in an output's autograd graph, which
catches the routes that cannot be patched (``torch._C._VariableFunctions``). Unfolding
(``F.unfold``, ``Tensor.unfold``) stays allowed: it is the recommended vectorised route.

Torch's references must be computed *outside* the context.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
import torch.nn.modules.conv as _conv_modules
import torch.nn.modules.pooling as _pool_modules
from torch import nn

_FORBIDDEN = re.compile(r"conv\d|conv_t|convolution|pool")
_ALLOWED = re.compile(r"^_convert|unpool_output_size|reorder_conv|quantized_")
_ATEN_OPS = (
    "conv1d",
    "conv2d",
    "conv3d",
    "convolution",
    "_convolution",
    "conv_transpose2d",
    "max_pool2d",
    "max_pool2d_with_indices",
    "avg_pool2d",
    "adaptive_avg_pool2d",
    "_adaptive_avg_pool2d",
    "adaptive_max_pool2d",
)
_GRAPH_NODE = re.compile(r"conv|pool", re.IGNORECASE)


class BuiltinUsed(RuntimeError):
    """Raised when the student's code calls torch's own convolution or pooling."""


def builtin_message(names: list[str]) -> str:
    """What the student reads when a forbidden function was called."""
    first = ", ".join(dict.fromkeys(names))
    return (
        f"your code calls {first}: torch's own convolution and pooling are not allowed in this exercise; "
        "build it from tensor operations (F.unfold or Tensor.unfold with a matrix product or max are fine)"
    )


def _targets() -> Iterator[tuple[object, str, str]]:
    """(owner, attribute, name shown to the student) of everything that gets patched."""
    for owner, label in ((F, "torch.nn.functional"), (torch, "torch"), (torch._C._nn, "torch._C._nn")):
        for name in dir(owner):
            if _FORBIDDEN.search(name) and not _ALLOWED.search(name) and callable(getattr(owner, name, None)):
                yield owner, name, f"{label}.{name}"
    for name in _ATEN_OPS:
        if hasattr(torch.ops.aten, name):
            yield torch.ops.aten, name, f"torch.ops.aten.{name}"
    for namespace in (_conv_modules, _pool_modules):
        for cls in vars(namespace).values():
            if isinstance(cls, type) and issubclass(cls, nn.Module) and cls.__module__ == namespace.__name__:
                for method in ("forward", "_conv_forward"):
                    if method in vars(cls):
                        yield cls, method, f"nn.{cls.__name__}.{method}"


def _student_globals(objects) -> list[dict]:
    """The global namespaces of the student's functions and classes (unique, by identity)."""
    found: dict[int, dict] = {}
    for obj in objects:
        functions = [obj]
        if isinstance(obj, type):
            functions = [v for c in obj.__mro__ if c.__module__ not in ("builtins",) for v in vars(c).values()]
        for fn in functions:
            fn = getattr(fn, "__func__", fn)
            g = getattr(fn, "__globals__", None)
            if isinstance(g, dict) and not g.get("__name__", "").startswith("torch"):
                found[id(g)] = g
    return list(found.values())


@contextmanager
def forbid_builtins(*student_objects, record: list | None = None):
    """Make torch's convolution and pooling raise ``BuiltinUsed`` inside the block; restore them after.

    ``student_objects`` (functions or classes) name the namespaces whose aliases are patched too;
    every forbidden call is appended to ``record`` (so a student's ``try/except`` cannot hide it).
    """
    calls = record if record is not None else []
    patched: list[tuple[object, str, object]] = []
    aliases: list[tuple[dict, str, object]] = []

    def forbidden(label: str):
        def raiser(*args, **kwargs):
            calls.append(label)
            raise BuiltinUsed(builtin_message([label]))

        return raiser

    try:
        originals: dict[int, str] = {}
        for owner, name, label in list(_targets()):
            original = getattr(owner, name)
            originals.setdefault(id(original), label)
            try:
                setattr(owner, name, forbidden(label))
            except (AttributeError, TypeError):  # a read-only slot: the graph check covers it
                continue
            patched.append((owner, name, original))
        for g in _student_globals(student_objects):
            for key, value in list(g.items()):
                if callable(value) and id(value) in originals:
                    aliases.append((g, key, value))
                    g[key] = forbidden(f"{originals[id(value)]} (imported as {key})")
        yield calls
    finally:
        for g, key, value in reversed(aliases):
            g[key] = value
        for owner, name, original in reversed(patched):
            setattr(owner, name, original)


def builtin_nodes(output, limit: int = 20000) -> list[str]:
    """Names of convolution / pooling nodes (e.g. ``ConvolutionBackward0``) in ``output``'s autograd graph."""
    roots = [t.grad_fn for t in (output if isinstance(output, (tuple, list)) else [output]) if torch.is_tensor(t)]
    seen, stack, found = set(), [r for r in roots if r is not None], []
    while stack and len(seen) < limit:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if _GRAPH_NODE.search(node.name()):
            found.append(node.name())
        stack.extend(n for n, _ in node.next_functions if n is not None)
    return list(dict.fromkeys(found))
