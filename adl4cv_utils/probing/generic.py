"""Generic probes: call a function of the notebook on the judge's arguments and return what it gives."""

from __future__ import annotations

from adl4cv_utils.probing import probe, student


@probe("generic.call")
def call(ns: dict, function: str, args: list, kwargs: dict | None = None):
    """``function(*args, **kwargs)`` as the notebook defines it (its return value, as plain data)."""
    return student(ns, function)(*args, **(kwargs or {}))
