"""Which torch code ran while a probe called the student's code? Recorded for the judge to rule on.

Three views, because each alone can be dodged: Python functions of torch/torchvision that ran
(``sys.setprofile`` in this thread and in threads started meanwhile), torch builtins called from
Python (``c_call`` events, e.g. ``torch._C._nn.scaled_dot_product_attention``) and the aten
operators that reached the dispatcher (a ``TorchDispatchMode``). The trace is evidence, not a
verdict: the judge compares it with the assignment's rules (``adl4cv_utils.rules``) in its own
process, next to a static analysis of the source that the kernel cannot touch.
"""

from __future__ import annotations

import os
import sys
import threading

import torch
from torch.utils._python_dispatch import TorchDispatchMode

# Captured at import, before any student code runs in this process.
_setprofile = sys.setprofile
_thread_setprofile = threading.setprofile
_ROOTS = tuple(
    os.path.dirname(m.__file__) + os.sep
    for m in (torch, *(sys.modules[n] for n in ("torchvision",) if n in sys.modules))
    if getattr(m, "__file__", None)
)


def _module_of(filename: str) -> str | None:
    for root in _ROOTS:
        if filename.startswith(root):
            rel = filename[len(os.path.dirname(root.rstrip(os.sep))) + 1 :]
            return rel.removesuffix(".py").replace(os.sep, ".").removesuffix(".__init__")
    if "torchvision" in filename and filename.endswith(".py"):  # imported after this module
        rel = filename[filename.rindex("torchvision") :]
        return rel.removesuffix(".py").replace(os.sep, ".").removesuffix(".__init__")
    return None


class _Ops(TorchDispatchMode):
    def __init__(self, seen: set[str]):
        super().__init__()
        self.seen = seen

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.seen.add(f"aten::{func._schema.name.removeprefix('aten::')}")
        return func(*args, **(kwargs or {}))


class Trace:
    """``with Trace() as t: ...`` then ``t.as_dict()``: {"python": [...], "builtins": [...], "ops": [...]}."""

    def __init__(self):
        self.python: set[str] = set()
        self.builtins: set[str] = set()
        self.ops: set[str] = set()
        self._files: dict[str, str | None] = {}
        self._importing = 0

    def _profile(self, frame, event, arg):
        code = frame.f_code
        if code.co_name == "_find_and_load" and code.co_filename.startswith("<frozen importlib"):
            # a module imported for the first time runs its top level (classes, metaclasses): not a call
            self._importing += 1 if event == "call" else -1 if event == "return" else 0
            return
        if self._importing > 0:
            return
        if event == "call":
            module = self._files.get(code.co_filename, "?")
            if module == "?":
                module = self._files[code.co_filename] = _module_of(code.co_filename)
            if module is not None:
                self.python.add(f"{module}.{getattr(code, 'co_qualname', code.co_name)}")
        elif event == "c_call":
            owner = getattr(arg, "__module__", None) or getattr(getattr(arg, "__self__", None), "__name__", None)
            if isinstance(owner, str) and owner.startswith("torch"):
                self.builtins.add(f"{owner}.{getattr(arg, '__qualname__', getattr(arg, '__name__', '?'))}")

    def __enter__(self) -> Trace:
        self._mode = _Ops(self.ops)
        self._mode.__enter__()
        _thread_setprofile(self._profile)
        _setprofile(self._profile)
        return self

    def __exit__(self, *exc) -> None:
        _setprofile(None)
        _thread_setprofile(None)
        self._mode.__exit__(*exc)

    def as_dict(self) -> dict[str, list[str]]:
        return {"python": sorted(self.python), "builtins": sorted(self.builtins), "ops": sorted(self.ops)}
