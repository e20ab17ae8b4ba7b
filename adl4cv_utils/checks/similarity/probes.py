"""Probes of 08_similarity: call the student's loss on the judge's inputs (the loss, its graph, its gradients).

``outcome`` (cases.py) is the same harness the self-checks use: fresh leaves for the float inputs, the
student's raw return value, whether it is connected to them, and their gradients after ``backward``.
"""

from __future__ import annotations

from adl4cv_utils.checks.similarity.cases import GRADED, outcome
from adl4cv_utils.probing import probe, student


@probe("similarity.loss")
def loss(ns: dict, fn: str, inputs: list, kwargs: dict | None = None) -> dict:
    """``fn(*inputs, **kwargs)`` for one of the graded losses: its outcome as plain data."""
    if fn not in GRADED:
        raise ValueError(f"fn: expected one of {GRADED}, got {fn!r}")
    return outcome(student(ns, fn), tuple(inputs), dict(kwargs or {}))
