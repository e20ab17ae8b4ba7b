"""Tests for adl4cv_utils.interpret (chapters 7 and 9)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from adl4cv_utils.interpret import (
    collect_features,
    grad_cam,
    overlay_heatmap,
    plot_attention,
    plot_embedding,
    saliency_map,
)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_plot_attention_draws_the_weights_unchanged():
    """Does the heatmap show exactly the weights passed in, rows as queries and columns as keys?"""
    weights = torch.softmax(torch.randn(3, 5), dim=-1)
    ax = plot_attention(weights, query_labels=["a", "b", "c"], key_labels=list("vwxyz"), title="head 0")
    shown = ax.images[0].get_array()
    np.testing.assert_allclose(shown, weights.numpy(), rtol=1e-6)
    assert ax.get_title() == "head 0"
    assert [t.get_text() for t in ax.get_xticklabels()] == list("vwxyz")
    assert ax.images[0].get_clim() == (0.0, 1.0)


def test_plot_attention_rejects_bad_shapes_and_labels():
    """Does a 3-D tensor or a wrong number of labels raise a ValueError naming the argument?"""
    with pytest.raises(ValueError, match="weights"):
        plot_attention(torch.rand(2, 3, 3))
    with pytest.raises(ValueError, match="key_labels"):
        plot_attention(torch.rand(3, 3), key_labels=["a"])


def test_overlay_heatmap_upsamples_to_the_image_size():
    """Is a coarse (4, 4) map stretched to cover the whole (3, 16, 16) image?"""
    image = torch.rand(3, 16, 16)
    heat = torch.zeros(4, 4)
    heat[0, 0] = 1.0
    ax = overlay_heatmap(image, heat, title="p")
    assert len(ax.images) == 2
    overlay = np.asarray(ax.images[1].get_array())
    assert overlay.shape == (16, 16)
    # the hot corner stays in the top-left corner after upsampling
    assert overlay[:4, :4].mean() > overlay[-4:, -4:].mean()
    np.testing.assert_allclose(ax.images[0].get_array(), image.permute(1, 2, 0).numpy(), rtol=1e-6)


def test_overlay_heatmap_accepts_grayscale_and_rejects_bad_input():
    """Are (1, H, W) and (H, W) images accepted, and are bad shapes or alpha refused?"""
    overlay_heatmap(torch.rand(1, 8, 8), torch.rand(2, 2))
    overlay_heatmap(torch.rand(8, 8), np.random.rand(2, 2))
    with pytest.raises(ValueError, match="image"):
        overlay_heatmap(torch.rand(4, 8, 8), torch.rand(2, 2))
    with pytest.raises(ValueError, match="heatmap"):
        overlay_heatmap(torch.rand(3, 8, 8), torch.rand(2, 2, 2))
    with pytest.raises(ValueError, match="alpha"):
        overlay_heatmap(torch.rand(3, 8, 8), torch.rand(2, 2), alpha=2.0)


def test_collect_features_keeps_order_and_labels():
    """Are the features of every batch concatenated in order, with their labels?"""
    x = torch.arange(20, dtype=torch.float32).reshape(10, 2)
    y = torch.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=3)
    features, labels = collect_features(lambda b: 2 * b, loader)
    np.testing.assert_allclose(features, 2 * x.numpy())
    np.testing.assert_array_equal(labels, y.numpy())


def test_collect_features_rejects_non_flat_features_and_empty_data():
    """Does a feature function returning images, or an empty loader, raise a ValueError?"""
    loader = DataLoader(TensorDataset(torch.rand(4, 1, 2, 2), torch.zeros(4)), batch_size=2)
    with pytest.raises(ValueError, match="feature_fn"):
        collect_features(lambda b: b, loader)
    with pytest.raises(ValueError, match="data"):
        collect_features(lambda b: b, [])


def test_plot_embedding_one_scatter_per_class_with_names():
    """Does each class get its own coloured scatter, labelled with its name?"""
    points = np.random.default_rng(0).normal(size=(30, 2))
    labels = np.repeat([0, 1, 2], 10)
    ax = plot_embedding(points, labels, class_names=["circle", "square", "ring"], title="t-SNE")
    assert len(ax.collections) == 3
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["circle", "square", "ring"]
    np.testing.assert_allclose(ax.collections[1].get_offsets(), points[10:20])


def test_plot_embedding_rejects_bad_input():
    """Are 3-D points, mismatched labels and too few class names refused with a ValueError?"""
    with pytest.raises(ValueError, match="points"):
        plot_embedding(np.zeros((5, 3)), np.zeros(5))
    with pytest.raises(ValueError, match="labels"):
        plot_embedding(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="class_names"):
        plot_embedding(np.zeros((5, 2)), np.arange(5), class_names=["a"])


def test_saliency_map_of_a_linear_model_is_its_weights():
    """For s = W x + b, is the saliency map |W[target]|, the largest over the channels?"""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Flatten(), nn.Linear(2 * 4 * 5, 3))
    image = torch.rand(2, 4, 5)
    got = saliency_map(model, image, target=1)
    expected = model[1].weight[1].detach().view(2, 4, 5).abs().amax(dim=0)  # (4, 5)
    assert got.shape == (4, 5)
    torch.testing.assert_close(got, expected)


def test_saliency_map_restores_the_mode_and_leaves_parameter_grads_alone():
    """Does a model in training mode come back in training mode, with no .grad on its parameters?"""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.Linear(2 * 4 * 4, 2)).train()
    saliency_map(model, torch.rand(1, 6, 6), target=0)
    assert model.training
    assert all(p.grad is None for p in model.parameters())


def test_grad_cam_with_global_pooling_is_the_class_activation_map():
    """With conv -> GAP -> linear, is Grad-CAM ReLU(sum_k w_tk A_k) / (h w), the CAM of Zhou et al.?"""
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 4, 3, padding=1)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.fc = conv, nn.Linear(4, 5)

        def forward(self, x):
            return self.fc(self.conv(x).mean(dim=(2, 3)))

    model, image = Net(), torch.rand(3, 6, 7)
    got = grad_cam(model, model.conv, image, target=2)
    activations = conv(image[None])[0].detach()  # (4, 6, 7)
    expected = torch.relu((model.fc.weight[2].detach()[:, None, None] * activations).sum(0)) / (6 * 7)
    assert got.shape == (6, 7)
    torch.testing.assert_close(got, expected)
    assert (got >= 0).all()


def test_grad_cam_removes_its_hook_and_rejects_a_layer_that_does_not_run():
    """Is the forward hook gone afterwards, the mode restored, and an unused layer a ValueError?"""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2 * 4 * 4, 2)).train()
    grad_cam(model, model[0], torch.rand(1, 6, 6), target=1)
    assert not model[0]._forward_hooks
    assert model.training
    with pytest.raises(ValueError, match="layer"):
        grad_cam(model, nn.Conv2d(1, 1, 1), torch.rand(1, 6, 6), target=0)
