"""Do the shared models have the documented shapes and refuse bad arguments?"""

import pytest
import torch

from adl4cv_utils.models import MLP, SmallCNN


def test_mlp_depths():
    """Is depth 0 a single linear map and depth 2 two hidden layers?"""
    assert len(MLP(64, 10, depth=0)) == 1
    model = MLP(64, 10, hidden=16, depth=2, activation="tanh", dropout=0.1)
    assert model(torch.randn(5, 64)).shape == (5, 10)
    assert sum(isinstance(m, torch.nn.Linear) for m in model) == 3


def test_small_cnn_shapes():
    """Does SmallCNN map (B, 3, 32, 32) to logits and features of the documented sizes?"""
    model = SmallCNN(num_classes=4, width=8)
    x = torch.rand(2, 3, 32, 32)
    assert model(x).shape == (2, 4) and model.features(x).shape == (2, 16)
    assert model.conv1.bias is None  # bias=False before BatchNorm


@pytest.mark.parametrize(
    "make,name",
    [
        (lambda: MLP(4, 2, activation="swishy"), "activation"),
        (lambda: MLP(4, 2, depth=-1), "depth"),
        (lambda: MLP(4, 2, dropout=1.0), "dropout"),
        (lambda: SmallCNN(width=0), "width"),
    ],
)
def test_bad_arguments(make, name):
    """Does each bad argument raise ValueError naming it?"""
    with pytest.raises(ValueError, match=name):
        make()
