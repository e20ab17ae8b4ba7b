"""Do the 07_visualization checks pass the reference and name each deliberate mistake?"""

from __future__ import annotations

import pytest
import torch
from conftest import assert_named_failure

from adl4cv_utils.checks import visualization as V

pytestmark = pytest.mark.usefixtures("one_thread")  # the timings of a grading worker (tests/conftest.py)


def occlusion_map(model, image, target, patch_size=8, stride=4, fill=0.0, mistake=""):
    _, height, width = image.shape
    step = 1 if mistake == "no_stride" else stride
    extra = -1 if mistake == "no_last" else 0
    n_rows = (height - patch_size) // step + 1 + extra
    n_cols = (width - patch_size) // step + 1 + extra
    if mistake == "in_place":
        image[:, :2, :2] = fill
    batch = image[None].repeat(n_rows * n_cols, 1, 1, 1)
    for r in range(n_rows):
        for c in range(n_cols):
            top, left = r * step, c * step
            batch[r * n_cols + c, :, top : top + patch_size, left : left + patch_size] = (
                0.0 if mistake == "fill_zero" else fill
            )
    was = model.training
    if mistake != "train_mode":
        model.eval()
    with torch.set_grad_enabled(mistake == "grad"):
        logits = model(batch)
    if mistake != "no_restore":
        model.train(was)
    if mistake == "logits":
        out = logits[:, target]
    else:
        out = torch.softmax(logits, dim=1)[:, 0 if mistake == "class_0" else target]
    return out.reshape(n_rows, n_cols)


def top_activating_patches(model, layer, images, unit, k=9, patch_size=8, mistake=""):
    store = {}
    handle = layer.register_forward_hook(lambda module, inputs, output: store.update(out=output.detach()))
    was = model.training
    if mistake != "train_mode":
        model.eval()
    with torch.no_grad():
        model(images)
    if mistake != "no_restore":
        model.train(was)
    if mistake != "keep_hook":
        handle.remove()
    act = store["out"][:, unit + (1 if mistake == "next_unit" else 0)]
    _, h, w = act.shape
    if mistake == "square":
        w = h
    values, flat = act.reshape(-1).topk(k, largest=mistake != "smallest")
    if mistake == "unsorted":
        order = torch.randperm(k, generator=torch.Generator().manual_seed(0))
        values, flat = values[order], flat[order]
    img, rows, cols = flat // (h * w), (flat % (h * w)) // w, flat % w
    indices = torch.stack([img, cols, rows] if mistake == "swap" else [img, rows, cols], dim=1)
    if mistake == "flat":
        indices = flat
    _, _, height, width = images.shape
    sr, sc = height // h, width // w
    patches = []
    for n, r, c in zip(img.tolist(), rows.tolist(), cols.tolist()):
        if mistake == "corner":
            top, left = min(r * sr, height - patch_size), min(c * sc, width - patch_size)
        else:
            top = min(max(r * sr + sr // 2 - patch_size // 2, 0), height - patch_size)
            left = min(max(c * sc + sc // 2 - patch_size // 2, 0), width - patch_size)
        patches.append(images[n, :, top : top + patch_size, left : left + patch_size])
    return values, indices, torch.stack(patches)


def test_reference_passes_every_check():
    """Does the reference pass every check (and the hidden variants), each well under 2 s?"""
    results = [
        V.check_occlusion_shape(occlusion_map),
        V.check_occlusion_values(occlusion_map),
        V.check_occlusion_values(occlusion_map, seed=1),
        V.check_occlusion_fill(occlusion_map),
        V.check_occlusion_eval(occlusion_map),
        V.check_top_values(top_activating_patches),
        V.check_top_values(top_activating_patches, seed=1, unit=4),
        V.check_top_indices(top_activating_patches),
        V.check_top_indices(top_activating_patches, seed=1),
        V.check_top_patches(top_activating_patches),
        V.check_top_patches(top_activating_patches, seed=1),
        V.check_top_hook(top_activating_patches),
    ]
    for r in results:
        assert r.passed, r.summary()
        assert r.seconds < 10.0, r.summary()  # generous: the machine running the tests may be loaded


def _o(mistake):
    return lambda model, image, target, patch_size=8, stride=4, fill=0.0: occlusion_map(
        model, image, target, patch_size, stride, fill, mistake
    )


def _t(mistake):
    return lambda model, layer, images, unit, k=9, patch_size=8: top_activating_patches(
        model, layer, images, unit, k, patch_size, mistake
    )


WRONG = {
    "occlusion with logits": (V.check_occlusion_values, _o("logits"), "the map holds logits"),
    "occlusion of class 0": (V.check_occlusion_values, _o("class_0"), "not for the target class"),
    "occlusion missing the last position": (V.check_occlusion_shape, _o("no_last"), "the last position is missing"),
    "occlusion ignoring the stride": (V.check_occlusion_shape, _o("no_stride"), "the stride is ignored"),
    "occlusion filling with 0": (V.check_occlusion_fill, _o("fill_zero"), "use the fill argument"),
    "occlusion in train mode": (V.check_occlusion_eval, _o("train_mode"), "call model.eval()"),
    "occlusion with gradients": (V.check_occlusion_eval, _o("grad"), "torch.no_grad()"),
    "occlusion changing the image": (V.check_occlusion_values, _o("in_place"), "changed in place"),
    "top-k unsorted": (V.check_top_values, _t("unsorted"), "not sorted in descending order"),
    "top-k smallest": (V.check_top_values, _t("smallest"), "SMALLEST"),
    "top-k of the wrong unit": (V.check_top_values, _t("next_unit"), "channel 3 is used instead of unit 2"),
    "top-k in train mode": (V.check_top_values, _t("train_mode"), "train mode"),
    "top-k in train mode (hook check)": (V.check_top_hook, _t("train_mode"), "call model.eval()"),
    "top-k hook left registered": (V.check_top_hook, _t("keep_hook"), "handle.remove()"),
    "top-k rows and columns swapped": (V.check_top_indices, _t("swap"), "rows and columns are swapped"),
    "top-k flat indices": (V.check_top_indices, _t("flat"), "indices are flat"),
    "occlusion not restoring the mode": (V.check_occlusion_eval, _o("no_restore"), "restore it"),
    "top-k not restoring the mode": (V.check_top_hook, _t("no_restore"), "restore it"),
    "top-k assuming a square grid": (V.check_top_indices, _t("square"), "not square"),
    "top-k patches not centred": (V.check_top_patches, _t("corner"), "should be images["),
}


@pytest.mark.parametrize("name", list(WRONG))
def test_wrong_implementation_is_named(name):
    """Does each deliberately wrong implementation fail with a message that names its mistake?"""
    check, impl, text = WRONG[name]
    assert_named_failure(name, check(impl), text)


def test_broken_code_gives_a_failed_result():
    """Do raising code, stubs, wrong shapes and wrong types give failed results, not exceptions?"""

    def stub(*args, **kwargs):
        raise NotImplementedError

    cases = [
        (V.check_occlusion_values(stub), "not implemented"),
        (V.check_occlusion_values(lambda *a, **k: [[0.5]]), "expected a tensor"),
        (V.check_occlusion_shape(lambda *a, **k: torch.zeros(5)), "wrong shape"),
        (V.check_top_values(stub), "not implemented"),
        (V.check_top_values(lambda *a, **k: torch.zeros(5)), "must return (values, indices, patches)"),
        (V.check_top_indices(lambda *a, **k: (None, "x", None)), "(k, 3)"),
        (V.check_top_patches(lambda *a, **k: (None, None, torch.zeros(2))), "wrong shape"),
    ]
    for result, text in cases:
        assert not result.passed
        assert text in result.message, result.summary()
