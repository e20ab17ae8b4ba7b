"""Are a student's occlusion map and top activating patches right? (chapter 9, exercise 07_visualization)

The references are vectorised here: all occluded copies of the image go through the model in one
batch (Zeiler & Fergus 2014), and the top activations come from ``torch.topk`` over a forward
hook's output. The test model is a small seeded CNN with BatchNorm (non-trivial running
statistics) and Dropout, handed over in *train* mode, with a probe layer that records the mode
and whether gradients were on at every call. When an answer differs, known mistakes (logits
instead of probabilities, the wrong class, the last patch position missing, the stride ignored,
the wrong fill, train mode, unsorted or smallest top-k, the wrong channel, ...) are simulated and
named when one matches.
"""

from __future__ import annotations

import torch
from torch import nn

from adl4cv_utils.checks.result import CheckFailed, compare, run_check
from adl4cv_utils.checks.training import ModeProbe  # records train/eval mode and grad mode per call

ATOL, RTOL = 1e-5, 1e-4


def test_model(seed: int = 0, classes: int = 4) -> nn.Sequential:
    """A small CNN for (3, H, W) images, in train mode, with BatchNorm statistics that differ from batch ones."""
    torch.manual_seed(seed)
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.BatchNorm2d(4),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.BatchNorm2d(6),
        nn.ReLU(),
        ModeProbe(),
        nn.AdaptiveAvgPool2d(2),
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(24, classes),
    )
    with torch.no_grad():
        for bn in (model[1], model[5]):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
        model[-1].weight.mul_(4)  # confident enough that occlusion moves the probability visibly
    return model.train()


def _image(seed: int, h: int, w: int) -> torch.Tensor:
    return torch.rand(3, h, w, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------------------------------------
# Occlusion
# ---------------------------------------------------------------------------------------------


def reference_occlusion(model, image, target, patch_size=8, stride=4, fill=0.0, mistake: str = "") -> torch.Tensor:
    """The contract's occlusion map; ``mistake`` switches on a known mistake."""
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
    with torch.no_grad():
        torch.manual_seed(0)
        logits = model(batch.reshape(-1, *image.shape))
    model.train(was)
    cls = 0 if mistake == "class_0" else target
    if mistake == "logits":
        out = logits[:, cls]
    else:
        out = torch.softmax(logits, dim=0 if mistake == "softmax_dim0" else 1)[:, cls]
        out = 1 - out if mistake == "one_minus" else out
    return out.reshape(n_rows, n_cols)


OCCLUSION_MISTAKES = {
    "logits": "the map holds logits; it must hold the softmax probability of the target class",
    "class_0": "the map is for class 0, not for the target class",
    "softmax_dim0": "softmax is taken over the batch of occluded images; take it over the classes (dim=1)",
    "one_minus": "the map holds 1 - probability; it must hold the probability of the target class",
    "fill_zero": "the patch is filled with 0; use the fill argument",
    "train_mode": "the model ran in train mode (dropout on, BatchNorm with batch statistics): call model.eval()",
}


def _occlusion_case(occlusion_map, h, w, target, patch_size, stride, fill, seed=0, mistakes=()):
    model = test_model(seed)
    image = _image(seed + 1, h, w)
    expected = reference_occlusion(model, image, target, patch_size, stride, fill)
    image_in = image.clone()
    got = occlusion_map(model, image_in, target, patch_size=patch_size, stride=stride, fill=fill)
    if not torch.equal(image_in, image):
        raise CheckFailed("the image was changed in place: occlude a copy (image.clone()) for each patch position")
    where = f"image {h}x{w}, patch {patch_size}, stride {stride}"
    if torch.is_tensor(got) and got.ndim == 2 and tuple(got.shape) != tuple(expected.shape):
        rows, cols = got.shape
        hint = ""
        if (rows, cols) == ((h - patch_size) // stride, (w - patch_size) // stride):
            hint = "the last position is missing: n = (H - patch_size) // stride + 1"
        elif (rows, cols) == (h - patch_size + 1, w - patch_size + 1):
            hint = "the stride is ignored: the patch moves by `stride` pixels"
        elif (rows, cols) == ((w - patch_size) // stride + 1, (h - patch_size) // stride + 1):
            hint = "rows and columns are swapped: the map is (n_rows, n_cols) for an image (C, H, W)"
        elif rows > expected.shape[0] or cols > expected.shape[1]:
            hint = "patches run past the border: only whole patches, n = (H - patch_size) // stride + 1"
        raise CheckFailed(
            f"wrong shape of the map ({where})" + (f"; looks like {hint}" if hint else ""),
            expected=tuple(expected.shape),
            got=tuple(got.shape),
        )
    try:
        return compare(f"occlusion map ({where})", expected, got, ATOL, RTOL)
    except CheckFailed as fail:
        for mistake in mistakes:
            variant = reference_occlusion(test_model(seed), image, target, patch_size, stride, fill, mistake)
            if torch.is_tensor(got) and torch.allclose(variant, got.detach().float(), atol=ATOL, rtol=RTOL):
                fail.message += f"; looks like {OCCLUSION_MISTAKES[mistake]}"
                break
        raise


@run_check("occlusion map: positions")
def check_occlusion_shape(occlusion_map):
    """Is the map (n_rows, n_cols) with n = (H - patch_size) // stride + 1 for several sizes and strides?"""
    for h, w, p, s in ((16, 16, 8, 4), (16, 12, 5, 3), (12, 16, 4, 4)):
        _occlusion_case(occlusion_map, h, w, 1, p, s, 0.0)
    return "right shape and values for 16x16/8/4, 16x12/5/3 and 12x16/4/4"


@run_check("occlusion map: values")
def check_occlusion_values(occlusion_map, seed: int = 0):
    """Are the values the softmax probability of the target class for each occluded copy (eval mode)?"""
    diff = 0.0
    for target in (2, 3):
        diff = max(
            diff,
            _occlusion_case(
                occlusion_map, 16, 16, target, 6, 2, 0.0, seed, ("logits", "class_0", "softmax_dim0", "one_minus")
            ),
        )
    return "target-class probabilities as the reference for 2 targets", diff


@run_check("occlusion map: fill")
def check_occlusion_fill(occlusion_map):
    """Is the patch filled with the fill value (0.5 here)?"""
    return "right with fill=0.5", _occlusion_case(occlusion_map, 16, 16, 1, 8, 4, 0.5, 3, ("fill_zero",))


def _mode_calls(model, what):
    calls = next(m for m in model.modules() if isinstance(m, ModeProbe)).calls
    if not calls:
        raise CheckFailed(f"{what} never called the model")
    if any(training for training, _ in calls):
        raise CheckFailed(
            f"the model ran in train mode during {what} (dropout drops, BatchNorm uses batch statistics): "
            "call model.eval() first",
            expected="training=False at every call",
            got=[t for t, _ in calls],
        )
    if any(grad for _, grad in calls):
        raise CheckFailed(f"gradients were enabled during {what}: run the model under torch.no_grad()")
    return len(calls)


@run_check("occlusion map: eval mode, no gradients")
def check_occlusion_eval(occlusion_map):
    """Does the model run in eval mode and without gradients, and is the result right for a model in train mode?"""
    model = test_model(5)
    image = _image(6, 16, 16)
    got = occlusion_map(model, image, 0, patch_size=8, stride=4, fill=0.0)
    n = _mode_calls(model, "occlusion_map")
    expected = reference_occlusion(test_model(5), image, 0, 8, 4, 0.0)
    diff = compare("occlusion map", expected, got, ATOL, RTOL)
    return f"eval mode and no gradients in all {n} model call(s)", diff


# ---------------------------------------------------------------------------------------------
# Top activating patches
# ---------------------------------------------------------------------------------------------


def reference_top_patches(model, layer, images, unit, k=9, patch_size=8, mistake: str = ""):
    """The contract's (values, indices, patches); ``mistake`` switches on a known mistake."""
    store = {}
    handle = layer.register_forward_hook(lambda module, args, out: store.__setitem__("out", out.detach()))
    was = model.training
    model.train(mistake == "train_mode")
    try:
        with torch.no_grad():
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
    sr, sc = height // h, width // w
    tops = (rows * sr + sr // 2 - patch_size // 2).clamp(0, height - patch_size)
    lefts = (cols * sc + sc // 2 - patch_size // 2).clamp(0, width - patch_size)
    patches = torch.stack([images[i, :, t : t + patch_size, l : l + patch_size] for i, t, l in zip(img, tops, lefts)])
    return values, indices, patches


def _top_case(seed: int = 0, unit: int = 2, k: int = 5, patch_size: int = 6):
    model = test_model(seed)
    images = torch.rand(6, 3, 16, 16, generator=torch.Generator().manual_seed(seed + 7))
    return model, model[5], images, unit, k, patch_size  # layer: the second BatchNorm, an 8x8 grid


def _reference(seed, images, unit, k, patch_size, mistake=""):
    fresh = test_model(seed)  # a fresh model each time: a train-mode run changes BatchNorm's statistics
    return reference_top_patches(fresh, fresh[5], images, unit, k, patch_size, mistake)


def _run_top(top_activating_patches, seed=0, unit=2, k=5, patch_size=6):
    model, layer, images, unit, k, patch_size = _top_case(seed, unit, k, patch_size)
    images_in = images.clone()
    out = top_activating_patches(model, layer, images_in, unit, k=k, patch_size=patch_size)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise CheckFailed(f"top_activating_patches must return (values, indices, patches), got {type(out).__name__}")
    if not torch.equal(images_in, images):
        raise CheckFailed("the images were changed in place")
    expected = _reference(seed, images, unit, k, patch_size)
    return model, layer, images, (unit, k, patch_size), out, expected


@run_check("top activating patches: values")
def check_top_values(top_activating_patches, seed: int = 0, unit: int = 2):
    """Are the k largest activations of channel `unit` over all images and positions returned, sorted descending?"""
    model, layer, images, (unit, k, p), out, expected = _run_top(top_activating_patches, seed, unit)
    got = out[0]
    try:
        return f"the {k} largest activations of unit {unit}", compare("values", expected[0], got, ATOL, RTOL)
    except CheckFailed as fail:
        hint = ""
        if torch.is_tensor(got) and got.shape == expected[0].shape:
            g = got.detach().float()
            if torch.allclose(g.sort(descending=True).values, expected[0], atol=ATOL, rtol=RTOL):
                hint = "the right values, not sorted in descending order (topk(..., sorted=True))"
            else:
                variants = {
                    "the k SMALLEST activations; take the largest": _reference(seed, images, unit, k, p, "smallest")[0],
                    "the model ran in train mode: call model.eval()": _reference(
                        seed, images, unit, k, p, "train_mode"
                    )[0],
                }
                for other in range(6):
                    if other != unit:
                        variants[f"channel {other} is used instead of unit {unit}"] = _reference(
                            seed, images, other, k, p
                        )[0]
                hint = next((h for h, v in variants.items() if torch.allclose(v, g, atol=ATOL, rtol=RTOL)), "")
        if hint:
            fail.message += f"; looks like {hint}"
        raise


@run_check("top activating patches: positions")
def check_top_indices(top_activating_patches, seed: int = 0):
    """Are the positions (image_index, row, col) in the layer's output grid, in the order of the values?"""
    _, _, _, (unit, k, p), out, expected = _run_top(top_activating_patches, seed)
    got = out[1]
    if torch.is_tensor(got) and got.shape == (k,):
        raise CheckFailed(
            "indices are flat; return a (k, 3) tensor of (image_index, row, col) in the layer's output grid",
            expected=expected[1],
            got=got,
        )
    if not torch.is_tensor(got) or got.shape != expected[1].shape:
        raise CheckFailed(f"indices must be a (k, 3) = ({k}, 3) tensor", expected=expected[1], got=got)
    if not torch.equal(got.long(), expected[1]):
        hint = ""
        if torch.equal(got.long()[:, [0, 2, 1]], expected[1]):
            hint = "; looks like rows and columns are swapped: (image_index, row, col)"
        elif torch.equal(got.long().sort(dim=0).values, expected[1].sort(dim=0).values):
            hint = "; looks like the right positions in another order: sort them with the values (descending)"
        raise CheckFailed("wrong positions" + hint, expected=expected[1], got=got)
    return f"the {k} positions match"


@run_check("top activating patches: patches")
def check_top_patches(top_activating_patches, seed: int = 0):
    """Is each patch the patch_size window centred on its position's centre in the input, shifted inside the image?"""
    _, _, images, (unit, k, p), out, expected = _run_top(top_activating_patches, seed)
    got = out[2]
    try:
        return f"{k} patches of {p}x{p} pixels", compare("patches", expected[2], got, 0.0, 0.0)
    except CheckFailed as fail:
        if torch.is_tensor(got) and got.shape == expected[2].shape:
            i = int(((got.detach().float() - expected[2]).abs().flatten(1).amax(1) > 0).float().argmax())
            n, r, c = expected[1][i].tolist()
            top = min(max(r * 2 + 1 - p // 2, 0), 16 - p)
            left = min(max(c * 2 + 1 - p // 2, 0), 16 - p)
            fail.message = (
                f"patch {i} (image {n}, grid position ({r}, {c}), scale 2) should be "
                f"images[{n}, :, {top}:{top + p}, {left}:{left + p}]"
            )
        raise


@run_check("top activating patches: hook and mode")
def check_top_hook(top_activating_patches):
    """Is the model run in eval mode without gradients, and is the forward hook removed afterwards?"""
    model, layer, images, unit, k, p = _top_case(4)
    top_activating_patches(model, layer, images, unit, k=k, patch_size=p)
    n = _mode_calls(model, "top_activating_patches")
    if layer._forward_hooks:
        raise CheckFailed("the forward hook is still registered on the layer: call handle.remove() (in a finally)")
    return f"eval mode and no gradients in {n} call(s), hook removed"
