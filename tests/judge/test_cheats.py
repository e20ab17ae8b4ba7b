"""Can a student get points without the work? A cheat suite graded by the real ``adl4cv-grade``.

Every cheat is the honest notebook (SGD with momentum and RMSProp solved) plus an Adam whose step
does nothing, plus one mechanism that tries to make the tests pass anyway. Each must score no more
than the same notebook without the mechanism (the baseline), whatever the tests printed in the
student's kernel; the reference gets full marks. The points come from the judge, in another process.
"""

from __future__ import annotations

import pytest
from conftest import solution_cell, with_solutions

pytestmark = pytest.mark.slow
A = "02_optimizers"
FULL = 23.0

NO_OP_ADAM = """
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        pass
"""

CHEATS = {
    "rebind_name": """
from adl4cv_utils.checks.result import CheckResult
class _Passes:
    def __getattr__(self, name):
        return lambda *args, **kwargs: CheckResult(name, True, "looks fine")
optimizers = _Passes()
""",
    "patch_class": """
from adl4cv_utils.checks.result import CheckResult
CheckResult.assert_passed = lambda self: print("PASS")
""",
    "patch_module": """
import adl4cv_utils.checks.optimizers as _checks
from adl4cv_utils.checks.result import CheckResult
for _name in dir(_checks):
    if _name.startswith("check_"):
        setattr(_checks, _name, lambda *a, _n=_name, **k: CheckResult(_n, True, "ok"))
""",
    "builtins": """
import builtins
builtins.AssertionError = type("AssertionError", (Warning,), {})
builtins.all = lambda *args: True
""",
    "ipython_hook": """
get_ipython().set_custom_exc((BaseException,), lambda shell, etype, evalue, tb, tb_offset=None: None)
""",
    "patch_torch": """
torch.all = lambda *args, **kwargs: torch.tensor(True)
torch.allclose = lambda *args, **kwargs: True
torch.Tensor.__le__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
""",
    "edit_code_via_gc": """
import gc
def _zero(*args, **kwargs):
    return 0.0
for _obj in gc.get_objects():
    if callable(_obj) and getattr(_obj, "__name__", "") in ("compare", "_side_by_side"):
        _obj.__code__ = _zero.__code__
""",
    "tensor_subclass": """
class _Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("allclose", "equal", "__eq__", "__le__", "isclose"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

class Adam(Adam):
    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                p.data = p.data.as_subclass(_Liar)
""",
    "fixed_inputs_only": """
class Adam(torch.optim.Optimizer):
    # right only on the visible self-check's shapes; nothing elsewhere
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            (b1, b2), lr, eps = group["betas"], group["lr"], group["eps"]
            for p in group["params"]:
                if p.grad is None or tuple(p.shape) not in ((3,), (2, 4), (5, 1, 2)):
                    continue
                s = self.state[p]
                if not s:
                    s["t"], s["m"], s["v"] = 0, torch.zeros_like(p), torch.zeros_like(p)
                s["t"] += 1
                s["m"].mul_(b1).add_((1 - b1) * p.grad)
                s["v"].mul_(b2).add_((1 - b2) * p.grad * p.grad)
                m_hat, v_hat = s["m"] / (1 - b1 ** s["t"]), s["v"] / (1 - b2 ** s["t"])
                p.sub_(lr * m_hat / (v_hat.sqrt() + eps))
""",
    "import_from_package": """
from adl4cv_utils.checks.optimizers import reference as _reference
def Adam(params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
    return _reference("adam", params, lr=lr, betas=betas, eps=eps)
""",
    "subclass_torch_adam": """
class Adam(torch.optim.Adam):
    pass
""",
    "hidden_torch_adam": """
import torch.optim as _o
_impl = _o.Adam
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        params = list(params)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))
        self._inner = _impl(params, lr=lr, betas=betas, eps=eps)

    def step(self, closure=None):
        return self._inner.step()
""",
    "computed_name": """
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        params = list(params)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))
        self._inner = getattr(getattr(torch, "op" + "tim"), "Ad" + "am")(params, lr=lr, betas=betas, eps=eps)

    def step(self, closure=None):
        return self._inner.step()
""",
    "thread": """
import threading
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        params = list(params)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))
        self._inner = torch.optim.Adam.__mro__[0](params, lr=lr, betas=betas, eps=eps)

    def step(self, closure=None):
        t = threading.Thread(target=self._inner.step)
        t.start()
        t.join()
""",
}


def notebook(cheat: str | None):
    answers = {g: solution_cell(A, g) for g in ("sgd_momentum", "rmsprop")}
    answers["adam"] = NO_OP_ADAM + (CHEATS[cheat] if cheat else "")
    return with_solutions(A, answers)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """The whole suite in one batch: {student: CSV row}."""
    import shutil

    from conftest import REPO, run_grader

    root = tmp_path_factory.mktemp("cheats")
    course = root / "course"
    course.mkdir()
    shutil.copy(REPO / "nbgrader_config.py", course)
    shutil.copytree(REPO / "solutions", course / "solutions")
    folder = root / "submissions"
    folder.mkdir()
    import nbformat

    nbformat.write(
        with_solutions(A, {g: solution_cell(A, g) for g in ("sgd_momentum", "rmsprop", "adam")}),
        folder / "reference.ipynb",
    )
    nbformat.write(notebook(None), folder / "baseline.ipynb")
    for name in CHEATS:
        nbformat.write(notebook(name), folder / f"{name}.ipynb")
    proc, rows = run_grader(course, A, folder, "--jobs", "2", "--submission-timeout", "300")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return rows


def test_reference_full_marks(graded):
    """Does the honest reference get every point through the judge?"""
    assert float(graded["reference"]["score"]) == pytest.approx(FULL)


def test_baseline_scores_what_it_solved(graded):
    """Does the notebook with SGD and RMSProp solved and a no-op Adam get exactly their points (+ Adam's interface)?"""
    assert float(graded["baseline"]["score"]) == pytest.approx(7.0 + 8.0 + 1.0)


@pytest.mark.parametrize("cheat", sorted(CHEATS))
def test_cheat_gains_nothing(graded, cheat):
    """Does the cheat score no more than the same notebook without it, and lose Adam's step points?"""
    score, baseline = float(graded[cheat]["score"]), float(graded["baseline"]["score"])
    assert score <= baseline + 1e-9, (cheat, graded[cheat])
    assert float(graded[cheat]["optimizers/adam_single_step"]) == 0.0
    assert float(graded[cheat]["optimizers/adam_hidden"]) == 0.0
