"""Are a student's occlusion map and top activating patches right? (chapter 9, exercise 07_visualization)

The answers are compared with values stored in ``checks/expected/visualization.pt``, computed
once by the instructor's references (all occluded copies in one batch, Zeiler & Fergus 2014;
``torch.topk`` over a forward hook's output) on a small seeded CNN with BatchNorm (non-trivial
running statistics) and Dropout, handed over in *train* mode, with a probe layer that records the
mode and whether gradients were on at every call. The stored results of known mistakes (logits
instead of probabilities, the wrong class, the wrong fill, train mode, the smallest top-k, the
wrong channel, ...) name the mistake when one matches; shape mistakes are recognised from the
shape. Contract decisions checked here: the model's mode is restored afterwards; the scale of the
grid is the integer ``H // h`` (and ``W // w``), also for a non-square grid; among equal
activations any order is accepted.
"""

from __future__ import annotations

import torch

from adl4cv_utils.checks.fixtures import cnn, expected, image, images, probe_of
from adl4cv_utils.checks.result import CheckFailed, compare, looks_like, run_check

ATOL, RTOL = 1e-5, 1e-4

OCCLUSION_MISTAKES = {
    "logits": "the map holds logits; it must hold the softmax probability of the target class",
    "class_0": "the map is for class 0, not for the target class",
    "softmax_dim0": "softmax is taken over the batch of occluded images; take it over the classes (dim=1)",
    "one_minus": "the map holds 1 - probability; it must hold the probability of the target class",
    "fill_zero": "the patch is filled with 0; use the fill argument",
    "train_mode": "the model ran in train mode (dropout on, BatchNorm with batch statistics): call model.eval()",
}
# (seed, H, W, target, patch_size, stride, fill) of every stored occlusion case
OCCLUSION_CASES = (
    (0, 16, 16, 1, 8, 4, 0.0),
    (0, 16, 12, 1, 5, 3, 0.0),
    (0, 12, 16, 1, 4, 4, 0.0),
    *((seed, 16, 16, target, 6, 2, 0.0) for seed in (0, 1) for target in (2, 3)),
    (3, 16, 16, 1, 8, 4, 0.5),
    (5, 16, 16, 0, 8, 4, 0.0),
)
TOP_MISTAKES = ("smallest", "train_mode")
# (seed, H, W) of the stored top-k cases (every unit, k=5, patch_size=6; the layer is the second BatchNorm)
TOP_CASES = ((0, 16, 16), (1, 16, 16), (2, 17, 13))
TOP_K, TOP_PATCH, TOP_LAYER, UNITS = 5, 6, 5, 6
GRID_CASE = (2, 17, 13)  # a non-square 8x6 grid whose scale 17 // 8 = 13 // 6 = 2 is not 17 / 8


def occlusion_key(seed, h, w, target, patch_size, stride, fill, mistake: str = "") -> str:
    """The key of a stored occlusion map."""
    return f"occlusion/seed={seed}/{h}x{w}/t={target}/p={patch_size}/s={stride}/fill={fill:g}/{mistake or 'right'}"


def top_key(seed, h, w, unit, mistake: str = "") -> str:
    """The key of a stored (values, indices, patches) triple."""
    return f"top/seed={seed}/{h}x{w}/unit={unit}/k={TOP_K}/p={TOP_PATCH}/{mistake or 'right'}"


# ---------------------------------------------------------------------------------------------
# Occlusion
# ---------------------------------------------------------------------------------------------


def map_shape_hint(rows: int, cols: int, h: int, w: int, p: int, s: int, want: tuple[int, int]) -> str:
    """The known mistake an occlusion map of shape (rows, cols) points to, for an H x W image ('' if none)."""
    if (rows, cols) == ((h - p) // s, (w - p) // s):
        return "the last position is missing: n = (H - patch_size) // stride + 1"
    if (rows, cols) == (h - p + 1, w - p + 1):
        return "the stride is ignored: the patch moves by `stride` pixels"
    if (rows, cols) == ((w - p) // s + 1, (h - p) // s + 1):
        return "rows and columns are swapped: the map is (n_rows, n_cols) for an image (C, H, W)"
    if rows > want[0] or cols > want[1]:
        return "patches run past the border: only whole patches, n = (H - patch_size) // stride + 1"
    return ""


def check_map_shape(got, want: tuple[int, int], h: int, w: int, p: int, s: int) -> str:
    """Raise CheckFailed naming the mistake when a 2-D map ``got`` does not have the shape ``want``; else the
    case's description for later messages."""
    where = f"image {h}x{w}, patch {p}, stride {s}"
    if torch.is_tensor(got) and got.ndim == 2 and tuple(got.shape) != tuple(want):
        raise CheckFailed(
            f"wrong shape of the map ({where})" + looks_like(map_shape_hint(*got.shape, h, w, p, s, want)),
            expected=tuple(want),
            got=tuple(got.shape),
        )
    return where


def _occlusion_case(occlusion_map, h, w, target, patch_size, stride, fill, seed=0, mistakes=()):
    want = expected("visualization", occlusion_key(seed, h, w, target, patch_size, stride, fill))
    model = cnn(seed)
    img = image(seed + 1, h, w)
    image_in = img.clone()
    got = occlusion_map(model, image_in, target, patch_size=patch_size, stride=stride, fill=fill)
    if not torch.equal(image_in, img):
        raise CheckFailed("the image was changed in place: occlude a copy (image.clone()) for each patch position")
    where = check_map_shape(got, tuple(want.shape), h, w, patch_size, stride)
    try:
        return compare(f"occlusion map ({where})", want, got, ATOL, RTOL)
    except CheckFailed as fail:
        for mistake in mistakes:
            variant = expected("visualization", occlusion_key(seed, h, w, target, patch_size, stride, fill, mistake))
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
        mistakes = ("logits", "class_0", "softmax_dim0", "one_minus")
        diff = max(diff, _occlusion_case(occlusion_map, 16, 16, target, 6, 2, 0.0, seed, mistakes))
    return "target-class probabilities as the reference for 2 targets", diff


@run_check("occlusion map: fill")
def check_occlusion_fill(occlusion_map):
    """Is the patch filled with the fill value (0.5 here)?"""
    return "right with fill=0.5", _occlusion_case(occlusion_map, 16, 16, 1, 8, 4, 0.5, 3, ("fill_zero",))


def _mode_calls(model, what, was_training=True):
    calls = probe_of(model).calls
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
    if model.training != was_training:
        raise CheckFailed(
            f"the model came in train mode and {what} left it in eval mode: remember model.training and "
            "restore it afterwards with model.train(was_training)"
        )
    return len(calls)


@run_check("occlusion map: eval mode, no gradients, mode restored")
def check_occlusion_eval(occlusion_map):
    """Does the model run in eval mode without gradients, is its mode restored, and is the result right?"""
    model = cnn(5)
    got = occlusion_map(model, image(6, 16, 16), 0, patch_size=8, stride=4, fill=0.0)
    n = _mode_calls(model, "occlusion_map")
    diff = compare("occlusion map", expected("visualization", occlusion_key(5, 16, 16, 0, 8, 4, 0.0)), got, ATOL, RTOL)
    return f"eval mode and no gradients in all {n} model call(s), train mode restored", diff


# ---------------------------------------------------------------------------------------------
# Top activating patches
# ---------------------------------------------------------------------------------------------


def _size(seed: int) -> tuple[int, int]:
    return next(((h, w) for s, h, w in TOP_CASES if s == seed), (16, 16))


def _run_top(top_activating_patches, seed=0, unit=2):
    h, w = _size(seed)
    want = expected("visualization", top_key(seed, h, w, unit), "seed, unit")
    model = cnn(seed)
    imgs = images(seed, h, w)
    images_in = imgs.clone()
    out = top_activating_patches(model, model[TOP_LAYER], images_in, unit, k=TOP_K, patch_size=TOP_PATCH)
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise CheckFailed(f"top_activating_patches must return (values, indices, patches), got {type(out).__name__}")
    if not torch.equal(images_in, imgs):
        raise CheckFailed("the images were changed in place")
    return model, imgs, out, want


def _tie_order(values: torch.Tensor, want_idx: torch.Tensor, got_idx) -> torch.Tensor | None:
    """A permutation of the expected rows that gives ``got_idx``, moving rows only among equal values."""
    if not torch.is_tensor(got_idx) or got_idx.shape != want_idx.shape:
        return None
    got_idx = got_idx.long()
    perm = []
    for row in got_idx:
        match = [j for j in range(len(want_idx)) if torch.equal(want_idx[j], row) and j not in perm]
        if not match:
            return None
        perm.append(match[0])
    perm = torch.tensor(perm)
    return perm if torch.equal(values[perm], values) else None


@run_check("top activating patches: values")
def check_top_values(top_activating_patches, seed: int = 0, unit: int = 2):
    """Are the k largest activations of channel `unit` over all images and positions returned, sorted descending?"""
    _, _, out, want = _run_top(top_activating_patches, seed, unit)
    got = out[0]
    try:
        return f"the {TOP_K} largest activations of unit {unit}", compare("values", want[0], got, ATOL, RTOL)
    except CheckFailed as fail:
        hint = ""
        if torch.is_tensor(got) and got.shape == want[0].shape:
            g = got.detach().float()
            h, w = _size(seed)
            if torch.allclose(g.sort(descending=True).values, want[0], atol=ATOL, rtol=RTOL):
                hint = "the right values, not sorted in descending order (topk(..., sorted=True))"
            else:
                variants = {
                    "the k SMALLEST activations; take the largest": top_key(seed, h, w, unit, "smallest"),
                    "the model ran in train mode: call model.eval()": top_key(seed, h, w, unit, "train_mode"),
                }
                for other in range(UNITS):
                    if other != unit:
                        variants[f"channel {other} is used instead of unit {unit}"] = top_key(seed, h, w, other)
                hint = next(
                    (
                        m
                        for m, key in variants.items()
                        if torch.allclose(expected("visualization", key)[0], g, ATOL, RTOL)
                    ),
                    "",
                )
        if hint:
            fail.message += f"; looks like {hint}"
        raise


def _indices_case(top_activating_patches, seed):
    _, _, out, want = _run_top(top_activating_patches, seed)
    got, h, w = out[1], *_size(seed)
    where = f"images {h}x{w}"
    if torch.is_tensor(got) and got.shape == (TOP_K,):
        raise CheckFailed(
            f"{where}: indices are flat; return a (k, 3) tensor of (image_index, row, col) in the layer's output grid",
            expected=want[1],
            got=got,
        )
    if not torch.is_tensor(got) or got.shape != want[1].shape:
        raise CheckFailed(f"{where}: indices must be a (k, 3) = ({TOP_K}, 3) tensor", expected=want[1], got=got)
    if _tie_order(want[0], want[1], got) is None:
        hint = ""
        if torch.equal(got.long()[:, [0, 2, 1]], want[1]):
            hint = "; looks like rows and columns are swapped: (image_index, row, col)"
        elif torch.equal(got.long().sort(dim=0).values, want[1].sort(dim=0).values):
            hint = "; looks like the right positions in another order: sort them with the values (descending)"
        elif h != w:
            hint = "; the grid is not square here (8x6): use the layer output's own height h and width w"
        raise CheckFailed(f"{where}: wrong positions" + hint, expected=want[1], got=got)


@run_check("top activating patches: positions")
def check_top_indices(top_activating_patches, seed: int = 0):
    """Are the positions (image_index, row, col) in the layer's output grid, in the order of the values (also 8x6)?"""
    for s in (seed, GRID_CASE[0]):
        _indices_case(top_activating_patches, s)
    return f"the {TOP_K} positions match on a square and a non-square (8x6) grid"


def _patches_case(top_activating_patches, seed):
    _, imgs, out, want = _run_top(top_activating_patches, seed)
    got, (height, width), p = out[2], _size(seed), TOP_PATCH
    perm = _tie_order(want[0], want[1], out[1])
    exp_patches = want[2][perm] if perm is not None else want[2]
    try:
        return compare(f"patches (images {height}x{width})", exp_patches, got, 0.0, 0.0)
    except CheckFailed as fail:
        if torch.is_tensor(got) and got.shape == exp_patches.shape:
            grid = (8, 8) if (height, width) == (16, 16) else (8, 6)
            sr, sc = height // grid[0], width // grid[1]
            i = int(((got.detach().float() - exp_patches).abs().flatten(1).amax(1) > 0).float().argmax())
            n, r, c = want[1][perm[i] if perm is not None else i].tolist()
            top, left = patch_window(r, c, sr, sc, p, height, width)
            fail.message = (
                f"patch {i} (image {n}, grid position ({r}, {c}) of {grid[0]}x{grid[1]}, scale H // h = {sr}, "
                f"W // w = {sc}) should be images[{n}, :, {top}:{top + p}, {left}:{left + p}]"
            )
        raise


@run_check("top activating patches: patches")
def check_top_patches(top_activating_patches, seed: int = 0):
    """Is each patch the window centred on its position's centre (scale H // h), shifted inside the image?"""
    diff = max(_patches_case(top_activating_patches, s) for s in (seed, GRID_CASE[0]))
    return f"{TOP_K} patches of {TOP_PATCH}x{TOP_PATCH} pixels on a square and a 17x13 image", diff


@run_check("top activating patches: hook and mode")
def check_top_hook(top_activating_patches):
    """Is the model run in eval mode without gradients, its mode restored, and the forward hook removed afterwards?"""
    model = cnn(4)
    layer = model[TOP_LAYER]
    top_activating_patches(model, layer, images(4), 2, k=TOP_K, patch_size=TOP_PATCH)
    n = _mode_calls(model, "top_activating_patches")
    if layer._forward_hooks:
        raise CheckFailed("the forward hook is still registered on the layer: call handle.remove() (in a finally)")
    return f"eval mode and no gradients in {n} call(s), train mode restored, hook removed"


def patch_window(r: int, c: int, sr: int, sc: int, p: int, height: int, width: int) -> tuple[int, int]:
    """(top, left) of the p x p window centred on grid position (r, c) at scale (sr, sc), shifted inside the image."""
    top = min(max(r * sr + sr // 2 - p // 2, 0), height - p)
    left = min(max(c * sc + sc // 2 - p // 2, 0), width - p)
    return top, left
