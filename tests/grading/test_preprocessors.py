"""Do the course's nbgrader preprocessors and limits do what nbgrader's defaults would not?"""

from __future__ import annotations

import nbformat
import pytest

from adl4cv_grading.execute import LimitedExecute, limit_reasons
from adl4cv_grading.limits import Limits
from adl4cv_grading.preprocessors import (
    HIDDEN_PLACEHOLDER,
    HideHiddenTests,
    StderrToStdout,
    autograde_preprocessors,
    feedback_preprocessors,
)


def test_stderr_becomes_stdout():
    """Does a warning on stderr turn into stdout (nbgrader scores stderr as a failure), errors untouched?"""
    c = nbformat.v4.new_code_cell(
        "x",
        outputs=[
            nbformat.v4.new_output("stream", name="stderr", text="Warn\n"),
            nbformat.v4.new_output("error", ename="E", evalue="v", traceback=[]),
        ],
    )
    StderrToStdout().preprocess_cell(c, {}, 0)
    assert c.outputs[0].name == "stdout" and c.outputs[0].text == "Warn\n" and c.outputs[1].output_type == "error"
    assert StderrToStdout().enabled and HideHiddenTests().enabled


def test_hidden_tests_leave_feedback():
    """Are hidden test lines and their traceback removed, visible lines kept?"""
    source = "# Hidden tests (3 points)\n### BEGIN HIDDEN TESTS\nsecret_check(A)\n### END HIDDEN TESTS"
    error = nbformat.v4.new_output(
        "error",
        ename="AssertionError",
        evalue="FAIL  x",
        traceback=["----", "secret_check(A)", "AssertionError: FAIL  x"],
    )
    c = nbformat.v4.new_code_cell(source, outputs=[error])
    HideHiddenTests().preprocess_cell(c, {}, 0)
    assert "secret_check" not in c.source and HIDDEN_PLACEHOLDER in c.source and "Hidden tests" in c.source
    assert c.outputs[0].traceback == ["AssertionError: FAIL  x"]


def test_preprocessor_lists():
    """Is Execute replaced by JudgedExecute (a LimitedExecute) and StderrToStdout, HideHiddenTests first in feedback?"""
    names = [p.__name__ for p in autograde_preprocessors()]
    assert names[:2] == ["JudgedExecute", "StderrToStdout"] and "Execute" not in names
    assert "SaveAutoGrades" in names and feedback_preprocessors()[0] is HideHiddenTests
    assert issubclass(LimitedExecute, __import__("nbgrader.preprocessors", fromlist=["Execute"]).Execute)


def test_limit_reasons_read_back():
    """Are the limit markers left by LimitedExecute turned into readable reasons with cell numbers?"""
    err = lambda name, text: nbformat.v4.new_output("error", ename=name, evalue=text, traceback=[])  # noqa: E731
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell(
                "a", outputs=[nbformat.v4.new_output("stream", name="stdout", text="\nTRUNCATED by the grader: ...")]
            ),
            nbformat.v4.new_code_cell("b", outputs=[err("CellTimeoutError", "")]),
            nbformat.v4.new_code_cell("c", outputs=[err("KernelDied", "the kernel died")]),
            nbformat.v4.new_code_cell("d", outputs=[err("KernelDied", "not run: KernelDied")]),
        ]
    )
    reasons = limit_reasons(nb, 60)
    assert reasons == [
        "output of cell 1 was cut (too long); no points lost for it",
        "time limit: cell 2 ran longer than its limit and was interrupted",
        "the kernel died in cell 3 (the code ended its own process or ran out of memory); later cells were not run",
    ]


def test_limits_validate():
    """Do the limits refuse nonsense (naming the field), and start a command under the memory limit?"""
    for name in ("memory_mb", "cell_seconds", "processes", "file_mb", "scratch_mb", "interrupt_grace_seconds"):
        with pytest.raises(ValueError, match=name):
            Limits(**{name: 0})
    assert Limits(threads=2).environment()["OMP_NUM_THREADS"] == "2"
    assert Limits(memory_mb=2).prlimit_prefix() == ["prlimit", f"--data={2 * 2**20}", "--core=0", "--"]
