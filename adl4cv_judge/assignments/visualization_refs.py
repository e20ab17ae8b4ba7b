"""INSTRUCTOR ONLY: the reference occlusion map and top activating patches of 07_visualization, for the judge.

Both follow docs/contract.md; ``mistake`` switches on a known mistake so that the judge can name the one
a student made. ``Cnn`` draws a CNN (adl4cv_utils.worker.probes.visualization.build_cnn) with weights
and BatchNorm statistics from the run's secret seed, as the probes rebuild it in the worker.
"""

from __future__ import annotations

import torch
from torch import nn

from adl4cv_judge.registry import Context
from adl4cv_utils.worker.probes.visualization import LAYER, build_cnn

OCCLUSION_MISTAKES = {
    "logits": "the map holds logits; it must hold the softmax probability of the target class",
    "class_0": "the map is for class 0, not for the target class",
    "softmax_dim0": "softmax is taken over the batch of occluded images; take it over the classes (dim=1)",
    "one_minus": "the map holds 1 - probability; it must hold the probability of the target class",
    "fill_zero": "the patch is filled with 0; use the fill argument",
    "train_mode": "the model ran in train mode (dropout on, BatchNorm with batch statistics): call model.eval()",
}


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
    """The contract's occlusion map (all occluded copies in one batch); ``mistake`` switches on a known mistake."""
    _, h, w = image.shape
    n_rows, n_cols = (h - patch_size) // stride + 1, (w - patch_size) // stride + 1
    tops, lefts = torch.arange(n_rows) * stride, torch.arange(n_cols) * stride
    in_rows = (torch.arange(h)[None] >= tops[:, None]) & (torch.arange(h)[None] < tops[:, None] + patch_size)
    in_cols = (torch.arange(w)[None] >= lefts[:, None]) & (torch.arange(w)[None] < lefts[:, None] + patch_size)
    mask = in_rows[:, None, :, None] & in_cols[None, :, None, :]  # (n_rows, n_cols, H, W)
    value = 0.0 if mistake == "fill_zero" else fill
    batch = torch.where(mask[:, :, None], torch.as_tensor(value, dtype=image.dtype), image)
    model.train(mistake == "train_mode")
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        logits = model(batch.reshape(-1, *image.shape))
    cls = 0 if mistake == "class_0" else target
    if mistake == "logits":
        out = logits[:, cls]
    else:
        out = torch.softmax(logits, dim=0 if mistake == "softmax_dim0" else 1)[:, cls]
        out = 1 - out if mistake == "one_minus" else out
    return out.reshape(n_rows, n_cols)


def top_patches(model, images, unit, k, patch_size, mistake: str = ""):
    """The contract's (values, indices, patches) for ``model[LAYER]``; ``mistake``: "smallest" or "train_mode"."""
    store = {}
    handle = model[LAYER].register_forward_hook(lambda module, args, out: store.__setitem__("out", out.detach()))
    model.train(mistake == "train_mode")
    try:
        with torch.no_grad():
            model(images)
    finally:
        handle.remove()
    act = store["out"][:, unit]  # (N, h, w)
    _, h, w = act.shape
    values, flat = act.reshape(-1).topk(k, largest=mistake != "smallest")
    img, rc = flat // (h * w), flat % (h * w)
    rows, cols = rc // w, rc % w
    indices = torch.stack([img, rows, cols], dim=1)
    _, _, height, width = images.shape
    sr, sc = height // h, width // w
    tops = (rows * sr + sr // 2 - patch_size // 2).clamp(0, height - patch_size)
    lefts = (cols * sc + sc // 2 - patch_size // 2).clamp(0, width - patch_size)
    patches = torch.stack([images[i, :, t : t + patch_size, l : l + patch_size] for i, t, l in zip(img, tops, lefts)])
    return values, indices, patches
