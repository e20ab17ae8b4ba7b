"""Does the training loop learn, record its history, and refuse bad input?"""

import math

import pytest
import torch
from torch import nn

from adl4cv_utils import set_seed
from adl4cv_utils.data import digits_splits, make_loaders
from adl4cv_utils.models import MLP
from adl4cv_utils.training import History, Metrics, evaluate, fit


@pytest.fixture
def loaders():
    train, val, _ = digits_splits(seed=0)
    return make_loaders((train, val), batch_size=64)


def test_fit_learns_digits(loaders):
    """Does a small MLP reach good validation accuracy in two epochs, with a complete history?"""
    set_seed(0)
    model = MLP(64, 10, hidden=32)
    train_loader, val_loader = loaders
    history = fit(
        model,
        train_loader,
        torch.optim.Adam(model.parameters(), lr=1e-2),
        num_epochs=2,
        val_loader=val_loader,
        progress=False,
        device="cpu",
    )
    assert history.epochs == 2 and len(history.val_acc) == 2
    assert len(history.step_loss) == 2 * len(train_loader)
    assert history.train_loss[1] < history.train_loss[0]
    assert history.val_acc[-1] > 0.85
    assert "2 epochs" in history.summary()


def test_max_steps_and_continue(loaders):
    """Does max_steps stop early, and does passing a history continue it?"""
    model = MLP(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    history = fit(model, loaders[0], opt, num_epochs=5, max_steps=3, progress=False, device="cpu")
    assert len(history.step_loss) == 3 and history.epochs == 1
    fit(model, loaders[0], opt, num_epochs=1, max_steps=2, progress=False, device="cpu", history=history)
    assert len(history.step_loss) == 5


def test_diverging_loss_raises(loaders):
    """Is a NaN loss reported with FloatingPointError instead of training on garbage?"""
    model = MLP(64, 10)
    with torch.no_grad():
        model[0].weight.fill_(float("nan"))
    with pytest.raises(FloatingPointError, match="learning rate"):
        fit(model, loaders[0], torch.optim.SGD(model.parameters(), lr=0.1), progress=False, device="cpu")


def test_evaluate_restores_mode_and_counts_partial_batch():
    """Is evaluate weighted per sample (partial last batch) and does it restore train mode?"""
    x = torch.randn(10, 4)
    y = torch.randint(0, 3, (10,))
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    model.train()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=4)
    metrics = evaluate(model, loader, device="cpu")
    loss, acc = metrics.loss, metrics.accuracy
    model.eval()
    expected = nn.functional.cross_entropy(model(x), y).item()
    assert math.isclose(loss, expected, rel_tol=1e-5)
    assert 0.0 <= acc <= 1.0
    model.train()
    evaluate(model, loader, device="cpu")
    assert model.training


def test_bad_arguments(loaders):
    """Are nonsensical epochs/steps refused with ValueError naming the argument?"""
    model = MLP(64, 10)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="num_epochs"):
        fit(model, loaders[0], opt, num_epochs=0)
    with pytest.raises(ValueError, match="max_steps"):
        fit(model, loaders[0], opt, max_steps=0)
    with pytest.raises(ValueError, match="loader"):
        evaluate(model, [], device="cpu")
    assert History().epochs == 0


def test_evaluate_returns_metrics_that_do_not_unpack(loaders):
    """Does evaluate return named Metrics that cannot be unpacked as 06's (loss, accuracy) answer?"""
    metrics = evaluate(MLP(64, 10), loaders[1], device="cpu")
    assert isinstance(metrics, Metrics) and isinstance(metrics.loss, float) and 0.0 <= metrics.accuracy <= 1.0
    with pytest.raises(TypeError):
        loss, acc = metrics
    with pytest.raises(TypeError):
        metrics[0]  # noqa: B018
