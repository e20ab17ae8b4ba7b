"""Judge of ``00_tiny``, the grader's self-test assignment (tests/grading/tiny.py): ``add`` and ``mul``.

A torch-free assignment whose kernels start in well under a second, so that the grading tests can
exercise limits, sandbox and failures quickly, with the points still decided by the judge.
"""

from __future__ import annotations

from adl4cv_grading.judge_tests import Context, judge_test
from adl4cv_utils.checks.result import CheckFailed


def _cases(ctx: Context, salt: str) -> list[tuple[int, int]]:
    pairs = [(ctx.randint(-1000, 1000, f"{salt}a{i}"), ctx.randint(-1000, 1000, f"{salt}b{i}")) for i in range(4)]
    return [*pairs, (0, ctx.randint(1, 100, salt))]


def _check(ctx: Context, name: str, op) -> str:
    for a, b in _cases(ctx, name):
        got = ctx.probe("generic.call", function=name, args=[a, b])
        if type(got) not in (int, float) or got != op(a, b):
            raise CheckFailed(f"{name}({a}, {b}) is wrong", expected=op(a, b), got=got)
    return f"{name} is right on 5 secret cases"


@judge_test("test_add", "add")
def test_add(ctx: Context):
    return _check(ctx, "add", lambda a, b: a + b)


@judge_test("test_mul", "mul")
def test_mul(ctx: Context):
    return _check(ctx, "mul", lambda a, b: a * b)
