"""INSTRUCTOR ONLY: the reference occlusion map and top activating patches of 07_visualization, for the judge.

Both follow docs/contract.md; ``mistake`` switches on a known mistake so that the judge can name the one
a student made. ``Cnn`` draws a CNN (adl4cv_utils.checks.visualization.probes.build_cnn) with weights
and BatchNorm statistics from the run's secret seed, as the probes rebuild it in the grading kernel.
"""

from __future__ import annotations

import torch
from torch import nn

from adl4cv_grading.exercises.visualization.reference import reference_occlusion, reference_top_patches
from adl4cv_grading.judge_tests import Context
from adl4cv_utils.checks.visualization import OCCLUSION_MISTAKES  # noqa: F401 - the judge names them from here
from adl4cv_utils.checks.visualization.probes import LAYER, build_cnn


class Cnn:
    """A CNN spec, its weights (BatchNorm statistics that differ from batch ones) and the probes' RNG seed."""

    def __init__(self, ctx: Context, salt: str):
        gen = ctx.generator("cnn:" + salt)
        self.spec = {
            "c1": int(torch.randint(3, 7, (1,), generator=gen)),
            "c2": int(torch.randint(4, 9, (1,), generator=gen)),
            "classes": int(torch.randint(3, 7, (1,), generator=gen)),
        }
        self.seed = int(torch.randint(0, 2**31 - 1, (1,), generator=gen))
        with torch.random.fork_rng():
            torch.manual_seed(self.seed)
            model = build_cnn(self.spec)
        with torch.no_grad():
            for bn in (model[1], model[5]):
                bn.running_mean.copy_(torch.rand(bn.num_features, generator=gen) - 0.5)
                bn.running_var.copy_(torch.rand(bn.num_features, generator=gen) * 1.5 + 0.5)
            model[-1].weight.mul_(4)  # confident enough that occlusion moves the probability visibly
        self.state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.gen = gen

    def model(self) -> nn.Sequential:
        model = build_cnn(self.spec)
        model.load_state_dict(self.state)
        return model.train()

    def probe_inputs(self) -> dict:
        return {"spec": self.spec, "state": self.state, "seed": self.seed}


def occlusion(model, image, target, patch_size, stride, fill, seed: int, mistake: str = "") -> torch.Tensor:
    """The contract's occlusion map, its random numbers drawn from ``seed`` as in the probe."""
    return reference_occlusion(model, image, target, patch_size, stride, fill, mistake, seed=seed)


def top_patches(model, images, unit, k, patch_size, mistake: str = ""):
    """The contract's (values, indices, patches) for ``model[LAYER]``; ``mistake``: "smallest" or "train_mode"."""
    return reference_top_patches(model, model[LAYER], images, unit, k, patch_size, mistake)
