"""Does the judge of 04_resnet give the reference full marks, the release zero, and wrong or delegating
blocks exactly the points they earn, with messages naming the mistake?"""

from __future__ import annotations

import pytest
from conftest import solution_cell

from . import harness
from .harness import edit

A = "04_resnet"
IDS = [
    "basic_block_parameters",
    "basic_block_conv_layers",
    "basic_block_shortcut",
    "basic_block_output_shapes",
    "basic_block_forward_train",
    "basic_block_forward_eval",
    "basic_block_skip_gradient",
    "basic_block_hidden",
]
STRUCTURE = IDS[:4]
BLOCK = solution_cell(A, "basic_block")
PROJECT = "if stride != 1 or in_channels != out_channels:"
RETURN = "return F.relu(out + self.shortcut(x))"


judged = harness.session_fixture(A)


def test_every_test_cell_has_a_judge_test(judged):
    """Does every graded cell of the notebook have a judge test, and no judge test lack a cell?"""
    harness.assert_every_test_cell_judged(judged, A, IDS)


@pytest.mark.slow
def test_reference_notebook_gets_full_marks():
    """Does the solution notebook, run whole, get every point from the judge (two secret seeds)?"""
    harness.assert_reference_full_marks(A, (0, 4242), IDS)


def test_release_notebook_gets_zero():
    """Does the release notebook (stubs) get zero on every cell, each saying it is not implemented?"""
    harness.assert_release_zero(A)


def test_submitted_reference_gets_full_marks_with_other_seeds(judged):
    """Does the reference, submitted into the release, pass every cell for 20 secret seeds (no chance failures)?"""
    harness.assert_session_full_marks(judged)


# ---------------------------------------------------------------------------------------------
# Wrong blocks (the self-checks' mistakes): the cells that test the property lose their points.
# ---------------------------------------------------------------------------------------------

WRONG = {
    "relu_before_add": (
        edit(BLOCK, (RETURN, "return F.relu(out) + self.shortcut(x)")),
        {"basic_block_forward_train", "basic_block_forward_eval"},
        "ReLU is applied before the addition",
    ),
    "no_skip": (
        edit(BLOCK, (RETURN, "return F.relu(out)")),
        {"basic_block_forward_train", "basic_block_skip_gradient"},
        "no skip connection",
    ),
    "stride_on_conv2": (
        edit(
            BLOCK,
            ("3, stride=stride, padding=1", "3, stride=1, padding=1"),
            (
                "3, stride=1, padding=1, bias=False)\n        self.bn2",
                "3, stride=stride, padding=1, bias=False)\n        self.bn2",
            ),
        ),
        {"basic_block_conv_layers", "basic_block_forward_train"},
        "stride is on the second conv",
    ),  # fmt: skip
    "no_shortcut_bn": (
        edit(BLOCK, ("bias=False), nn.BatchNorm2d(out_channels)", "bias=False)")),
        {"basic_block_shortcut", "basic_block_parameters", "basic_block_forward_train"},
        "shortcut has no BatchNorm",
    ),
    "conv_bias": (
        edit(BLOCK, ("padding=1, bias=False", "padding=1, bias=True")),
        {"basic_block_conv_layers", "basic_block_parameters"},
        "conv with a bias",
    ),
    "always_project": (
        edit(BLOCK, (PROJECT, "if True:")),
        {"basic_block_shortcut", "basic_block_parameters"},
        "projection is used even when the shape is kept",
    ),
    "no_final_relu": (
        edit(BLOCK, (RETURN, "return out + self.shortcut(x)")),
        {"basic_block_forward_train", "basic_block_skip_gradient"},
        "final ReLU is missing",
    ),
    "bn_before_conv": (
        edit(
            BLOCK,
            ("self.bn1 = nn.BatchNorm2d(out_channels)", "self.bn1 = nn.BatchNorm2d(in_channels)"),
            ("F.relu(self.bn1(self.conv1(x)))", "F.relu(self.conv1(self.bn1(x)))"),
            ("self.bn2(self.conv2(out))", "self.conv2(self.bn2(out))"),
        ),
        {"basic_block_forward_train", "basic_block_forward_eval"},
        "BatchNorm comes before the conv",
    ),
    "padding_0": (
        edit(BLOCK, ("padding=1", "padding=0")),
        {"basic_block_output_shapes", "basic_block_conv_layers"},
        "use padding=1",
    ),
    "identity_always": (
        edit(BLOCK, (PROJECT, "if False:")),
        {"basic_block_shortcut", "basic_block_forward_train", "basic_block_output_shapes"},
        "the shortcut is the identity although the shape changes",
    ),
}
KEEPS_STRUCTURE = {"relu_before_add", "no_skip", "no_final_relu"}


@pytest.mark.parametrize("mistake", list(WRONG))
def test_wrong_block_loses_the_cells_it_fails(judged, mistake):
    """Does each known-wrong block fail the cells that test its mistake, with a message naming it (and does a
    mistake in forward keep the structure cells' points)?"""
    source, failing, text = WRONG[mistake]
    verdicts = judged.verdicts({"basic_block": source}, seed=5)
    harness.assert_lost(verdicts, failing, text)
    if mistake in KEEPS_STRUCTURE:
        assert all(verdicts[gid].passed for gid in STRUCTURE), {g: verdicts[g].message for g in STRUCTURE}
    assert sum(v.score for v in verdicts.values()) < sum(judged.points.values())


# ---------------------------------------------------------------------------------------------
# Code that raises or returns the wrong type: failed verdicts, not a crash of the judge.
# ---------------------------------------------------------------------------------------------

BROKEN = {
    "forward raises": (
        edit(BLOCK, ("out = F.relu(self.bn1", "raise RuntimeError('boom')\n        out = F.relu(self.bn1")),
        IDS[3:],
        "RuntimeError: boom",
    ),
    "forward returns a tuple": (
        edit(BLOCK, (RETURN, RETURN + ", None")),
        ["basic_block_output_shapes", "basic_block_forward_train", "basic_block_hidden"],
        "",
    ),
    "forward flattens": (
        edit(BLOCK, (RETURN, RETURN + ".flatten(1)")),
        ["basic_block_output_shapes", "basic_block_forward_train", "basic_block_forward_eval", "basic_block_hidden"],
        "shape",
    ),
    "no stride argument": (
        edit(
            BLOCK,
            (
                "def __init__(self, in_channels, out_channels, stride=1):",
                "def __init__(self, in_channels, out_channels):",
            ),
        ),
        IDS,
        "",
    ),  # fmt: skip
    "not a module": (
        "class BasicBlock:\n    def __init__(self, in_channels, out_channels, stride=1):\n        pass\n",
        IDS,
        "",
    ),
    "conv1 renamed": (
        edit(BLOCK, ("self.conv1 = ", "self.first = "), ("self.conv1(x)", "self.first(x)")),
        [IDS[1], *IDS[4:]],  # the shortcut and the output shapes are still right
        "self.conv1 should be an nn.Conv2d",
    ),
    "bn2 of the wrong size": (
        edit(BLOCK, ("self.bn2 = nn.BatchNorm2d(out_channels)", "self.bn2 = nn.BatchNorm2d(out_channels + 1)")),
        ["basic_block_parameters", "basic_block_forward_train", "basic_block_output_shapes"],
        "",
    ),
}
BROKEN_TEXT = {
    "forward returns a tuple": {"basic_block_forward_train": "expected a tensor, got tuple"},
    "no stride argument": {"basic_block_parameters": "must accept: in_channels, out_channels, stride=1"},
    "not a module": {"basic_block_parameters": "must be a subclass of nn.Module"},
    "conv1 renamed": {"basic_block_parameters": "missing ['conv1.weight']"},
    "bn2 of the wrong size": {"basic_block_parameters": "wrong shape ['bn2.bias', 'bn2.weight']"},
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_block_gets_failed_verdicts(judged, case):
    """Does a block that raises, returns the wrong type or shape, or lacks a layer fail its cells with a
    message saying what it did (and does the judge go on)?"""
    source, failing, text = BROKEN[case]
    verdicts = judged.verdicts({"basic_block": source}, seed=8)
    harness.assert_lost(verdicts, failing, text)
    for gid, text in BROKEN_TEXT.get(case, {}).items():
        assert text in verdicts[gid].message, (gid, verdicts[gid].message)


# ---------------------------------------------------------------------------------------------
# Delegation: torchvision's block loses the points; torch's layers (Conv2d, BatchNorm2d) are allowed.
# ---------------------------------------------------------------------------------------------

DOWNSAMPLE = "        self.downsample = None if isinstance(self.shortcut, nn.Identity) else self.shortcut\n"
TORCHVISION_FORWARD = "from torchvision.models.resnet import BasicBlock as TorchBlock\n\n\n" + edit(
    BLOCK,
    ("nn.Identity()\n", "nn.Identity()\n        self.relu = nn.ReLU()\n" + DOWNSAMPLE),
    ("        out = F.relu(self.bn1", "        return TorchBlock.forward(self, x)\n        out = F.relu(self.bn1"),
)  # fmt: skip
CHECKS_FORWARD = edit(TORCHVISION_FORWARD, ("TorchBlock.forward(self, x)", "resnet.TorchBasicBlock.forward(self, x)"))


def test_torchvision_delegation_loses_every_point(judged):
    """Does a block whose forward is torchvision's BasicBlock.forward lose every cell that runs it, naming the forbidden
    name? (Its parameters are its own: that cell keeps its point and is flagged for review.)"""
    verdicts = judged.verdicts({"basic_block": TORCHVISION_FORWARD}, seed=9)
    for gid, v in verdicts.items():
        if gid not in IDS[4:]:  # the structure cells (the layers it builds itself): flagged, not lost
            assert any("torchvision.models.resnet.BasicBlock" in r for r in v.review), (gid, v.review)
            continue
        assert not v.passed and "torchvision.models.resnet.BasicBlock" in v.message, (gid, v.message)


def test_torchvision_delegation_is_caught_by_the_trace_alone(judged):
    """Without the static analysis, does the kernel's trace catch torchvision's forward in the forward cells?"""
    verdicts = judged.verdicts({"basic_block": TORCHVISION_FORWARD}, IDS[4:], static_analysis=False)
    for gid, v in verdicts.items():
        assert not v.passed and "ran `torchvision.models.resnet.BasicBlock.forward`" in v.message, (gid, v.message)


def test_delegation_through_the_checks_module_is_caught(judged):
    """Does reaching torchvision's block through the self-check module (``resnet.TorchBasicBlock``) lose the points?"""
    verdicts = judged.verdicts({"basic_block": CHECKS_FORWARD}, ["basic_block_parameters", "basic_block_hidden"])
    hidden = verdicts["basic_block_hidden"]
    assert not hidden.passed and ("adl4cv_utils.checks" in hidden.message or "torchvision" in hidden.message), hidden
    assert any("adl4cv_utils.checks" in r for r in verdicts["basic_block_parameters"].review), verdicts


def test_allowed_layers_keep_full_marks(judged):
    """Does a block written with nn.ReLU modules and torch.relu (besides nn.Conv2d and nn.BatchNorm2d) keep
    every point?"""
    source = edit(
        BLOCK,
        ("(out_channels)\n        if", "(out_channels)\n        self.act = nn.ReLU()\n        if"),
        ("out = F.relu(self.bn1(self.conv1(x)))", "out = self.act(self.bn1(self.conv1(x)))"),
        (RETURN, "return torch.relu(out + self.shortcut(x))"),
    )  # fmt: skip
    verdicts = judged.verdicts({"basic_block": source}, seed=13)
    assert all(v.passed and v.score == v.points for v in verdicts.values()), {
        k: v.message for k, v in verdicts.items() if not v.passed
    }


RUNTIME_COPY = (
    "import os, sys, tempfile\n"
    "import torchvision.models.resnet as _tv\n"
    "_folder = tempfile.mkdtemp()\n"
    "_text = open(_tv.__file__).read().replace('from ..', 'from torchvision.')\n"
    "_text = _text.replace('from .', 'from torchvision.models.')\n"
    "open(os.path.join(_folder, 'tv_copy.py'), 'w').write(_text)\n"
    "sys.path.insert(0, _folder)\n"
    "try:\n    import tv_copy  # noqa: F401\n"
    "except ValueError:  # its models register themselves a second time\n    pass\n\n" + BLOCK
)


def test_a_library_file_copied_at_run_time_is_flagged_not_punished(judged):
    """Does a notebook that copies torchvision's resnet.py at run time and imports it keep the points its values earn,
    with a review note naming the copied file (the guard saw it compiled)?"""
    verdicts = judged.verdicts({"basic_block": RUNTIME_COPY}, ["basic_block_forward_train", "basic_block_hidden"])
    for gid, v in verdicts.items():
        assert v.passed, (gid, v.message)
        assert any("tv_copy.py" in r and "torchvision/models/resnet.py" in r for r in v.review), (gid, v.review)
