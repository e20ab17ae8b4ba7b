"""Does CheckResult report, render and raise as promised, and does run_check contain student errors?"""

import pytest
import torch

from adl4cv_utils.checks import CheckArgumentError, CheckFailed, CheckResult, compare, run_check


@run_check("demo")
def demo_check(fn, scale: float = 1.0):
    if scale <= 0:
        raise CheckArgumentError(f"scale: expected a positive number, got {scale}")
    expected = torch.arange(4.0) * scale
    return "ok", compare("output", expected, fn(scale))


def test_pass_and_summary(capsys):
    """Does a right answer pass, print one line with the max difference, and render as HTML?"""
    result = demo_check(lambda s: torch.arange(4.0) * s + 1e-9)
    assert result.passed and result.max_diff == pytest.approx(1e-9, rel=0.1)
    result.assert_passed()
    line = capsys.readouterr().out
    assert line.startswith("PASS  demo (max diff") and line.count("\n") == 1
    assert "PASS" in result._repr_html_() and result.to_dict()["name"] == "demo"


def test_wrong_values_fail_with_expected_and_got():
    """Does a wrong answer fail with expected vs got, and assert_passed raise AssertionError with them?"""
    result = demo_check(lambda s: torch.arange(4.0) * s * 2)
    assert not result.passed and result.message == "output differs" and result.max_diff == pytest.approx(3.0)
    assert "expected: tensor([0, 1, 2, 3]) shape=(4,)" in result.summary()
    assert "got:      tensor([0, 2, 4, 6])" in result.summary()
    with pytest.raises(AssertionError, match="FAIL  demo"):
        result.assert_passed()


@pytest.mark.parametrize(
    "fn,message",
    [
        (lambda s: torch.zeros(3), "wrong shape, expected (4,), got (3,)"),
        (lambda s: [0, 1, 2, 3], "expected a tensor, got list"),
        (lambda s: torch.full((4,), float("nan")), "NaN or inf"),
    ],
)
def test_shape_type_nan(fn, message):
    """Are a wrong shape, a wrong type and NaN each reported as a failed result, not an exception?"""
    result = demo_check(fn)
    assert not result.passed and message in result.message


def test_student_exception_becomes_failed_result():
    """Does an exception in the student's code become a failed result with its traceback?"""

    def broken(s):
        raise KeyError("oops")

    result = demo_check(broken)
    assert not result.passed and "your code raised KeyError" in result.message
    assert "broken" in result.traceback
    stub = demo_check(lambda s: (_ for _ in ()).throw(NotImplementedError()))
    assert "not implemented yet" in stub.message


def test_wrong_argument_to_the_check_raises():
    """Is a wrong argument to the check itself a ValueError for the caller, not a student failure?"""
    with pytest.raises(ValueError, match="scale"):
        demo_check(lambda s: torch.zeros(4), scale=-1)


def test_check_failed_carries_fields():
    """Does CheckFailed keep the message and numbers it was given?"""
    fail = CheckFailed("m", expected=1, got=2, max_diff=1.0)
    assert (fail.message, fail.expected, fail.got, fail.max_diff) == ("m", 1, 2, 1.0)
    assert "FAIL" in CheckResult("x", False, "m").summary()


def test_a_check_leaves_the_global_rng_alone():
    """After a check that seeds and draws, are torch's, NumPy's and random's global states unchanged?"""
    import random

    import numpy as np

    from adl4cv_utils.checks import training

    torch.manual_seed(123)
    np.random.seed(5)
    random.seed(7)
    expected = (torch.rand(3), np.random.rand(2), random.random())
    torch.manual_seed(123)
    np.random.seed(5)
    random.seed(7)

    def dropout(p):
        np.random.rand(4)  # student code may draw from any generator
        random.random()
        return torch.nn.Dropout(p)

    assert training.check_dropout_train(dropout).passed
    got = (torch.rand(3), np.random.rand(2), random.random())
    assert torch.equal(got[0], expected[0]) and np.array_equal(got[1], expected[1]) and got[2] == expected[2]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_a_check_leaves_the_cuda_rng_alone():
    """With CUDA in use, does a check whose student code draws on the GPU leave CUDA's RNG state as it was?"""
    from adl4cv_utils.checks import training

    torch.cuda.manual_seed_all(3)
    before = torch.cuda.get_rng_state()

    def dropout(p):
        torch.rand(4, device="cuda")  # student code may draw from the GPU's generator
        return torch.nn.Dropout(p)

    assert training.check_dropout_train(dropout).passed
    assert torch.equal(torch.cuda.get_rng_state(), before)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU (on a CPU CUDA never starts)")
def test_a_check_does_not_start_cuda():
    """Does a check leave CUDA uninitialised when the student's code did not use it?"""
    from adl4cv_utils.checks import training

    was = torch.cuda.is_initialized()
    training.check_dropout_eval(torch.nn.Dropout)
    assert torch.cuda.is_initialized() == was
