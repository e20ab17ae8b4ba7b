"""Does the judge of 03_convolution give the reference full marks, the release zero, and wrong or delegating
convolution code exactly the points it earns, with messages naming the mistake?"""

from __future__ import annotations

import pytest
from conftest import solution_cell

from . import harness
from .harness import edit

A = "03_convolution"
CONV_IDS = ["conv2d_basic", "conv2d_stride", "conv2d_padding", "conv2d_bias", "conv2d_gradients"]
CONV_IDS += ["conv2d_no_builtin", "conv2d_hidden"]
POOL_IDS = ["max_pool_basic", "max_pool_default_stride", "max_pool_lecture", "max_pool_gradient", "max_pool_hidden"]
MODULE_IDS = ["conv2d_module_shapes", "conv2d_module_init", "conv2d_module_forward", "conv2d_module_hidden"]
CONV, POOL, MODULE = (solution_cell(A, gid) for gid in ("conv2d", "max_pool2d", "conv2d_module"))
CONV_RETURN = "return out.reshape(n, c_out, h_out, w_out)"
POOL_RETURN = "return windows.flatten(-2).max(dim=-1).values"
SIGNATURE = "def conv2d(x, weight, bias=None, stride=1, padding=0):\n"
POOL_SIGNATURE = "def max_pool2d(x, kernel_size, stride=None):\n"


def wrap(name: str, body: str, signature: str = "x, weight, bias=None, stride=1, padding=0") -> str:
    """The reference renamed ``_ref_<name>`` plus a ``name`` whose body calls it (a wrong variant of it)."""
    ref = {"conv2d": CONV, "max_pool2d": POOL}[name].replace(f"def {name}(", f"def _ref_{name}(")
    return f"{ref}\n\ndef {name}({signature}):\n" + "".join(f"    {line}\n" for line in body.splitlines())


judged = harness.session_fixture(A)


def test_every_test_cell_has_a_judge_test(judged):
    """Does every graded cell of the notebook have a judge test, and no judge test lack a cell?"""
    harness.assert_every_test_cell_judged(judged, A, CONV_IDS + POOL_IDS + MODULE_IDS)


@pytest.mark.slow
def test_reference_notebook_gets_full_marks():
    """Does the solution notebook, run whole, get every point from the judge (two secret seeds)?"""
    harness.assert_reference_full_marks(A, (0, 777))


def test_release_notebook_gets_zero():
    """Does the release notebook (stubs) get zero on every cell, each saying it is not implemented?"""
    harness.assert_release_zero(A)


def test_reference_gets_full_marks_for_many_seeds(judged):
    """Does the reference pass every cell for 20 secret seeds (no test, the initialisation statistics
    included, fails correct code by chance)?"""
    harness.assert_session_full_marks(judged)


LOOPS = """
def conv2d(x, weight, bias=None, stride=1, padding=0):
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    x = torch.cat([x.new_zeros(*x.shape[:2], ph, x.shape[3]), x, x.new_zeros(*x.shape[:2], ph, x.shape[3])], 2)
    x = torch.cat([x.new_zeros(*x.shape[:3], pw), x, x.new_zeros(*x.shape[:3], pw)], 3)
    n, _, h, w = x.shape
    c_out, _, kh, kw = weight.shape
    rows = []
    for i in range((h - kh) // sh + 1):
        row = []
        for j in range((w - kw) // sw + 1):
            window = x[:, :, i * sh : i * sh + kh, j * sw : j * sw + kw]
            row.append(torch.einsum("nchw,ochw->no", window, weight))
        rows.append(torch.stack(row, -1))
    out = torch.stack(rows, -2)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
"""


def test_allowed_building_blocks_keep_full_marks(judged):
    """Do a conv2d written with loops, torch.cat and torch.einsum, and the reference's F.unfold and
    Tensor.unfold, keep every point?"""
    verdicts = judged.verdicts({"conv2d": LOOPS}, seed=3)
    assert all(v.passed and v.score == v.points for v in verdicts.values()), {
        k: v.message for k, v in verdicts.items() if not v.passed
    }


# ---------------------------------------------------------------------------------------------
# Wrong conv2d, max_pool2d and Conv2d (the self-checks' mistakes).
# ---------------------------------------------------------------------------------------------

WRONG = {
    "flipped": (
        {"conv2d": wrap("conv2d", "return _ref_conv2d(x, weight.flip(-2, -1), bias, stride, padding)")},
        CONV_IDS,
        "kernel is flipped",
    ),  # fmt: skip
    "transposed": (
        {"conv2d": wrap("conv2d", "return _ref_conv2d(x, weight.transpose(-2, -1), bias, stride, padding)")},
        ["conv2d_basic"],
        "kernel is transposed",
    ),
    "one side": (
        {
            "conv2d": wrap(
                "conv2d",
                "ph, pw = pair(padding)\nreturn _ref_conv2d(F.pad(x, (pw, 0, ph, 0)), weight, bias, stride, 0)",
            )
        },
        ["conv2d_padding"],
        "padding is on one side only",
    ),  # fmt: skip
    "replicate": (
        {
            "conv2d": wrap(
                "conv2d",
                "ph, pw = pair(padding)\n"
                "return _ref_conv2d(F.pad(x, (pw, pw, ph, ph), mode='replicate'), weight, bias, stride, 0)",
            )
        },
        ["conv2d_padding"],
        "repeating the edge pixels",
    ),  # fmt: skip
    "stride ignored": (
        {"conv2d": wrap("conv2d", "return _ref_conv2d(x, weight, bias, 1, padding)")},
        ["conv2d_stride"],
        "stride is ignored",
    ),
    "bias dropped": (
        {"conv2d": wrap("conv2d", "return _ref_conv2d(x, weight, None, stride, padding)")},
        ["conv2d_bias", "conv2d_gradients"],
        "bias is dropped",
    ),
    "bias per input": (
        {
            "conv2d": wrap(
                "conv2d",
                "out = _ref_conv2d(x, weight, None, stride, padding)\n"
                "return out if bias is None else out + x.shape[1] * bias.reshape(1, -1, 1, 1)",
            )
        },
        ["conv2d_bias"],
        "once per input channel",
    ),  # fmt: skip
    "bias width": (
        {
            "conv2d": wrap(
                "conv2d",
                "out = _ref_conv2d(x, weight, None, stride, padding)\nreturn out if bias is None else out + bias",
            )
        },
        ["conv2d_bias"],
        "broadcast along the width",
    ),  # fmt: skip
    "wrong shape": (
        {"conv2d": edit(CONV, (CONV_RETURN, CONV_RETURN + "[..., :-1]"))},
        ["conv2d_basic"],
        "floor((I - K + 2P) / S) + 1",
    ),
    "list": ({"conv2d": edit(CONV, (CONV_RETURN, CONV_RETURN + ".tolist()"))}, CONV_IDS, "expected a tensor, got list"),
    "detached": (
        {"conv2d": edit(CONV, (CONV_RETURN, CONV_RETURN + ".detach()"))},
        ["conv2d_gradients", "conv2d_hidden", "conv2d_no_builtin"],
        "not connected to the autograd graph",
    ),
    "float32": ({"conv2d": edit(CONV, (CONV_RETURN, CONV_RETURN + ".float()"))}, ["conv2d_basic"], "dtype=x.dtype"),
    "raises": (
        {"conv2d": "def conv2d(x, weight, bias=None, stride=1, padding=0):\n    raise ValueError('boom')"},
        CONV_IDS,
        "your code raised ValueError: boom",
    ),  # fmt: skip
    "pool stride ignored": (
        {"max_pool2d": wrap("max_pool2d", "return _ref_max_pool2d(x, kernel_size, 1)", "x, kernel_size, stride=None")},
        ["max_pool_basic", "max_pool_lecture", "max_pool_default_stride"],
        "move by 1 pixel",
    ),
    "pool average": (
        {"max_pool2d": edit(POOL, (POOL_RETURN, "return windows.flatten(-2).mean(dim=-1)"))},
        POOL_IDS,
        "average pooling",
    ),
    "pool minimum": (
        {"max_pool2d": edit(POOL, (POOL_RETURN, "return windows.flatten(-2).min(dim=-1).values"))},
        ["max_pool_basic", "max_pool_lecture"],
        "minimum",
    ),
    "pool detached": (
        {"max_pool2d": edit(POOL, (POOL_RETURN, POOL_RETURN + ".detach()"))},
        ["max_pool_gradient", "max_pool_hidden"],
        "not connected to the autograd graph",
    ),
    "pool forged lecture answer": (
        {
            "max_pool2d": wrap(
                "max_pool2d",
                "if x.shape == (1, 1, 4, 4):\n    return torch.tensor([[[[6.0, 9], [3, 4]]]], dtype=x.dtype)\n"
                "return _ref_max_pool2d(x, kernel_size, stride)",
                "x, kernel_size, stride=None",
            )
        },
        ["max_pool_lecture"],
        "shuffled",
    ),  # fmt: skip
    "module randn init": (
        {
            "conv2d_module": edit(
                MODULE, ("nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))", "nn.init.normal_(self.weight)")
            )
        },
        ["conv2d_module_init"],
        "torch.randn",
    ),  # fmt: skip
    "module init without a": (
        {
            "conv2d_module": edit(
                MODULE,
                ("nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5))", "nn.init.kaiming_uniform_(self.weight)"),
            )
        },
        ["conv2d_module_init"],
        "without a=math.sqrt(5)",
    ),  # fmt: skip
    "module zero bias": (
        {"conv2d_module": edit(MODULE, ("nn.init.uniform_(self.bias, -bound, bound)", "nn.init.zeros_(self.bias)"))},
        ["conv2d_module_init"],
        "all values are equal",
    ),
    "module bias always": (
        {"conv2d_module": edit(MODULE, ("if bias else None", ""))},
        ["conv2d_module_shapes"],
        "must be None",
    ),
    "module swapped": (
        {
            "conv2d_module": edit(
                MODULE,
                ("torch.empty(out_channels, in_channels, kh, kw)", "torch.empty(in_channels, out_channels, kh, kw)"),
            )
        },
        ["conv2d_module_shapes", "conv2d_module_forward"],
        "swapped",
    ),  # fmt: skip
    "module plain tensor": (
        {
            "conv2d_module": edit(
                MODULE,
                (
                    "nn.Parameter(torch.empty(out_channels, in_channels, kh, kw))",
                    "torch.empty(out_channels, in_channels, kh, kw)",
                ),
            )
        },
        ["conv2d_module_shapes"],
        "wrap it in nn.Parameter",
    ),  # fmt: skip
    "module ignores stride": (
        {"conv2d_module": edit(MODULE, ("stride=self.stride", "stride=1"))},
        ["conv2d_module_forward", "conv2d_module_hidden"],
        "stride is ignored",
    ),
    "module not a module class": (
        {"conv2d_module": "Conv2d = int"},
        MODULE_IDS,
        "Conv2d must be a subclass of nn.Module",
    ),
    "module no padding argument": (
        {
            "conv2d_module": edit(
                MODULE,
                ("stride=1, padding=0, bias=True", "stride=1, bias=True"),
                ("self.stride, self.padding = stride, padding", "self.stride, self.padding = stride, 0"),
            )
        },
        ["conv2d_module_shapes", "conv2d_module_forward", "conv2d_module_hidden"],
        "",
    ),  # fmt: skip
}
MUST_SAY = {"module no padding argument": {"conv2d_module_shapes": "no argument 'padding'"}}


@pytest.mark.parametrize("mistake", list(WRONG))
def test_wrong_code_loses_the_cells_it_fails(judged, mistake):
    """Does each known-wrong conv2d, max_pool2d or Conv2d fail the cells that test its mistake, with a message
    naming it (and does the judge go on)?"""
    replacements, failing, text = WRONG[mistake]
    verdicts = judged.verdicts(replacements, seed=5)
    harness.assert_lost(verdicts, failing, text)
    for gid, text in MUST_SAY.get(mistake, {}).items():
        assert text in verdicts[gid].message, (gid, verdicts[gid].message)


def test_default_stride_mistake_keeps_explicit_stride_points(judged):
    """Does a stride that defaults to 1 lose only the default-stride cell, not the explicit ones?"""
    source = wrap(
        "max_pool2d",
        "return _ref_max_pool2d(x, kernel_size, 1 if stride is None else stride)",
        "x, kernel_size, stride=None",
    )
    verdicts = judged.verdicts({"max_pool2d": source}, POOL_IDS, seed=6)  # fmt: skip
    assert (
        not verdicts["max_pool_default_stride"].passed
        and "move by 1 pixel" in verdicts["max_pool_default_stride"].message
    )
    assert all(verdicts[g].passed for g in ("max_pool_basic", "max_pool_lecture", "max_pool_gradient"))


# ---------------------------------------------------------------------------------------------
# Delegation: torch's convolution and pooling lose the points of the unit that uses them.
# ---------------------------------------------------------------------------------------------

DELEGATIONS = {
    "F.conv2d": (
        {"conv2d": SIGNATURE + "    return F.conv2d(x, weight, bias, stride, padding)"},
        # the module's cells that run the convolution; its parameter shapes and init are its own work
        CONV_IDS + [m for m in MODULE_IDS if m not in ("conv2d_module_shapes", "conv2d_module_init")],
        "conv2d`",
    ),  # fmt: skip
    "hidden try": (
        {
            "conv2d": wrap(
                "conv2d",
                "try:\n    return F.conv2d(x, weight, bias, stride, padding)\n"
                "except Exception:\n    return _ref_conv2d(x, weight, bias, stride, padding)",
            )
        },
        CONV_IDS,
        "conv2d`",
    ),  # fmt: skip
    "C route": (
        {
            "conv2d": SIGNATURE
            + "    return torch._C._VariableFunctions.conv2d(x, weight, bias, pair(stride), pair(padding))"
        },
        CONV_IDS,
        "",
    ),  # fmt: skip
    "aliased import": (
        {
            "conv2d": "from torch.nn.functional import conv2d as tconv\n\n\n"
            + SIGNATURE
            + "    return tconv(x, weight, bias, stride, padding)"
        },
        CONV_IDS,
        "conv2d`",  # torch.conv2d, as the trace names the builtin behind F.conv2d
    ),  # fmt: skip
    "F.max_pool2d": (
        {"max_pool2d": "def max_pool2d(x, kernel_size, stride=None):\n    return F.max_pool2d(x, kernel_size, stride)"},
        POOL_IDS,
        "torch.nn.functional.max_pool2d",
    ),
    "nn.MaxPool2d": (
        {"max_pool2d": POOL_SIGNATURE + "    return nn.MaxPool2d(kernel_size, stride)(x)"},
        POOL_IDS,
        "MaxPool",
    ),
    "torch.max_pool2d": (
        {"max_pool2d": POOL_SIGNATURE + "    return torch.max_pool2d(x, kernel_size, stride)"},
        POOL_IDS,
        "torch.max_pool2d",
    ),
    "subclass of nn.Conv2d": ({"conv2d_module": "class Conv2d(nn.Conv2d):\n    pass\n"}, MODULE_IDS, "Conv2d"),
}


@pytest.mark.parametrize("case", list(DELEGATIONS))
def test_delegation_loses_the_delegated_points(judged, case):
    """Does code that reaches torch's convolution or pooling (directly, hidden in a try, through torch._C or an
    aliased import) lose the cells of its unit, naming what it used?"""
    replacements, failing, text = DELEGATIONS[case]
    verdicts = judged.verdicts(replacements, seed=7)
    harness.assert_lost(verdicts, failing, text)


def test_pool_delegation_keeps_the_conv_points(judged):
    """Does a max_pool2d that calls F.max_pool2d keep the conv2d and Conv2d points?"""
    replacements = DELEGATIONS["F.max_pool2d"][0]
    verdicts = judged.verdicts(replacements, seed=8)
    assert all(verdicts[g].passed for g in CONV_IDS + MODULE_IDS)


def test_conv_delegation_is_caught_by_the_trace_alone(judged):
    """Without the static analysis, does the kernel's trace still catch F.conv2d in every conv2d cell?"""
    verdicts = judged.verdicts(DELEGATIONS["F.conv2d"][0], CONV_IDS, static_analysis=False)
    for gid, v in verdicts.items():
        assert not v.passed and "while it was tested" in v.message, (gid, v.message)
