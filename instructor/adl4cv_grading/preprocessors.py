"""Which nbgrader preprocessors does the course change, and why?

* ``JudgedExecute`` (instructor/adl4cv_grading/execute.py) runs the notebook under the grading limits
  (``LimitedExecute``, execute.py) and has the judge rule on every test cell.
* ``StderrToStdout`` runs after execution: nbgrader gives zero points to a test cell with any
  stderr output, and PyTorch prints warnings there from correct code. Errors still fail a test
  because they are ``error`` outputs, not streams.
* ``HideHiddenTests`` runs before the feedback HTML is made: it replaces hidden test regions by a
  comment and trims tracebacks of those cells to the final error line, so feedback never shows
  the hidden tests' source.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

BEGIN_HIDDEN, END_HIDDEN = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
_HIDDEN_REGION = re.compile(re.escape(BEGIN_HIDDEN) + r".*?" + re.escape(END_HIDDEN), re.DOTALL)
HIDDEN_PLACEHOLDER = "# (hidden test: its source is not shown)"


class StderrToStdout(Preprocessor):
    """Turn every stderr stream output into stdout, keeping its text."""

    enabled = Bool(True).tag(config=True)  # nbconvert registers preprocessor classes disabled otherwise

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream" and output.get("name") == "stderr":
                output["name"] = "stdout"
        return cell, resources


class HideHiddenTests(Preprocessor):
    """Remove hidden test source and the traceback lines that would quote it."""

    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        if cell.get("cell_type") != "code" or BEGIN_HIDDEN not in cell.get("source", ""):
            return cell, resources
        cell["source"] = _HIDDEN_REGION.sub(HIDDEN_PLACEHOLDER, cell["source"])
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                output["traceback"] = [f"{output.get('ename', 'Error')}: {output.get('evalue', '')}"]
        return cell, resources


def autograde_preprocessors() -> list:
    """nbgrader's autograde preprocessors: JudgedExecute instead of Execute, then StderrToStdout."""
    from nbgrader.converters.autograde import Autograde
    from nbgrader.preprocessors import Execute

    from adl4cv_grading.execute import JudgedExecute  # the judge decides the points

    steps = list(Autograde.class_traits()["autograde_preprocessors"].default())
    at = steps.index(Execute)
    steps[at : at + 1] = [JudgedExecute, StderrToStdout]
    return steps


def feedback_preprocessors() -> list:
    """nbgrader's feedback preprocessors with HideHiddenTests first."""
    from nbgrader.converters.generate_feedback import GenerateFeedback

    return [HideHiddenTests, *GenerateFeedback.class_traits()["preprocessors"].default()]
