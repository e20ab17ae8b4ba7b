"""Does the judge give 02_optimizers' points for what the optimizers compute on its secret inputs, and only then?

Wrong answers are the reference cells with one known mistake edited in (the self-checks' mistake table,
adl4cv_utils/checks/optimizers/mistakes.py, names them); one kernel judges them all (JudgeSession).
"""

from __future__ import annotations

import pytest

from tests.judge.harness import JudgeSession, assert_group, edited, groups

A = "02_optimizers"
CELLS = {
    g: tuple(f"{g}_{t}" for t in ("interface", "single_step", "many_steps", "param_groups", "hidden"))
    for g in ("sgd_momentum", "rmsprop", "adam")
}
CELLS["rmsprop"] += ("rmsprop_eps",)
CELLS["adam"] += ("adam_eps",)
YOURSELF = "the exercise is to write it yourself"


def _x(cell, *edits):
    return cell, edited(A, cell, *edits)


SUBCLASS_TORCH = """class Adam(torch.optim.Adam):
    pass
"""
CALLS_TORCH = """class RMSProp(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-2, beta=0.9, eps=1e-8):
        super().__init__(params, dict(lr=lr, beta=beta, eps=eps))
        self._inner = torch.optim.RMSprop(self.param_groups, lr=lr, alpha=beta, eps=eps)

    @torch.no_grad()
    def step(self, closure=None):
        self._inner.step()
"""
STEPS = ("many_steps", "hidden")
SLIDE = ("param_groups", "eps", *STEPS)  # the slide's (1 - beta1) equals (1 - beta1**t) at t = 1


def _steps(optimizer: str, text: str) -> dict:
    """Every test cell of ``optimizer`` but its interface fails, naming ``text``."""
    return {cell: text for cell in CELLS[optimizer] if not cell.endswith("interface")}


WRONG = {
    "EMA velocity": (_x("sgd_momentum", (".add_(p.grad)", ".add_(p.grad, alpha=1 - group['momentum'])")),
                     _steps("sgd_momentum", "velocity is an average")),
    "momentum ignored": (_x("sgd_momentum", ('v.mul_(group["momentum"])', "v.mul_(0.0)")),
                         {f"sgd_momentum_{t}": "not carried over" for t in ("param_groups", *STEPS)}),
    "RMSProp without the square root": (_x("rmsprop", ("s.sqrt().add_", "s.add_")),
                                        _steps("rmsprop", "square root is missing")),
    "RMSProp with eps inside the root": (_x("rmsprop", ('s.sqrt().add_(group["eps"])', 's.add(group["eps"]).sqrt()')),
                                         _steps("rmsprop", "eps is inside the square root")),
    "RMSProp by torch.optim.RMSprop": (("rmsprop", CALLS_TORCH), dict.fromkeys(CELLS["rmsprop"], YOURSELF)),
    "Adam with the slide's bias correction": (_x("adam", ("m / (1 - beta1**t)", "m / (1 - beta1)")),
                                             {f"adam_{t}": "divides by (1 - beta1)" for t in SLIDE}),
    "Adam without bias correction": (_x("adam", ("m / (1 - beta1**t)", "m"), ("v / (1 - beta2**t)", "v")),
                                    _steps("adam", "no bias correction")),
    "Adam with eps inside the root": (_x("adam", ("v_hat.sqrt() + group[\"eps\"]", "(v_hat + group[\"eps\"]).sqrt()")),
                                     _steps("adam", "eps is inside the square root")),
    "Adam as a subclass of torch.optim.Adam": (("adam", SUBCLASS_TORCH), dict.fromkeys(CELLS["adam"], YOURSELF)),
}  # fmt: skip
GROUPS = groups(WRONG)
RIGHT = {  # valid answers written differently: full marks
    "SGD with torch.add": _x("sgd_momentum", ('v.mul_(group["momentum"]).add_(p.grad)',
                                              'v.copy_(torch.add(v * group["momentum"], p.grad))')),
    "Adam with a step tensor": _x("adam", ("m_hat = m / (1 - beta1**t)", "m_hat = m / (1 - beta1 ** float(t))")),
}  # fmt: skip


@pytest.fixture(scope="module")
def session():
    session = JudgeSession(A)
    yield session
    session.close()


@pytest.mark.slow
@pytest.mark.parametrize("names", GROUPS, ids=[" | ".join(g) for g in GROUPS])
def test_wrong_optimizers_lose_the_right_cells(session, names):
    """Does each known mistake or delegation lose the points of the cells that test it, with a message naming it?"""
    assert_group(A, WRONG, CELLS, names, session=session)


@pytest.mark.slow
def test_reference_and_valid_variants_keep_full_marks(session):
    """Do the reference and optimizers written differently (allowed building blocks) get every point?"""
    for replacements in ({}, dict(RIGHT.values())):
        got = session.verdicts(replacements, seed=3)
        assert all(v.passed and v.score == v.points for v in got.values()), {
            k: v.message for k, v in got.items() if not v.passed
        }


@pytest.mark.slow
def test_broken_optimizers_get_failed_verdicts(session):
    """Does an optimizer that raises, returns nonsense or is no class get failed verdicts, not a crash?"""
    broken = {
        "sgd_momentum": "class SGDMomentum(torch.optim.Optimizer):\n    def __init__(self, params, lr, momentum=0.9):\n"
        "        raise RuntimeError('boom')\n",
        "rmsprop": "RMSProp = 3\n",
        "adam": edited(
            A, "adam", ('p.sub_(group["lr"] * m_hat / (v_hat.sqrt() + group["eps"]))', "p.mul_(float('nan'))")
        ),
    }
    got = session.verdicts(broken, seed=4)
    for gid in ("sgd_momentum_single_step", "rmsprop_single_step", "adam_many_steps"):
        assert not got[gid].passed and got[gid].score == 0 and got[gid].message, (gid, got[gid])
    assert "boom" in got["sgd_momentum_interface"].message
