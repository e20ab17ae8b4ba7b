"""Tests for adl4cv_utils.summary (chapter 6: parameter counts and layer-by-layer output shapes)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from adl4cv_utils.summary import (
    LayerRow,
    conv_output_size,
    count_parameters,
    format_table,
    layer_table,
    multiply_adds,
    parameters_by_type,
)


def lenet_like() -> nn.Sequential:
    """LeNet-5 with full C3 connectivity: 61,706 parameters, worked out by hand below."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5),  # 6 * (1*25 + 1) = 156
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Conv2d(6, 16, 5),  # 16 * (6*25 + 1) = 2,416
        nn.Tanh(),
        nn.AvgPool2d(2),
        nn.Conv2d(16, 120, 5),  # 120 * (16*25 + 1) = 48,120
        nn.Tanh(),
        nn.Flatten(),
        nn.Linear(120, 84),  # 84 * 121 = 10,164
        nn.Tanh(),
        nn.Linear(84, 10),  # 10 * 85 = 850
    )


def test_count_parameters_matches_hand_count_for_lenet():
    """Does count_parameters give exactly 156 + 2416 + 48120 + 10164 + 850 = 61,706 for LeNet-5?"""
    assert count_parameters(lenet_like()) == 156 + 2416 + 48120 + 10164 + 850 == 61706


def test_count_parameters_trainable_only_skips_frozen():
    """Are frozen parameters left out with trainable_only=True and counted without it?"""
    model = lenet_like()
    for p in model[0].parameters():
        p.requires_grad_(False)
    assert count_parameters(model) == 61706
    assert count_parameters(model, trainable_only=True) == 61706 - 156


def test_count_parameters_counts_shared_weights_once():
    """Is a weight shared by two layers counted once, as model.parameters() yields it once?"""
    a = nn.Linear(4, 4)
    model = nn.Sequential(a, nn.ReLU(), a)
    assert count_parameters(model) == 20


def test_layer_table_shapes_of_lenet():
    """Does LeNet-5 on a 32x32 input give 6x28x28, 6x14x14, 16x10x10, 16x5x5, 120x1x1 and 10 logits?"""
    rows = layer_table(lenet_like(), (2, 1, 32, 32))
    shapes = [r.output_shape for r in rows]
    assert shapes[0] == (2, 6, 28, 28)
    assert shapes[2] == (2, 6, 14, 14)
    assert shapes[3] == (2, 16, 10, 10)
    assert shapes[5] == (2, 16, 5, 5)
    assert shapes[6] == (2, 120, 1, 1)
    assert shapes[8] == (2, 120)
    assert shapes[-1] == (2, 10)
    assert [r.type for r in rows][:3] == ["Conv2d", "Tanh", "AvgPool2d"]
    assert [r.name for r in rows][:2] == ["0", "1"]


def test_layer_table_params_sum_to_total_and_sit_on_weight_layers():
    """Do the rows' parameters add up to the model total, with zero for activations and pooling?"""
    model = lenet_like()
    rows = layer_table(model, (1, 1, 32, 32))
    assert sum(r.params for r in rows) == count_parameters(model)
    assert [r.params for r in rows if r.type == "Conv2d"] == [156, 2416, 48120]
    assert all(r.params == 0 for r in rows if r.type in {"Tanh", "AvgPool2d", "Flatten"})


def test_layer_table_module_called_twice_counts_params_once():
    """Does a module used twice give two rows but count its parameters only once?"""
    lin = nn.Linear(3, 3)
    model = nn.Sequential(lin, nn.ReLU(), lin)
    rows = layer_table(model, (5, 3))
    assert len(rows) == 3
    assert [r.params for r in rows] == [12, 0, 0]
    assert all(r.output_shape == (5, 3) for r in rows)


def test_layer_table_counts_parameters_of_non_leaf_modules():
    """Are parameters owned by a container itself (a learned token, a scale) in the table?"""

    class Scaled(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(torch.ones(1))
            self.body = nn.Linear(2, 2)

        def forward(self, x):
            return self.scale * self.body(x)

    model = Scaled()
    rows = layer_table(model, (1, 2))
    assert sum(r.params for r in rows) == count_parameters(model) == 7


def test_layer_table_restores_training_mode_and_removes_hooks():
    """Is the model back in training mode with no hooks left after the table is made?"""
    model = lenet_like().train()
    layer_table(model, (1, 1, 32, 32))
    assert model.training
    assert all(len(m._forward_hooks) == 0 for m in model.modules())


def test_layer_table_tuple_output_uses_first_tensor():
    """Does a module returning a tuple (like nn.LSTM) report the shape of its first tensor?"""
    model = nn.LSTM(input_size=4, hidden_size=6, batch_first=True)
    rows = layer_table(model, (2, 7, 4))
    assert rows[0].output_shape == (2, 7, 6)
    assert rows[0].name == "LSTM"


@pytest.mark.parametrize("bad", [(), (3,), (1, 0, 8, 8), (1, -3, 8), (1, 3.0, 8, 8), "1,3,8,8", 5, (True, 3)])
def test_layer_table_rejects_bad_input_shape(bad):
    """Is a bad input_shape refused with a ValueError that names the argument?"""
    with pytest.raises(ValueError, match="input_shape"):
        layer_table(lenet_like(), bad)


def test_layer_table_rejects_non_module():
    """Is something that is not an nn.Module refused with a ValueError naming 'model'?"""
    with pytest.raises(ValueError, match="model"):
        layer_table(lambda x: x, (1, 3))
    with pytest.raises(ValueError, match="model"):
        count_parameters([torch.zeros(3)])


def test_layer_table_accepts_torch_size():
    """Can input_shape be a torch.Size, as returned by x.shape?"""
    rows = layer_table(lenet_like(), torch.zeros(1, 1, 32, 32).shape)
    assert rows[-1].output_shape == (1, 10)


def test_format_table_lists_rows_and_total():
    """Does the text table name every shown layer, its shape, and the total with thousands separators?"""
    rows = layer_table(lenet_like(), (1, 1, 32, 32))
    text = format_table(rows, skip_types=["Tanh"])
    assert "Tanh" not in text
    assert "1 x 6 x 28 x 28" in text
    assert "48,120" in text
    assert text.splitlines()[-1] == "total parameters: 61,706"


def test_format_table_rejects_string_skip_types():
    """Is skip_types='Tanh' (a string, not a list) refused rather than skipping single letters?"""
    with pytest.raises(ValueError, match="skip_types"):
        format_table([LayerRow("0", "Tanh", (1,), 0)], skip_types="Tanh")


def test_parameters_by_type_groups_by_owner():
    """Does parameters_by_type split LeNet's 61,706 parameters into Conv2d and Linear, largest first?"""
    counts = parameters_by_type(lenet_like())
    assert counts == {"Conv2d": 156 + 2416 + 48120, "Linear": 10164 + 850}
    assert list(counts) == ["Conv2d", "Linear"]


@pytest.mark.parametrize(
    "size,kernel,stride,padding",
    [(32, 5, 1, 0), (32, 3, 1, 1), (227, 11, 4, 0), (224, 11, 4, 2), (7, 3, 2, 0), (28, 2, 2, 0), (5, 5, 1, 0)],
)
def test_conv_output_size_matches_nn_conv2d(size, kernel, stride, padding):
    """Does floor((I - K + 2P)/S) + 1 equal the width nn.Conv2d really produces?"""
    conv = nn.Conv2d(1, 1, kernel, stride=stride, padding=padding)
    out = conv(torch.zeros(1, 1, size, size))
    assert conv_output_size(size, kernel, stride, padding) == out.shape[-1]


def test_conv_output_size_with_dilation():
    """Does a dilated 3x3 kernel (D=2) act like a 5x5 kernel for the output size?"""
    conv = nn.Conv2d(1, 1, 3, dilation=2)
    assert conv_output_size(16, 3, dilation=2) == conv(torch.zeros(1, 1, 16, 16)).shape[-1] == 12


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"size": 0, "kernel_size": 3}, "size"),
        ({"size": 8, "kernel_size": 0}, "kernel_size"),
        ({"size": 8, "kernel_size": 3, "stride": 0}, "stride"),
        ({"size": 8, "kernel_size": 3, "padding": -1}, "padding"),
        ({"size": 2, "kernel_size": 5}, "kernel_size"),
    ],
)
def test_conv_output_size_rejects_bad_arguments(kwargs, name):
    """Are impossible settings (zero stride, negative padding, kernel larger than input) refused by name?"""
    with pytest.raises(ValueError, match=name):
        conv_output_size(**kwargs)


def test_multiply_adds_of_lenet_by_hand():
    """Does multiply_adds count C_in*K*K per conv output value and in_features per linear output?"""
    by_hand = (
        6 * 28 * 28 * (1 * 25)  # C1
        + 16 * 10 * 10 * (6 * 25)  # C3
        + 120 * 1 * 1 * (16 * 25)  # C5
        + 84 * 120  # F6
        + 10 * 84  # output
    )
    assert multiply_adds(lenet_like(), (1, 1, 32, 32)) == by_hand


def test_multiply_adds_is_per_sample_and_knows_groups():
    """Is the count the same for a batch of 4, and does a depthwise conv cost only K*K per output?"""
    depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
    assert multiply_adds(depthwise, (4, 8, 10, 10)) == 8 * 10 * 10 * 9
    with pytest.raises(ValueError, match="model"):
        multiply_adds("not a model", (1, 3, 8, 8))
    with pytest.raises(ValueError, match="input_shape"):
        multiply_adds(depthwise, (8,))
