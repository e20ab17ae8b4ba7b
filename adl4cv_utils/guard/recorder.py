"""What ran while a probe called the student's code? Recorded by code the student's code cannot reach.

``Recorder`` is a profile function (``sys.setprofile``) plus a ``TorchDispatchMode``, both installed
by the guard's audit hook only for the duration of one probe (the window, hook.py). It records:

* ``python``: library Python functions that ran (file under the interpreter's prefixes), from any
  frame, first-time imports included (only module and class bodies are skipped, they are not calls);
* ``builtins``: library builtins called from Python code (``torch.conv2d``, ``torch._C._nn...``);
* ``boundary``: the library functions and builtins that the student's own code called directly
  (its frames are those whose file is not a library file: notebook cells, ``exec``-ed text, modules
  the notebook wrote), which the judge checks against the notebook's building blocks;
* ``ops``: the aten operators that reached the dispatcher.

It never calls a method of an object the student's code made (no ``__name__`` of an unknown
object, no ``str`` subclass methods): names come from code objects and from C-level descriptors, so
the profile function cannot raise, and a profile function that did raise would be noticed: the
hook checks at the end of the window that ``sys.getprofile()`` and the dispatch mode are still its own.
"""

from __future__ import annotations

import os
import sys
import types

import torch
from torch.utils._python_dispatch import TorchDispatchMode

_TYPE_MODULE = type.__dict__["__module__"].__get__
_TYPE_QUALNAME = type.__dict__["__qualname__"].__get__
_MODULE = types.ModuleType
_BUILTIN = types.BuiltinFunctionType
LIBRARY_TOPS = ("torch", "torchvision", "numpy", "scipy", "sklearn", "skimage", "PIL", "cv2", "einops", "jax")
LIBRARY_TOPS += ("adl4cv_utils",)
TRUSTED = ("adl4cv_utils.guard", "adl4cv_utils.probing", "adl4cv_utils.checks")  # the judge's own probes
# Python functions that torch's C++ calls back while it dispatches (no Python frame between it and the
# student's): not calls the student's code made.
CALLBACKS = ("torch._library.simple_registry.find_torch_dispatch_rule",)
CALLBACK_METHODS = (".__torch_dispatch__", ".__torch_function__")
PROBES = ".probes."  # the judge's probe modules (adl4cv_utils.checks.<topic>.probes)


def library_roots() -> tuple[str, ...]:
    """The folders whose files are library code: the interpreter's prefixes and the course package."""
    import adl4cv_utils

    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(adl4cv_utils.__file__)}
    roots |= {os.path.realpath(r) for r in roots}
    return tuple(sorted(r.rstrip(os.sep) + os.sep for r in roots if r and r != os.sep))


_STDLIB = f"{os.sep}python{sys.version_info[0]}.{sys.version_info[1]}{os.sep}"


def _module_name(filename: str) -> str:
    """``torch.optim.adam`` for ``.../site-packages/torch/optim/adam.py`` ('' when it has no module name)."""
    if filename.startswith("<frozen "):
        return filename[len("<frozen ") : -1]
    for marker in ("site-packages" + os.sep, "dist-packages" + os.sep, "adl4cv_utils" + os.sep, _STDLIB):
        at = filename.rfind(marker)
        if at >= 0:
            rel = filename[at + (0 if marker.startswith("adl4cv") else len(marker)) :]
            return rel.removesuffix(".py").replace(os.sep, ".").removesuffix(".__init__")
    return ""


def _owner(fn) -> str | None:
    """The module or class a builtin belongs to, read from C-level slots only (None when unknown)."""
    module = fn.__module__  # a member of the C function object: no code runs
    if type(module) is str:
        return module
    owner = fn.__self__
    if type(owner) is _MODULE:
        name = owner.__dict__.get("__name__")
        return name if type(name) is str else None
    cls = owner if isinstance(owner, type) else type(owner)
    module, qualname = _TYPE_MODULE(cls), _TYPE_QUALNAME(cls)
    if type(module) is str and type(qualname) is str:
        return f"{module}.{qualname}"
    return None


class _Ops(TorchDispatchMode):
    def __init__(self, seen: set[str]):
        super().__init__()
        self._seen_ops = seen

    def __torch_dispatch__(self, func, types_, args=(), kwargs=None):
        self._seen_ops.add("aten::" + func._schema.name.removeprefix("aten::"))
        return func(*args, **(kwargs or {}))


class Recorder:
    """The profile function and dispatch mode of one window; ``as_dict()`` is the plain-data trace."""

    def __init__(self, roots: tuple[str, ...]):
        self.roots = roots
        self.python: set[str] = set()
        self.builtins: set[str] = set()
        self.boundary: set[str] = set()
        self.ops: set[str] = set()
        self._library: dict[str, object] = {}
        self._in_c: dict[
            int, int
        ] = {}  # student frame -> builtins it is calling now (their callbacks are not its calls)
        self.mode = _Ops(self.ops)

    def _file(self, filename: str) -> str | None:
        """None for the student's files (cells, exec-ed text, modules it wrote), else the library module name."""
        known = self._library.get(filename, self)
        if known is self:
            library = filename.startswith(self.roots) or filename.startswith("<frozen ")
            known = self._library[filename] = _module_name(filename) if library else None
        return known

    def profile(self, frame, event, arg):
        try:
            if event == "call":
                code = frame.f_code
                if not code.co_flags & 0x2:  # a module or class body runs: not a call
                    return
                module = self._file(code.co_filename)
                if not module or module.startswith("adl4cv_utils.guard"):  # the student's own, or the guard's
                    return
                name = f"{module}.{code.co_qualname}"
                if module.startswith(LIBRARY_TOPS) and not module.startswith(TRUSTED):
                    self.python.add(name)
                back = frame.f_back
                # callbacks from C, and the probes' own callables (a loss function the probe hands the student)
                callback = name.startswith(CALLBACKS) or name.endswith(CALLBACK_METHODS) or PROBES in name
                if back is not None and not callback and self._file(back.f_code.co_filename) is None:
                    if not self._in_c.get(id(back)):  # a call from C (print -> sys.stdout.write) is not the student's
                        self.boundary.add(name)
            elif event == "c_call" and type(arg) is _BUILTIN:
                owner = _owner(arg)
                if owner is None or owner.startswith(TRUSTED):  # the probes' own objects (copy.deepcopy of them)
                    return
                name = f"{owner}.{arg.__name__}"
                if owner.startswith(LIBRARY_TOPS):
                    self.builtins.add(name)
                if self._file(frame.f_code.co_filename) is None:
                    self._in_c[id(frame)] = self._in_c.get(id(frame), 0) + 1
                    if not owner.startswith("builtins"):
                        self.boundary.add(name)
            elif event in ("c_return", "c_exception") and type(arg) is _BUILTIN:
                if self._in_c.get(id(frame)):
                    self._in_c[id(frame)] -= 1
        except BaseException:  # noqa: BLE001 - a signal handler's exception lands here, never in CPython
            return

    def as_dict(self) -> dict[str, list[str]]:
        """The trace as plain data."""
        return {
            "python": sorted(self.python),
            "builtins": sorted(self.builtins),
            "boundary": sorted(self.boundary),
            "ops": sorted(self.ops),
        }


def torch_ready() -> None:
    """Import what the recorder needs before any student code (torch's dispatch machinery)."""
    torch.empty(0) + 0  # noqa: B018 - initialise torch's lazy state outside any window
    torch.cuda.is_available()
    torch.cuda.device_count()
