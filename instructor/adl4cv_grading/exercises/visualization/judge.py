"""Judge of 07_visualization: occlusion maps and top activating patches on a secret CNN and secret images.

The probes (adl4cv_utils.checks.visualization.probes) run the student's functions on a CNN handed over
in train mode and return the outputs, the modes seen by a recorder layer and whether a hook was left.
The references (visualization_refs.py) run here on the same weights. Images are not square, so the
layer's grid is not square either (``s = H // h`` rows, ``W // w`` columns).
"""

from __future__ import annotations

import torch

from adl4cv_grading.exercises.visualization import judge_refs as R
from adl4cv_grading.judge_tests import Context, judge_test
from adl4cv_utils.checks.result import CheckFailed, compare
from adl4cv_utils.checks.visualization import check_map_shape, patch_window

ATOL, RTOL = 1e-5, 1e-4

# ---------------------------------------------------------------------------------------------
# occlusion_map
# ---------------------------------------------------------------------------------------------


def _modes(calls, what: str) -> int:
    if not calls:
        raise CheckFailed(f"{what} never called the model")
    if any(c[0] for c in calls):
        raise CheckFailed(
            f"the model ran in train mode during {what} (dropout drops, BatchNorm uses batch statistics): "
            "call model.eval() first",
            expected="training=False at every call",
            got=[c[0] for c in calls],
        )
    if any(c[1] for c in calls):
        raise CheckFailed(f"gradients were enabled during {what}: run the model under torch.no_grad()")
    return len(calls)


def _occlusion(ctx: Context, cnn: R.Cnn, h, w, target, p, s, fill, mistakes=(), eval_check=False) -> float:
    image = torch.rand(3, h, w, generator=cnn.gen)
    info = ctx.probe(
        "visualization.occlusion", **cnn.probe_inputs(), image=image, target=target, patch_size=p, stride=s,
        fill=fill,
    )  # fmt: skip
    if info.get("changed"):
        raise CheckFailed("the image was changed in place: occlude a copy (image.clone()) for each patch position")
    if eval_check:
        _modes(info.get("calls"), "occlusion_map")
    got = info.get("map")
    expected = R.occlusion(cnn.model(), image, target, p, s, fill, cnn.seed)
    where = check_map_shape(got, tuple(expected.shape), h, w, p, s)
    try:
        return compare(f"occlusion map ({where}, target {target})", expected, got, ATOL, RTOL)
    except CheckFailed as fail:
        for mistake in mistakes:
            variant = R.occlusion(cnn.model(), image, target, p, s, fill, cnn.seed, mistake)
            if torch.is_tensor(got) and got.shape == variant.shape and torch.allclose(variant, got.float(), ATOL, RTOL):
                fail.message += f"; looks like {R.OCCLUSION_MISTAKES[mistake]}"
                break
        raise


def _size(ctx: Context, salt: str, low: int, high: int) -> int:
    return 2 * ctx.randint(low // 2, high // 2 + 1, salt)  # even: the CNN's max-pool halves it exactly


@judge_test("occlusion_positions", "occlusion_map")
def occlusion_positions(ctx: Context):
    cnn = R.Cnn(ctx, "positions")
    done = []
    for i in range(3):
        h, w = _size(ctx, f"h{i}", 10, 20), _size(ctx, f"w{i}", 10, 20)
        p = ctx.randint(3, 9, f"p{i}")
        s = ctx.randint(2, 6, f"s{i}")
        _occlusion(ctx, cnn, h, w, ctx.randint(0, cnn.spec["classes"], f"t{i}"), p, s, 0.0)
        done.append(f"{h}x{w}/{p}/{s}")
    return f"right shape and values for {', '.join(done)}"


@judge_test("occlusion_values", "occlusion_map")
def occlusion_values(ctx: Context):
    cnn = R.Cnn(ctx, "values")
    targets = torch.randperm(cnn.spec["classes"], generator=ctx.generator("targets"))[:2].tolist()
    h, w, p, s = _size(ctx, "h", 12, 20), _size(ctx, "w", 12, 20), ctx.randint(4, 8, "p"), ctx.randint(2, 4, "s")
    mistakes = ("logits", "class_0", "softmax_dim0", "one_minus", "train_mode")
    diff = max(_occlusion(ctx, cnn, h, w, t, p, s, 0.0, mistakes) for t in targets)
    return f"target-class probabilities as the reference for targets {targets}", diff


@judge_test("occlusion_fill", "occlusion_map")
def occlusion_fill(ctx: Context):
    cnn = R.Cnn(ctx, "fill")
    fill = round(0.2 + 0.7 * float(torch.rand((), generator=ctx.generator("fill"))), 3)
    diff = _occlusion(ctx, cnn, 16, _size(ctx, "w", 12, 20), 1, ctx.randint(4, 9, "p"), 4, fill, ("fill_zero",))
    return f"right with fill={fill}", diff


@judge_test("occlusion_eval", "occlusion_map")
def occlusion_eval(ctx: Context):
    cnn = R.Cnn(ctx, "eval")
    diff = _occlusion(ctx, cnn, 16, 16, 0, 8, 4, 0.0, eval_check=True)
    return "eval mode and no gradients at every model call, the map as the reference", diff


@judge_test("occlusion_hidden", "occlusion_map")
def occlusion_hidden(ctx: Context):
    cnn = R.Cnn(ctx, "hidden")
    h, w, p, s = _size(ctx, "h", 14, 22), _size(ctx, "w", 10, 16), ctx.randint(3, 7, "p"), ctx.randint(1, 4, "s")
    mistakes = ("logits", "class_0", "softmax_dim0", "one_minus", "train_mode")
    return "another model and image", _occlusion(ctx, cnn, h, w, cnn.spec["classes"] - 1, p, s, 0.0, mistakes)


# ---------------------------------------------------------------------------------------------
# top_activating_patches
# ---------------------------------------------------------------------------------------------


def _top(ctx: Context, salt: str):
    """Run the probe on a fresh secret case: (cnn, images, (unit, k, p), info, outputs, reference)."""
    cnn = R.Cnn(ctx, salt)
    n, h, w = ctx.randint(4, 8, "n:" + salt), _size(ctx, "h:" + salt, 12, 20), _size(ctx, "w:" + salt, 12, 20)
    while w == h:
        w += 4  # a grid that is not square
    images = torch.rand(n, 3, h, w, generator=cnn.gen)
    unit, k, p = ctx.randint(0, cnn.spec["c2"], "unit:" + salt), ctx.randint(3, 8, "k:" + salt), ctx.randint(4, 8, "p")
    info = ctx.probe("visualization.top", **cnn.probe_inputs(), images=images, unit=unit, k=k, patch_size=p)
    out = info.get("out")
    if not isinstance(out, (tuple, list)) or len(out) != 3:
        raise CheckFailed(f"top_activating_patches must return (values, indices, patches), got {out!r}"[:200])
    if info.get("changed"):
        raise CheckFailed("the images were changed in place")
    return cnn, images, (unit, k, p), info, out, R.top_patches(cnn.model(), images, unit, k, p)


def _values(cnn, images, unit, k, p, got, expected) -> float:
    try:
        return compare(f"values (unit {unit}, k={k})", expected[0], got, ATOL, RTOL)
    except CheckFailed as fail:
        hint = ""
        if torch.is_tensor(got) and got.shape == expected[0].shape:
            g = got.float()
            if torch.allclose(g.sort(descending=True).values, expected[0], atol=ATOL, rtol=RTOL):
                hint = "the right values, not sorted in descending order (topk(..., sorted=True))"
            variants = {
                "the k SMALLEST activations; take the largest": (unit, "smallest"),
                "the model ran in train mode: call model.eval()": (unit, "train_mode"),
                **{f"channel {o} is used instead of unit {unit}": (o, "") for o in range(cnn.spec["c2"]) if o != unit},
            }
            for text, (channel, mistake) in variants.items():
                if hint:
                    break
                v = R.top_patches(cnn.model(), images, channel, k, p, mistake)[0]
                hint = text if torch.allclose(v, g, atol=ATOL, rtol=RTOL) else ""
        if hint:
            fail.message += f"; looks like {hint}"
        raise


def _indices(k, got, expected) -> None:
    if torch.is_tensor(got) and tuple(got.shape) == (k,):
        raise CheckFailed(
            "indices are flat; return a (k, 3) tensor of (image_index, row, col) in the layer's output grid",
            expected=expected[1],
            got=got,
        )
    if not torch.is_tensor(got) or tuple(got.shape) != tuple(expected[1].shape):
        raise CheckFailed(f"indices must be a (k, 3) = ({k}, 3) tensor", expected=expected[1], got=got)
    got = got.long()
    if not torch.equal(got, expected[1]):
        hint = ""
        if torch.equal(got[:, [0, 2, 1]], expected[1]):
            hint = "; looks like rows and columns are swapped: (image_index, row, col)"
        elif torch.equal(got.sort(dim=0).values, expected[1].sort(dim=0).values):
            hint = "; looks like the right positions in another order: sort them with the values (descending)"
        raise CheckFailed("wrong positions in the layer's (non-square) grid" + hint, expected=expected[1], got=got)


def _patches(images, p, got, expected) -> float:
    try:
        return compare(f"patches ({p}x{p})", expected[2], got, 0.0, 0.0)
    except CheckFailed as fail:
        if torch.is_tensor(got) and got.shape == expected[2].shape:
            i = int(((got.float() - expected[2]).abs().flatten(1).amax(1) > 0).float().argmax())
            n, r, c = expected[1][i].tolist()
            _, _, height, width = images.shape
            h, w = height // 2, width // 2  # the layer's grid
            sr, sc = height // h, width // w
            top, left = patch_window(r, c, sr, sc, p, height, width)
            fail.message = (
                f"patch {i} (image {n}, grid position ({r}, {c}) of a {h}x{w} grid, scale {sr}x{sc}) should be "
                f"images[{n}, :, {top}:{top + p}, {left}:{left + p}] (centred, shifted inside the image)"
            )
        raise


@judge_test("top_values", "top_activating_patches")
def top_values(ctx: Context):
    cnn, images, (unit, k, p), _, out, expected = _top(ctx, "values")
    return f"the {k} largest activations of unit {unit}", _values(cnn, images, unit, k, p, out[0], expected)


@judge_test("top_indices", "top_activating_patches")
def top_indices(ctx: Context):
    _, images, (unit, k, p), _, out, expected = _top(ctx, "indices")
    _indices(k, out[1], expected)
    return f"the {k} positions match in a {images.shape[2] // 2}x{images.shape[3] // 2} grid"


@judge_test("top_patches", "top_activating_patches")
def top_patches(ctx: Context):
    _, images, (unit, k, p), _, out, expected = _top(ctx, "patches")
    return f"{k} patches of {p}x{p} pixels", _patches(images, p, out[2], expected)


@judge_test("top_hook", "top_activating_patches")
def top_hook(ctx: Context):
    _, _, _, info, _, _ = _top(ctx, "hook")
    n = _modes(info.get("calls"), "top_activating_patches")
    if info.get("hooks_left"):
        raise CheckFailed("the forward hook is still registered on the layer: call handle.remove() (in a finally)")
    return f"eval mode and no gradients in {n} call(s), hook removed"


@judge_test("top_hidden", "top_activating_patches")
def top_hidden(ctx: Context):
    cnn, images, (unit, k, p), _, out, expected = _top(ctx, "hidden")
    diff = _values(cnn, images, unit, k, p, out[0], expected)
    _indices(k, out[1], expected)
    return "another model, unit and images: values, positions and patches", max(
        diff, _patches(images, p, out[2], expected)
    )
