"""Probes of 07_visualization: run occlusion_map and top_activating_patches on the judge's CNN and images.

The CNN is built from a plain spec (``build_cnn``) and the judge's weights (BatchNorm statistics
included), handed over in train mode as in the self-checks; a ``ModeRecorder`` after the second
block records the mode and grad mode at every call. The probes return the raw outputs, whether the
input was changed in place and whether a forward hook was left on the layer.
"""

from __future__ import annotations

import torch
from torch import nn

from adl4cv_utils.checks.training.probes import ModeRecorder, own_rng
from adl4cv_utils.probing import probe, student
from adl4cv_utils.probing.values import raw

LAYER = 5  # the second BatchNorm: a grid of (H // 2, W // 2)


def build_cnn(spec: dict) -> nn.Sequential:
    """Conv-BN-ReLU-MaxPool, Conv-BN-ReLU, recorder, AdaptiveAvgPool(2), Dropout(0.5), Linear; sized by ``spec``."""
    for key in ("c1", "c2", "classes"):
        if type(spec.get(key)) is not int or spec[key] < 1:
            raise ValueError(f"spec: {key!r} must be a positive int, got {spec.get(key)!r}")
    c1, c2 = spec["c1"], spec["c2"]
    return nn.Sequential(
        nn.Conv2d(3, c1, 3, padding=1),
        nn.BatchNorm2d(c1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(c1, c2, 3, padding=1),
        nn.BatchNorm2d(c2),
        nn.ReLU(),
        ModeRecorder(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(4 * c2, spec["classes"]),
    )


def _model(spec: dict, state: dict, seed: int) -> tuple[nn.Sequential, ModeRecorder]:
    model = build_cnn(spec)
    model.load_state_dict(state)
    torch.manual_seed(seed)
    return model.train(), model[7]


@probe("visualization.occlusion")
@own_rng
def occlusion(ns: dict, spec: dict, state: dict, seed: int, image, target: int, patch_size: int, stride: int, fill):
    """occlusion_map(model in train mode, image, target, patch_size=, stride=, fill=): the map, raw."""
    model, recorder = _model(spec, state, seed)
    image_in = image.clone()
    out = student(ns, "occlusion_map")(model, image_in, target, patch_size=patch_size, stride=stride, fill=fill)
    return {"map": raw(out), "changed": not torch.equal(image_in, image), "calls": recorder.calls}


@probe("visualization.top")
@own_rng
def top(ns: dict, spec: dict, state: dict, seed: int, images, unit: int, k: int, patch_size: int):
    """top_activating_patches(model in train mode, model[LAYER], images, unit, k=, patch_size=): raw outputs."""
    model, recorder = _model(spec, state, seed)
    images_in = images.clone()
    out = student(ns, "top_activating_patches")(model, model[LAYER], images_in, unit, k=k, patch_size=patch_size)
    return {
        "out": raw(out),
        "changed": not torch.equal(images_in, images),
        "calls": recorder.calls,
        "hooks_left": sum(len(m._forward_hooks) for m in model.modules()),
    }
