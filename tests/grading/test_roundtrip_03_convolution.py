"""Does real nbgrader grade the convolution assignment end to end (reference, release, wrong, forbidden)?"""

from __future__ import annotations

import pytest
from conftest import solution_cell, with_solutions

pytestmark = pytest.mark.slow
A = "03_convolution"
CELLS = ("conv2d", "max_pool2d", "conv2d_module")


def test_reference_full_release_zero_wrong_partial(grade_batch, course):
    """Reference -> 17/17, release -> 0, flipped kernel and torch's max_pool2d -> partial, with named mistakes."""
    reference = {gid: solution_cell(A, gid) for gid in CELLS}
    flipped = reference["conv2d"].replace(
        "out = weight.reshape(c_out, -1) @ cols", "out = weight.flip(-2, -1).reshape(c_out, -1) @ cols"
    )
    assert flipped != reference["conv2d"]
    torch_pool = (
        reference["max_pool2d"].split('    """\n', 2)[0] + '    """\n    return F.max_pool2d(x, kernel_size, stride)\n'
    )
    proc, rows = grade_batch(
        A,
        {
            "ref": with_solutions(A, reference),
            "release": with_solutions(A, {}),
            "flipped": with_solutions(A, {**reference, "conv2d": flipped}),
            "torch_pool": with_solutions(A, {**reference, "max_pool2d": torch_pool}),
        },
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(rows["ref"]["score"]) == pytest.approx(17.0)
    assert float(rows["ref"]["max_score"]) == pytest.approx(17.0)
    assert float(rows["release"]["score"]) == 0.0

    def scores(student):
        return {k.split("/")[1]: float(v) for k, v in rows[student].items() if k.startswith("convolution/")}

    # A flipped kernel: every conv2d test and the layer's forward fail; pooling, shapes and init keep their points.
    assert scores("flipped") == {
        "conv2d_basic": 0,
        "conv2d_stride": 0,
        "conv2d_padding": 0,
        "conv2d_bias": 0,
        "conv2d_gradients": 0,
        "conv2d_no_builtin": 0,
        "conv2d_hidden": 0,
        "max_pool_basic": 1,
        "max_pool_default_stride": 1,
        "max_pool_lecture": 1,
        "max_pool_gradient": 1,
        "max_pool_hidden": 1,
        "conv2d_module_shapes": 1,
        "conv2d_module_init": 1,
        "conv2d_module_forward": 0,
        "conv2d_module_hidden": 0,
    }
    # torch's own max_pool2d: all five pooling points lost, everything else kept.
    pool = {k: v for k, v in scores("torch_pool").items() if k.startswith("max_pool")}
    assert pool == dict.fromkeys(pool, 0.0) and len(pool) == 5
    assert float(rows["torch_pool"]["score"]) == pytest.approx(12.0)

    feedback = course / "feedback"
    assert "looks like the kernel is flipped" in (feedback / "flipped" / A / "convolution.html").read_text()
    page = (feedback / "torch_pool" / A / "convolution.html").read_text()
    assert "your code calls torch.nn.functional.max_pool2d" in page and "are not allowed in this exercise" in page
    for name in ("ref", "release", "flipped", "torch_pool"):
        page = (feedback / name / A / "convolution.html").read_text()
        assert "BEGIN HIDDEN TESTS" not in page, f"hidden source in {name}"
        assert "check_conv2d_random" not in page and "check_max_pool_no_builtin" not in page, f"hidden call in {name}"
    assert "17/17" in proc.stdout
