"""How is a judge test written? ``@judge_test(grade_id, unit=...)`` on a function of a Context.

A judge test has the grade_id of the notebook test cell it scores. It returns a message (or
``(message, max_diff)``) when the student's code earns the cell's points and raises
``CheckFailed`` otherwise, exactly like a self-check; ``ctx.probe`` runs a probe in the grading kernel.
``unit`` names the graded name(s) whose delegation rules apply to the cell (rules.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from adl4cv_utils.checks.result import CheckFailed


@dataclass(frozen=True)
class JudgeTest:
    grade_id: str
    units: tuple[str, ...]
    fn: Callable


TESTS: dict[str, dict[str, JudgeTest]] = {}  # exercise (topic) -> grade_id -> test


def judge_test(grade_id: str, unit: str | tuple[str, ...]):
    """Register the decorated function as the judge of test cell ``grade_id`` of its exercise's folder
    (``adl4cv_grading.exercises.<topic>.judge``)."""

    def register(fn: Callable) -> Callable:
        assignment = fn.__module__.split(".")[2]
        tests = TESTS.setdefault(assignment, {})
        if grade_id in tests:
            raise ValueError(f"grade_id: {grade_id!r} has two judge tests in {assignment}")
        tests[grade_id] = JudgeTest(grade_id, (unit,) if isinstance(unit, str) else tuple(unit), fn)
        return fn

    return register


class StudentError(CheckFailed):
    """The student's code raised (in the grading kernel) while a probe ran it."""


@dataclass
class Context:
    """What a judge test gets: a private random generator and the grading kernel to probe."""

    seed: int
    grade_id: str
    call: Callable[[str, dict], Any]  # (probe name, inputs) -> decoded reply
    traces: list[dict] = field(default_factory=list)
    tamper: list[str] = field(default_factory=list)  # what the guard refused or found changed while probing
    compiled: list = field(default_factory=list)  # [filename, source] of modules compiled outside the libraries

    def generator(self, salt: str = "") -> torch.Generator:
        """A generator seeded from the run's secret seed, the grade_id and ``salt`` (independent per use)."""
        digest = hashlib.sha256(f"{self.seed}:{self.grade_id}:{salt}".encode()).digest()
        return torch.Generator().manual_seed(int.from_bytes(digest[:8], "big") >> 1)

    def randint(self, low: int, high: int, salt: str = "") -> int:
        """An int in [low, high) drawn from the secret seed."""
        return int(torch.randint(low, high, (1,), generator=self.generator("int:" + salt)))

    def probe(self, name: str, **inputs) -> Any:
        """Run probe ``name`` in the grading kernel on ``inputs`` (plain data); its decoded value, or StudentError."""
        reply = self.call(name, inputs)
        if isinstance(reply.get("trace"), dict):
            self.traces.append(reply["trace"])
        self.tamper += [str(t) for t in reply.get("tamper") or () if isinstance(t, str)]
        if isinstance(reply.get("compiled"), list):
            self.compiled = reply["compiled"]  # the guard's whole list so far
        if not reply.get("ok"):
            error = str(reply.get("error", "")) or "the grading kernel gave no answer"
            first = error.splitlines()[0] if error else error
            if first.startswith("NotImplementedError"):
                raise StudentError("not implemented yet (your code raised NotImplementedError)")
            raise StudentError(f"your code raised {first[:500]}", got=error[-1500:])
        return reply.get("value")

    def describe(self, name: str, **inputs) -> dict:
        """``probe(name, **inputs)`` for a probe that answers with a description: the dict, {} for anything else."""
        reply = self.probe(name, **inputs)
        return reply if isinstance(reply, dict) else {}


def require_module(desc: dict, call: str, contract: str, not_module: str) -> None:
    """Fail as the self-checks do when a probe's description ``desc`` of the student's ``call`` (the
    constructor call, as text) says the constructor raised ("constructor_error", then ``contract`` says
    what it must take) or built no nn.Module (the message ``not_module``)."""
    if desc.get("constructor_error"):
        raise CheckFailed(f"{call} failed: {desc['constructor_error']}. {contract}")
    if not desc.get("is_module"):
        raise CheckFailed(not_module)
