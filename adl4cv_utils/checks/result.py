"""What did a check find? The result type every grader returns, and its comparison helpers.

A check is a function decorated with ``@run_check(name)``. Its body raises ``CheckFailed`` with
a message (and expected / got / max difference) when the student's code is wrong; any other
exception escaping the body came from the student's code and becomes a failed result carrying
the traceback, so a broken submission never crashes the notebook or the grader.
"""

from __future__ import annotations

import contextlib
import functools
import html
import random
import time
import traceback
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch


class CheckFailed(Exception):
    """Raised inside a check when the student's code gives a wrong answer."""

    def __init__(self, message: str, expected: Any = None, got: Any = None, max_diff: float | None = None):
        super().__init__(message)
        self.message, self.expected, self.got, self.max_diff = message, expected, got, max_diff


@dataclass
class CheckResult:
    """The outcome of one check: passed or not, why, and the numbers behind it."""

    name: str
    passed: bool
    message: str = ""
    expected: str | None = None
    got: str | None = None
    max_diff: float | None = None
    seconds: float = 0.0
    traceback: str | None = None

    def summary(self) -> str:
        """A readable line (and, on failure, the expected / got lines)."""
        head = f"{'PASS' if self.passed else 'FAIL'}  {self.name}"
        extra = [f"max diff {self.max_diff:.2e}"] if self.max_diff is not None else []
        extra.append(f"{self.seconds:.2f} s")
        line = f"{head} ({', '.join(extra)})"
        if self.message:
            line += f": {self.message}"
        if not self.passed:
            if self.expected is not None:
                line += f"\n  expected: {self.expected}"
            if self.got is not None:
                line += f"\n  got:      {self.got}"
            if self.traceback:
                line += "\n" + self.traceback.rstrip()
        return line

    __str__ = summary

    def to_dict(self) -> dict:
        return asdict(self)

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        rows = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td><pre style='margin:0'>{html.escape(str(v))}</pre></td></tr>"
            for k, v in (
                ("expected", self.expected),
                ("got", self.got),
                ("max diff", self.max_diff),
                ("traceback", self.traceback),
            )
            if v is not None
        )
        return (
            f"<div style='border-left:4px solid {colour};padding:4px 8px'>"
            f"<b style='color:{colour}'>{'PASS' if self.passed else 'FAIL'}</b> {html.escape(self.name)} "
            f"<small>({self.seconds:.2f} s)</small><br>{html.escape(self.message)}"
            f"{'<table>' + rows + '</table>' if rows else ''}</div>"
        )

    def assert_passed(self) -> None:
        """Print the summary when passed; raise ``AssertionError`` with it otherwise (for test cells)."""
        if not self.passed:
            raise AssertionError(self.summary())
        print(self.summary())


def run_check(name: str):
    """Decorate a check body so that it always returns a CheckResult, whatever the student's code does.

    The body returns a message, or ``(message, max_diff)``, when the student's code is right. The
    global random state of torch (CPU and CUDA), NumPy and ``random`` is the same after the check as
    before it, so a self-check never changes the student's own seeded runs.
    """

    def decorate(body):
        @functools.wraps(body)
        def wrapper(*args, **kwargs) -> CheckResult:
            start = time.perf_counter()
            try:
                with _kept_rng():
                    outcome = body(*args, **kwargs)
                message, max_diff = outcome if isinstance(outcome, tuple) else (outcome or "", None)
                result = CheckResult(name, True, message, max_diff=max_diff)
            except CheckArgumentError:
                raise  # a wrong argument to the check itself: the caller must see it
            except CheckFailed as fail:
                result = CheckResult(name, False, fail.message, short(fail.expected), short(fail.got), fail.max_diff)
            except Exception as error:  # noqa: BLE001 - the student's code may raise anything
                result = _from_student_exception(name, error)
            result.seconds = time.perf_counter() - start
            return result

        return wrapper

    return decorate


@contextlib.contextmanager
def _kept_rng():
    """Restore the global RNG states of torch, NumPy and ``random`` on exit."""
    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        # CUDA's generators only when CUDA is already in use: a check must not start a CUDA context
        cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_initialized() else []
        with torch.random.fork_rng(devices=cuda):
            yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


class CheckArgumentError(ValueError):
    """A wrong argument passed to a check (not the student's fault)."""


def _from_student_exception(name: str, error: BaseException) -> CheckResult:
    if isinstance(error, NotImplementedError):
        message = "not implemented yet (your code raised NotImplementedError)"
    else:
        message = f"your code raised {type(error).__name__}: {error}"
    frames = traceback.format_exception(type(error), error, error.__traceback__)
    return CheckResult(name, False, message, traceback="".join(frames[-4:]) if frames else None)


def construct(cls, *args, contract: str, **kwargs) -> torch.nn.Module:
    """``cls(*args, **kwargs)`` for a student's module class; CheckFailed when the constructor does not take
    these arguments (naming ``contract``, the arguments it must accept) or the object is not an nn.Module."""
    name = getattr(cls, "__name__", cls)
    try:
        module = cls(*args, **kwargs)
    except TypeError as error:
        call = ", ".join([*map(str, args), *(f"{k}={v}" for k, v in kwargs.items())])
        raise CheckFailed(f"{name}({call}) failed: {error}. The constructor must accept: {contract}") from error
    if not isinstance(module, torch.nn.Module):
        raise CheckFailed(f"{name} must be a subclass of nn.Module")
    return module


def short(value: Any, max_items: int = 6) -> str | None:
    """A compact text form of a value (first items of a tensor, with its shape)."""
    if value is None:
        return None
    if torch.is_tensor(value):
        flat = value.detach().reshape(-1)
        items = ", ".join(f"{v:.6g}" for v in flat[:max_items].tolist())
        more = ", ..." if flat.numel() > max_items else ""
        return f"tensor([{items}{more}]) shape={tuple(value.shape)}"
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 300 else text[:297] + "..."


def compare(what: str, expected: Any, got: Any, atol: float = 1e-6, rtol: float = 1e-5) -> float:
    """Raise CheckFailed naming ``what`` unless ``got`` matches the tensor ``expected``; return the max diff.

    Checks, in order: that ``got`` is a tensor, its shape, NaN/inf, then values within
    ``atol + rtol * |expected|``.
    """
    if not torch.is_tensor(got):
        raise CheckFailed(f"{what}: expected a tensor, got {type(got).__name__}", expected, got)
    if tuple(got.shape) != tuple(expected.shape):
        raise CheckFailed(
            f"{what}: wrong shape, expected {tuple(expected.shape)}, got {tuple(got.shape)}", expected, got
        )
    got_ = got.detach().to(dtype=torch.float64, device="cpu")
    exp_ = expected.detach().to(dtype=torch.float64, device="cpu")
    if not torch.isfinite(got_).all() and torch.isfinite(exp_).all():
        raise CheckFailed(f"{what}: contains NaN or inf", expected, got)
    diff = (got_ - exp_).abs()
    max_diff = float(diff.max()) if diff.numel() else 0.0
    if not torch.all(diff <= atol + rtol * exp_.abs()):
        raise CheckFailed(f"{what} differs", expected, got, max_diff)
    return max_diff


@contextlib.contextmanager
def hinted(hint):
    """Add "; looks like <hint()>" to a CheckFailed raised inside (``hint`` runs only then; '' adds nothing)."""
    try:
        yield
    except CheckFailed as fail:
        fail.message += looks_like(hint())
        raise


def looks_like(hint: str) -> str:
    """ "; looks like <hint>" to end a failure message, or '' when no known mistake fits."""
    return f"; looks like {hint}" if hint else ""
