"""Probes: harnesses that call the student's code on the judge's inputs and return raw outputs.

A probe is ``fn(namespace, **inputs) -> plain data`` registered with ``@probe("topic.name")``;
``namespace`` holds the notebook's globals at the test cell's position. Probes contain no answer
and no verdict: they only construct, call and record (and run backward passes with the judge's
output gradients), so the judge can compare with references it computes itself.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable

PROBES: dict[str, Callable] = {}


def probe(name: str):
    """Register ``fn`` as the probe ``name`` (``"<topic>.<what>"``)."""

    def register(fn: Callable) -> Callable:
        if name in PROBES:
            raise ValueError(f"name: probe {name!r} is registered twice")
        PROBES[name] = fn
        return fn

    return register


def student(namespace: dict, name: str):
    """The object the notebook binds to ``name`` (NameError, as in the notebook, when it is missing)."""
    if not isinstance(name, str) or name not in namespace:
        raise NameError(f"name {name!r} is not defined in your notebook")
    return namespace[name]


def _register_all() -> None:
    """Import the generic probes and every exercise's ``adl4cv_utils.checks.<topic>.probes``."""
    from adl4cv_utils.assignments import topics

    for module in (f"{__name__}.generic", *(f"adl4cv_utils.checks.{t}.probes" for t in topics())):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as error:  # an exercise without probes yet
            if error.name != module:
                raise


_register_all()
