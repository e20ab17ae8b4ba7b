"""Tests for adl4cv_utils.activations (chapter 3)."""

import pytest
import torch
from torch import nn

from adl4cv_utils.activations import Maxout, dead_units, layer_grad_norms
from adl4cv_utils.models import MLP


def test_maxout_output_shape():
    """Does Maxout map (..., in_features) to (..., out_features) and expose (..., out, k) pieces?"""
    layer = Maxout(5, 3, k=4)
    assert layer(torch.randn(7, 5)).shape == (7, 3)
    assert layer(torch.randn(2, 6, 5)).shape == (2, 6, 3)
    assert layer.pieces(torch.randn(7, 5)).shape == (7, 3, 4)


def test_maxout_equals_max_of_k_linear_maps():
    """Is every output unit the maximum over k separate affine maps of the input?"""
    torch.manual_seed(0)
    in_features, out_features, k = 4, 3, 5
    layer = Maxout(in_features, out_features, k)
    x = torch.randn(10, in_features)
    weight = layer.linear.weight.detach().reshape(out_features, k, in_features)  # (out, k, in)
    bias = layer.linear.bias.detach().reshape(out_features, k)  # (out, k)
    expected = torch.empty(10, out_features)
    for j in range(out_features):
        maps = torch.stack([x @ weight[j, i] + bias[j, i] for i in range(k)], dim=1)  # (N, k)
        expected[:, j] = maps.max(dim=1).values
    torch.testing.assert_close(layer(x), expected)


def test_maxout_with_k1_is_linear():
    """With k = 1, is Maxout exactly its linear layer?"""
    layer = Maxout(6, 2, k=1)
    x = torch.randn(8, 6)
    torch.testing.assert_close(layer(x), layer.linear(x))


def test_maxout_k2_with_zero_piece_is_relu():
    """With k = 2 and the second piece fixed at zero, is a maxout unit a ReLU of the first piece?"""
    layer = Maxout(3, 2, k=2)
    with torch.no_grad():
        layer.linear.weight[1::2] = 0.0  # second piece of every unit: w = 0
        layer.linear.bias[1::2] = 0.0  # and b = 0
    x = torch.randn(20, 3)
    first = nn.functional.linear(x, layer.linear.weight[0::2], layer.linear.bias[0::2])  # (N, 2)
    torch.testing.assert_close(layer(x), torch.relu(first))


def test_maxout_has_k_times_the_parameters():
    """Does a Maxout layer have k times the parameters of the matching nn.Linear?"""
    linear = sum(p.numel() for p in nn.Linear(10, 7).parameters())
    for k in (1, 2, 5):
        assert sum(p.numel() for p in Maxout(10, 7, k).parameters()) == k * linear


@pytest.mark.parametrize("k", [0, -1, 2.5, True, "2"])
def test_maxout_rejects_bad_k(k):
    """Does a k that is not a positive int raise ValueError naming k?"""
    with pytest.raises(ValueError, match="k"):
        Maxout(3, 2, k=k)


def test_maxout_rejects_bad_sizes_and_input():
    """Do bad feature counts and a wrongly shaped input raise ValueError naming the argument?"""
    with pytest.raises(ValueError, match="in_features"):
        Maxout(0, 2)
    with pytest.raises(ValueError, match="out_features"):
        Maxout(2, -3)
    with pytest.raises(ValueError, match="x"):
        Maxout(4, 2)(torch.randn(3, 5))


def test_maxout_gradient_reaches_only_the_winning_piece():
    """Does the gradient of one unit flow into the winning piece only (so the unit never goes silent)?"""
    layer = Maxout(1, 1, k=3)
    with torch.no_grad():
        layer.linear.weight[:] = torch.tensor([[1.0], [-1.0], [0.0]])
        layer.linear.bias.zero_()
    layer(torch.tensor([[2.0]])).sum().backward()  # pieces 2, -2, 0: piece 0 wins
    torch.testing.assert_close(layer.linear.weight.grad, torch.tensor([[2.0], [0.0], [0.0]]))


def test_dead_units_finds_units_that_never_fire():
    """Are exactly the units with a large negative bias reported dead, one mask per ReLU?"""
    torch.manual_seed(0)
    model = MLP(4, 2, hidden=6, depth=2)
    with torch.no_grad():
        model[0].bias[:3] = -100.0  # units 0..2 of the first hidden layer never fire on x in [0, 1]
        model[0].bias[3:] = 100.0  # the others always fire
    x = torch.rand(50, 4)
    masks = dead_units(model, x, batch_size=7)
    assert len(masks) == 2
    assert masks[0].tolist() == [True, True, True, False, False, False]
    assert masks[1].shape == (6,)
    assert model.training  # mode restored


def test_dead_units_rejects_models_without_relu():
    """Does a model without nn.ReLU, or an empty input, raise ValueError?"""
    with pytest.raises(ValueError, match="model"):
        dead_units(MLP(4, 2, activation="tanh"), torch.rand(5, 4))
    with pytest.raises(ValueError, match="x"):
        dead_units(MLP(4, 2), torch.rand(0, 4))


def test_layer_grad_norms_match_autograd():
    """Are the reported norms those of dL/dW per Linear layer, input side first, leaving .grad alone?"""
    torch.manual_seed(0)
    model = MLP(5, 3, hidden=4, depth=2, activation="sigmoid")
    x, y = torch.randn(16, 5), torch.randint(0, 3, (16,))
    norms = layer_grad_norms(model, x, y)
    assert all(p.grad is None for p in model.parameters())
    nn.functional.cross_entropy(model(x), y).backward()
    expected = [m.weight.grad.norm().item() for m in model if isinstance(m, nn.Linear)]
    assert norms == pytest.approx(expected)
    with pytest.raises(ValueError, match="y"):
        layer_grad_norms(model, x, y[:3])
