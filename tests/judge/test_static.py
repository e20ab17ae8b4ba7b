"""Does the static analysis see delegation through aliases and escapes anywhere in the source?"""

from __future__ import annotations

import pytest

from adl4cv_grading.static import analyse

HONEST = """
import torch
class Adam(torch.optim.Optimizer):
    def step(self, closure=None):
        with torch.no_grad():
            for group in self.param_groups:
                pass
"""


@pytest.mark.parametrize(
    "source, unit",
    [
        ("import torch\nclass Adam(torch.optim.Adam):\n    pass", "Adam"),
        ("from torch.optim import Adam as A\nclass Adam(A):\n    pass", "Adam"),
        ("import torch.optim as O\nimpl = O.Adam\ndef Adam(p, **k):\n    return impl(p, **k)", "Adam"),
        (
            "import torch\ndef helper():\n    return torch.optim.SGD\n"
            "class SGDMomentum:\n    def step(self):\n        helper()",
            "SGDMomentum",
        ),
    ],
    ids=["subclass", "from-import-alias", "module-alias", "through-helper"],
)
def test_delegation_found_through_aliases(source, unit):
    """Is a forbidden name found however it is spelled, and charged to the unit that reaches it?"""
    report = analyse("02_optimizers", [source])
    assert report.units[unit], report
    others = [u for u, found in report.units.items() if found and u != unit]
    assert not others


def test_honest_code_is_clean():
    """Does a solution that only uses the allowed base class raise no finding?"""
    report = analyse("02_optimizers", [HONEST])
    assert not report.escapes and not any(report.units.values())


def test_scratch_use_outside_graded_code_is_allowed():
    """May a student compare with torch.optim in a scratch cell that no graded name reaches?"""
    scratch = "import torch\nreference = torch.optim.Adam([torch.zeros(1, requires_grad=True)])"
    report = analyse("02_optimizers", [HONEST, scratch])
    assert not report.units["Adam"]


@pytest.mark.parametrize(
    "source",
    [
        "exec('x = 1')",
        "x = getattr(torch, 'op' + 'tim')",
        "import gc\ngc.get_objects()",
        "import torch\ntorch.allclose = lambda *a: True",
        "from adl4cv_utils.checks.result import CheckResult\nCheckResult.assert_passed = print",
        "import threading",
        "import sys\nsys.setprofile(None)",
        "f.__code__ = g.__code__",
        "torch.ops.aten.convolution",
        "get_ipython().set_custom_exc((Exception,), print)",
    ],
)
def test_escapes_are_found(source):
    """Is every construct that hides what code does reported, wherever it is?"""
    assert analyse("02_optimizers", ["import torch\n" + source]).escapes


def test_harmless_magics_are_not_escapes():
    """Does an honest ``%matplotlib inline`` or ``%timeit`` line cost nothing?"""
    report = analyse("02_optimizers", ["%matplotlib inline\n" + HONEST + "\n%timeit 1 + 1"])
    assert not report.escapes and not any(report.units.values())


@pytest.mark.parametrize("source", ["!cat /etc/passwd", "%%bash\nls", "%run other.py", "if True:\n    !ls"])
def test_shell_and_running_magics_are_escapes(source):
    """Do shell escapes and magics that run other code count as escapes?"""
    assert analyse("02_optimizers", [source]).escapes


def test_findings_carry_their_notebook_position():
    """Does each finding name its cell's position in the notebook (a test is charged only with earlier cells)?"""
    report = analyse("02_optimizers", [HONEST, "import gc"], positions=[4, 9])
    assert [f.cell for f in report.escapes] == [9]
    with pytest.raises(ValueError, match="positions"):
        analyse("02_optimizers", [HONEST], positions=[1, 2])


@pytest.mark.parametrize("source", ["import my_helpers", "from my_helpers import f", "from . import x"])
def test_importing_a_module_outside_the_environment_is_an_escape(source):
    """Is importing a module the notebook could have written itself (not installed) an escape?"""
    assert analyse("02_optimizers", [source]).escapes


def test_installed_modules_are_fine():
    """Do imports of installed packages (torch, numpy, math) raise nothing?"""
    report = analyse("02_optimizers", ["import math\nimport numpy as np\nfrom torch import nn\n" + HONEST])
    assert not report.escapes


def test_a_parameter_is_not_the_global_of_the_same_name():
    """Inside ``f(model)``, is ``was = model.training`` unrelated to a notebook-level ``model = SmallCNN()``?"""
    context = ["from adl4cv_utils.models import SmallCNN\nmodel = SmallCNN()"]
    unit = "def occlusion_map(model, image, target):\n    was = model.training\n    model.train(was)\n    return was"
    report = analyse("07_visualization", [unit], context=context)
    assert not report.units["occlusion_map"], report.units
