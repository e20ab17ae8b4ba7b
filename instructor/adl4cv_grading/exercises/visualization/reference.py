"""Reference answers of 07_visualization (occlusion_map, top_activating_patches) with known mistakes.

Instructor only, never published: these ARE the answers. ``expected_values()`` runs them on the
self-checks' stored cases (``adl4cv_utils.checks.visualization``) and returns the table stored in
``adl4cv_utils/checks/expected/visualization.pt``.
"""

from __future__ import annotations

import torch

from adl4cv_utils.checks import visualization as V
from adl4cv_utils.checks.fixtures import cnn, image, images


def reference_occlusion(
    model, image, target, patch_size=8, stride=4, fill=0.0, mistake: str = "", seed: int = 0
) -> torch.Tensor:
    """The contract's occlusion map (all occluded copies in one batch); ``mistake`` switches on a known mistake.

    The forward pass draws its random numbers (a train-mode dropout) from ``seed``, leaving the global RNG alone."""
    _, h, w = image.shape
    n_rows, n_cols = (h - patch_size) // stride + 1, (w - patch_size) // stride + 1
    tops, lefts = torch.arange(n_rows) * stride, torch.arange(n_cols) * stride
    in_rows = (torch.arange(h)[None] >= tops[:, None]) & (torch.arange(h)[None] < tops[:, None] + patch_size)
    in_cols = (torch.arange(w)[None] >= lefts[:, None]) & (torch.arange(w)[None] < lefts[:, None] + patch_size)
    mask = in_rows[:, None, :, None] & in_cols[None, :, None, :]  # (n_rows, n_cols, H, W)
    value = 0.0 if mistake == "fill_zero" else fill
    batch = torch.where(mask[:, :, None], torch.as_tensor(value, dtype=image.dtype), image)
    was = model.training
    model.train(mistake == "train_mode")
    with torch.no_grad(), torch.random.fork_rng():
        torch.manual_seed(seed)
        logits = model(batch.reshape(-1, *image.shape))
    model.train(was)
    cls = 0 if mistake == "class_0" else target
    if mistake == "logits":
        out = logits[:, cls]
    else:
        out = torch.softmax(logits, dim=0 if mistake == "softmax_dim0" else 1)[:, cls]
        out = 1 - out if mistake == "one_minus" else out
    return out.reshape(n_rows, n_cols)


def reference_top_patches(model, layer, images, unit, k=9, patch_size=8, mistake: str = ""):
    """The contract's (values, indices, patches); ``mistake`` switches on a known mistake."""
    store = {}
    handle = layer.register_forward_hook(lambda module, args, out: store.__setitem__("out", out.detach()))
    was = model.training
    model.train(mistake == "train_mode")
    try:
        with torch.no_grad(), torch.random.fork_rng():
            torch.manual_seed(0)
            model(images)
    finally:
        handle.remove()
        model.train(was)
    act = store["out"][:, unit]  # (N, h, w)
    n, h, w = act.shape
    values, flat = act.reshape(-1).topk(k, largest=mistake != "smallest")
    img, rc = flat // (h * w), flat % (h * w)
    rows, cols = rc // w, rc % w
    indices = torch.stack([img, rows, cols], dim=1)
    _, _, height, width = images.shape
    sr, sc = height // h, width // w  # the contract's integer scale
    tops = (rows * sr + sr // 2 - patch_size // 2).clamp(0, height - patch_size)
    lefts = (cols * sc + sc // 2 - patch_size // 2).clamp(0, width - patch_size)
    patches = torch.stack([images[i, :, t : t + patch_size, l : l + patch_size] for i, t, l in zip(img, tops, lefts)])
    return values, indices, patches


def expected_values() -> dict:
    """The table of ``checks/expected/visualization.pt``: every stored case of the 07 self-checks."""
    table = {}
    for seed, h, w, target, p, s, fill in V.OCCLUSION_CASES:
        for mistake in ("", *V.OCCLUSION_MISTAKES):
            out = reference_occlusion(cnn(seed), image(seed + 1, h, w), target, p, s, fill, mistake)
            table[V.occlusion_key(seed, h, w, target, p, s, fill, mistake)] = out
    for seed, h, w in V.TOP_CASES:
        for unit in range(V.UNITS):
            for mistake in ("", *V.TOP_MISTAKES):
                model = cnn(seed)  # a fresh model each time: a train-mode run changes BatchNorm's statistics
                out = reference_top_patches(
                    model, model[V.TOP_LAYER], images(seed, h, w), unit, V.TOP_K, V.TOP_PATCH, mistake
                )
                table[V.top_key(seed, h, w, unit, mistake)] = tuple(out) if not mistake else out[:1]  # values only
    return table
