"""Are the delegation rules real (every op, name and module exists) and stated in the notebooks?"""

from __future__ import annotations

import importlib
import inspect
import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.profiler import ProfilerActivity, profile

from adl4cv_utils.rules import ESCAPES, RULES, rules_for

ROOT = Path(__file__).resolve().parents[1]


def _x(*shape, grad=False):
    return torch.randn(*shape, requires_grad=grad)


def _optimizer_step(cls, **kwargs):
    def run():
        p = nn.Parameter(torch.randn(4))
        p.grad = torch.ones(4)
        cls([p], lr=0.1, **kwargs).step()

    return run


def _mha_fast_path():
    mha = nn.MultiheadAttention(8, 2, batch_first=True).eval()
    q = torch.randn(2, 5, 8)
    with torch.no_grad():
        mha(q, q, q, need_weights=False)


def _encoder_fast_path():
    layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True).eval()
    with torch.no_grad():
        layer(torch.randn(2, 5, 8))


# For each op pattern in the rules: an API call that produces it on a CPU.
PRODUCERS = {
    "aten::cross_entropy_loss": lambda: F.cross_entropy(_x(3, 4), torch.tensor([0, 1, 2])),
    "aten::nll_loss*": lambda: F.nll_loss(_x(3, 4), torch.tensor([0, 1, 2])),
    "aten::multi_margin_loss": lambda: F.multi_margin_loss(_x(3, 4), torch.tensor([0, 1, 2])),
    "aten::log_softmax": lambda: F.log_softmax(_x(3, 4), dim=1),
    "aten::_log_softmax": lambda: torch.log_softmax(_x(3, 4), dim=1),
    "aten::softmax": lambda: torch.softmax(_x(3, 4), dim=1),
    "aten::_softmax": lambda: _x(3, 4).softmax(dim=1),
    "aten::logsumexp": lambda: torch.logsumexp(_x(3, 4), dim=1),
    "aten::sigmoid": lambda: torch.sigmoid(_x(3)),
    "aten::special_expit": lambda: torch.special.expit(_x(3)),
    "aten::tanh": lambda: torch.tanh(_x(3)),
    "aten::relu": lambda: F.relu(_x(3)),
    "aten::relu_": lambda: F.relu(_x(3), inplace=True),
    "aten::sigmoid_backward": lambda: torch.sigmoid(_x(3, grad=True)).sum().backward(),
    "aten::tanh_backward": lambda: torch.tanh(_x(3, grad=True)).sum().backward(),
    "aten::threshold_backward": lambda: torch.relu(_x(3, grad=True)).sum().backward(),
    "aten::_foreach_*": lambda: torch._foreach_add([_x(3)], [_x(3)]),
    "aten::_fused_adam_": _optimizer_step(torch.optim.Adam, fused=True),
    "aten::_fused_adamw_": _optimizer_step(torch.optim.AdamW, fused=True),
    "aten::_fused_sgd_": _optimizer_step(torch.optim.SGD, fused=True),
    "aten::_fused_adagrad_": _optimizer_step(torch.optim.Adagrad, fused=True),
    "aten::conv2d": lambda: F.conv2d(_x(1, 2, 5, 5), _x(3, 2, 3, 3)),
    "aten::convolution": lambda: torch.conv2d(_x(1, 2, 5, 5), _x(3, 2, 3, 3)),
    "aten::_convolution": lambda: nn.Conv2d(2, 3, 3)(_x(1, 2, 5, 5)),
    "aten::mkldnn_convolution": lambda: F.conv2d(_x(2, 3, 8, 8), _x(4, 3, 3, 3)),
    "aten::_slow_conv2d_*": lambda: F.conv2d(_x(1, 2, 5, 5), _x(3, 2, 3, 3)),
    "aten::*convolution*": lambda: F.conv2d(_x(1, 2, 5, 5), _x(3, 2, 3, 3)),
    "aten::conv[123t]*": lambda: F.conv1d(_x(1, 2, 5), _x(3, 2, 3)),
    "aten::*slow_conv*": lambda: F.conv_transpose2d(_x(1, 2, 5, 5), _x(2, 3, 3, 3), dilation=2),
    "aten::thnn_conv*": lambda: torch._C._nn.thnn_conv2d(_x(1, 2, 5, 5), _x(3, 2, 3, 3), [3, 3]),
    "aten::_nnpack_spatial_convolution": lambda: torch._nnpack_spatial_convolution(
        _x(1, 2, 5, 5), _x(3, 2, 3, 3), None, [0, 0]
    ),
    "aten::*pool[123]d*": lambda: F.avg_pool1d(_x(1, 2, 4), 2),
    "aten::max_pool2d": lambda: F.max_pool2d(_x(1, 2, 4, 4), 2),
    "aten::max_pool2d_with_indices": lambda: nn.MaxPool2d(2)(_x(1, 2, 4, 4)),
    "aten::avg_pool2d": lambda: F.avg_pool2d(_x(1, 2, 4, 4), 2),
    "aten::adaptive_avg_pool2d": lambda: F.adaptive_avg_pool2d(_x(1, 2, 4, 4), 2),
    "aten::_adaptive_avg_pool2d": lambda: nn.AdaptiveAvgPool2d(2)(_x(1, 2, 4, 4)),
    "aten::adaptive_max_pool2d": lambda: F.adaptive_max_pool2d(_x(1, 2, 4, 4), 2),
    "aten::scaled_dot_product_attention": lambda: F.scaled_dot_product_attention(_x(1, 3, 4), _x(1, 3, 4), _x(1, 3, 4)),
    "aten::_scaled_dot_product_*": lambda: F.scaled_dot_product_attention(_x(1, 3, 4), _x(1, 3, 4), _x(1, 3, 4)),
    "aten::_native_multi_head_attention": _mha_fast_path,
    "aten::_transformer_encoder_layer_fwd": _encoder_fast_path,
    "aten::dropout": lambda: F.dropout(_x(4), 0.5, training=True),
    "aten::dropout_": lambda: F.dropout(_x(4), 0.5, training=True, inplace=True),
    "aten::native_dropout": lambda: torch.native_dropout(_x(4), 0.5, True),
    "aten::native_dropout_backward": lambda: torch.native_dropout(_x(4, grad=True), 0.5, True)[0].sum().backward(),
    "aten::feature_dropout": lambda: F.dropout2d(_x(1, 2, 3, 3), 0.5, training=True),
    "aten::alpha_dropout": lambda: F.alpha_dropout(_x(4), 0.5, training=True),
    "aten::feature_alpha_dropout": lambda: F.feature_alpha_dropout(_x(1, 2, 3, 3), 0.5, training=True),
    "aten::mse_loss": lambda: F.mse_loss(_x(4), _x(4)),
    "aten::smooth_l1_loss": lambda: F.smooth_l1_loss(_x(4), _x(4)),
    "aten::huber_loss": lambda: F.huber_loss(_x(4), _x(4)),
    "aten::triplet_margin_loss": lambda: F.triplet_margin_loss(_x(2, 3), _x(2, 3), _x(2, 3)),
    "aten::cosine_embedding_loss": lambda: F.cosine_embedding_loss(_x(2, 3), _x(2, 3), torch.tensor([1.0, -1.0])),
    "aten::hinge_embedding_loss": lambda: F.hinge_embedding_loss(_x(4), torch.tensor([1.0, -1.0, 1.0, -1.0])),
    "aten::margin_ranking_loss": lambda: F.margin_ranking_loss(_x(4), _x(4), torch.ones(4)),
    "aten::multilabel_margin_loss*": lambda: F.multilabel_margin_loss(_x(2, 3), torch.tensor([[0, -1, 1], [2, -1, 0]])),
    "aten::soft_margin_loss*": lambda: F.soft_margin_loss(_x(4), torch.ones(4)),
    "aten::logaddexp*": lambda: torch.logaddexp(_x(4), _x(4)),
    "aten::logcumsumexp": lambda: torch.logcumsumexp(_x(4), 0),
    "aten::_logcumsumexp": lambda: _x(4).logcumsumexp(0),
    "aten::softplus*": lambda: F.softplus(_x(4)),
    "aten::binary_cross_entropy*": lambda: F.binary_cross_entropy_with_logits(_x(4), torch.ones(4)),
    "aten::log_sigmoid*": lambda: F.logsigmoid(_x(4)),
    "aten::kl_div": lambda: F.kl_div(_x(4), _x(4), reduction="batchmean"),
}


def _ops_of(run) -> set[str]:
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        run()
    return {event.name for event in prof.events()}


ALL_OPS = sorted({(a, op) for a, r in RULES.items() for op in r.aten_ops})


@pytest.mark.parametrize("assignment, op", ALL_OPS, ids=[f"{a}-{op}" for a, op in ALL_OPS])
def test_each_forbidden_op_is_produced_by_its_api(assignment, op):
    """Does running the API an op name stands for make torch.profiler report that op (so the name is real)?"""
    assert op in PRODUCERS, f"no producer for {op} of {assignment}: add the API call it stands for"
    ops = _ops_of(PRODUCERS[op])
    assert any(rules_for(assignment).forbids_op(name) and _match(name, op) for name in ops), sorted(ops)


def _match(name: str, pattern: str) -> bool:
    from fnmatch import fnmatchcase

    return fnmatchcase(name, pattern)


def test_allowed_building_blocks_are_not_forbidden():
    """Do the building blocks a valid solution uses (unfold, einsum, exp, Linear, BatchNorm) stay allowed?"""
    allowed = {
        "03_convolution": lambda: (F.unfold(_x(1, 2, 5, 5), 3), torch.einsum("ij,jk->ik", _x(2, 3), _x(3, 4))),
        "05_attention": lambda: nn.Linear(4, 4)(_x(2, 4)),
        "06_training": lambda: _x(4) * (torch.rand(4) >= 0.5) / 0.5,
        "01_basics": lambda: (torch.exp(_x(3)), torch.log(torch.rand(3)), _x(3, 4).max(dim=1)),
        "10_diffusion": lambda: (torch.cumprod(1 - _x(5), 0).sqrt(), torch.cos(_x(3)).clamp(max=0.999), _x(4).mean()),
    }
    for assignment, run in allowed.items():
        bad = [op for op in _ops_of(run) if rules_for(assignment).forbids_op(op)]
        assert not bad, (assignment, bad)


def _resolve(name: str):
    parts = name.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(name)


EXACT = sorted({n for r in [*RULES.values(), ESCAPES] for n in r.names + r.functions if "*" not in n})


@pytest.mark.parametrize("name", EXACT)
def test_each_forbidden_name_exists(name):
    """Does every exact qualified name in the rules resolve to a real object (no typo)?"""
    assert _resolve(name) is not None


def test_each_forbidden_module_exists():
    """Does every module whose code may not run exist?"""
    for rules in [*RULES.values(), ESCAPES]:
        for module in rules.modules:
            importlib.import_module(module)


def test_every_torch_optimizer_is_forbidden_in_02():
    """Is every optimizer class torch.optim exports (and its module) in 02's rules, but not the base class?"""
    rules = rules_for("02_optimizers")
    for name, obj in vars(torch.optim).items():
        if inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer) and obj is not torch.optim.Optimizer:
            assert rules.forbids_name(f"torch.optim.{name}"), name
            module = f"torch.optim.{Path(obj.__init__.__code__.co_filename).stem}"  # the file a trace sees
            assert module in rules.modules, module
    assert not rules.forbids_name("torch.optim.Optimizer")


def _intro(assignment: str) -> str:
    folder = ROOT / "solutions" / assignment
    (path,) = folder.glob("*.ipynb")
    cells = json.loads(path.read_text())["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


@pytest.mark.parametrize("assignment", sorted(RULES))
def test_each_notebook_states_its_rules(assignment):
    """Does each assignment's notebook state its delegation rule and the escape rule, word for word?"""
    text = " ".join(_intro(assignment).split())
    assert " ".join(rules_for(assignment).statement.split()) in text
    assert " ".join(ESCAPES.statement.split()) in text


def test_unknown_assignment_raises():
    """Does asking for the rules of an unknown assignment raise ValueError naming the argument?"""
    with pytest.raises(ValueError, match="assignment"):
        rules_for("08_nothing")


@pytest.mark.parametrize(
    "name, outside",
    [
        ("_warnings.warn", False),
        ("time.perf_counter", False),
        ("math.sqrt", False),
        ("torch.einsum", False),
        ("torch.nn.functional.unfold", False),
        ("torch._tensor.Tensor.__repr__", False),
        ("scipy.signal.correlate", True),
        ("numpy.convolve", True),
        ("torchvision.ops.deform_conv2d", True),
        ("torch._nnpack_spatial_convolution", True),
        ("torch._refs.nn.functional.dropout", True),
    ],
)
def test_building_blocks_are_python_and_public_torch(name, outside):
    """May 03's conv2d call ``name`` directly? (Python's standard library and torch's public API: yes;
    other libraries' ready-made operations and torch's private functions: no.)"""
    from adl4cv_utils.rules import not_a_block

    assert bool(not_a_block("03_convolution", "conv2d", name)) == outside
