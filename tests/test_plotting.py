"""Do the plotting helpers draw what they are given (Agg backend)?"""

import matplotlib.pyplot as plt
import pytest
import torch

from adl4cv_utils.plotting import plot_curves, plot_history, plot_surface_paths, show_images
from adl4cv_utils.surfaces import elongated_bowl
from adl4cv_utils.training import History


def teardown_function():
    plt.close("all")


def test_plot_history_lines():
    """Does plot_history draw a train and a dashed val line per run, with a legend?"""
    h = History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7], train_acc=[0.5, 0.8], val_acc=[0.4, 0.7])
    ax = plot_history({"a": h, "b": h})
    assert len(ax.lines) == 4 and ax.lines[1].get_linestyle() == "--"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["a train", "a val", "b train", "b val"]
    assert list(plot_history(h, metric="acc").lines[0].get_ydata()) == [0.5, 0.8]
    with pytest.raises(ValueError, match="metric"):
        plot_history(h, metric="f1")


def test_plot_curves_smoothing():
    """Does smoothing shorten a curve by smooth - 1 points and average it?"""
    ax = plot_curves({"x": [0.0, 2.0, 4.0, 6.0]}, smooth=2, log=True)
    assert list(ax.lines[0].get_ydata()) == [1.0, 3.0, 5.0]
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="smooth"):
        plot_curves({"x": [1.0]}, smooth=0)


def test_surface_paths_and_images():
    """Are trajectories drawn on the contour plot and images laid out in a grid with titles?"""
    path = torch.tensor([[-4.0, 2.0], [-2.0, 1.0], [0.0, 0.0]])
    ax = plot_surface_paths(elongated_bowl, {"sgd": path})
    assert list(ax.lines[0].get_xdata()) == [-4.0, -2.0, 0.0]
    fig = show_images(torch.rand(5, 3, 8, 8), labels=torch.tensor([0, 1, 0, 1, 0]), ncols=3, class_names=["a", "b"])
    assert len(fig.axes) == 6 and fig.axes[1].get_title() == "b"
    with pytest.raises(ValueError, match="images"):
        show_images(torch.rand(2, 5, 8, 8))
