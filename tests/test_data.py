"""Do the data helpers give the right shapes, splits and determinism, without any download?"""

import pickle

import numpy as np
import pytest
import torch

from adl4cv_utils import data


def test_digits_splits_disjoint_and_complete():
    """Are the digits split into disjoint train/val/test parts that cover all 1797 images?"""
    train, val, test = data.digits_splits(val_fraction=0.2, test_fraction=0.1, seed=0)
    assert len(train) + len(val) + len(test) == 1797
    assert len(test) == round(0.1 * 1797) and len(val) == round(0.2 * 1797)
    x, y = train.tensors
    assert x.shape[1] == 64 and x.dtype == torch.float32 and 0 <= x.min() and x.max() <= 1
    assert set(y.unique().tolist()) == set(range(10))
    rows = {tuple(r) for ds in (train, val, test) for r in ds.tensors[0][:50].tolist()}
    assert len(rows) > 140  # no sample duplicated across the splits' first rows
    images, _, _ = data.digits_splits(flatten=False)
    assert images.tensors[0].shape[1:] == (1, 8, 8)


def test_digits_bad_fractions():
    """Do impossible fractions raise ValueError naming the argument?"""
    with pytest.raises(ValueError, match="val_fraction"):
        data.digits_splits(val_fraction=1.2)
    with pytest.raises(ValueError, match="must be below 1"):
        data.digits_splits(val_fraction=0.6, test_fraction=0.5)


def test_shapes_dataset_deterministic_and_balanced():
    """Does ShapesDataset give the same images for the same seed, in [0, 1], with all classes present?"""
    a, b = data.ShapesDataset(200, size=32, seed=3), data.ShapesDataset(200, size=32, seed=3)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert a.images.shape == (200, 3, 32, 32) and 0 <= a.images.min() and a.images.max() <= 1
    assert set(a.labels.tolist()) == set(range(len(data.SHAPE_CLASSES)))
    c = data.ShapesDataset(200, size=32, seed=4)
    assert not torch.equal(a.images, c.images)
    x, y = a[0]
    assert x.shape == (3, 32, 32) and y.dtype == torch.int64


def test_shapes_classes_differ():
    """Do the classes really look different (mean images of two classes differ clearly)?"""
    ds = data.ShapesDataset(600, noise=0.0, seed=0)
    means = [ds.images[ds.labels == k].mean(0) for k in range(2)]
    assert (means[0] - means[1]).abs().mean() > 0.01


@pytest.mark.parametrize(
    "kwargs,name",
    [({"n": 0}, "n"), ({"size": 4}, "size"), ({"num_classes": 9}, "num_classes"), ({"noise": -1}, "noise")],
)
def test_shapes_bad_arguments(kwargs, name):
    """Does each bad argument raise ValueError naming it?"""
    with pytest.raises(ValueError, match=name):
        data.ShapesDataset(**kwargs)


def test_sample_photo():
    """Is the bundled photo a (3, H, W) tensor in [0, 1], resizable, and a wrong name refused?"""
    img = data.sample_photo("china.jpg")
    assert img.shape == (3, 427, 640) and 0 <= img.min() and img.max() <= 1
    assert data.sample_photo("flower.jpg", size=(64, 96)).shape == (3, 64, 96)
    with pytest.raises(ValueError, match="name"):
        data.sample_photo("cat.jpg")


def test_cifar10_reader_on_small_local_files(tmp_path):
    """Does the CIFAR-10 loader read the pickle format (tiny fake batches) and never download by itself?"""
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in [*((f"data_batch_{i}", 4) for i in range(1, 6)), ("test_batch", 3)]:
        batch = {"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8), "labels": list(range(n))}
        with open(folder / name, "wb") as f:
            pickle.dump(batch, f)
    train = data.load_cifar10(tmp_path, train=True)
    test = data.load_cifar10(tmp_path, train=False)
    assert len(train) == 20 and len(test) == 3
    assert train.tensors[0].shape == (20, 3, 32, 32) and train.tensors[0].max() <= 1
    with pytest.raises(FileNotFoundError, match="download=True"):
        data.load_cifar10(tmp_path / "elsewhere")


def test_real_data_needs_the_switch(monkeypatch):
    """Is CIFAR-10 refused unless the reader switched real data on?"""
    monkeypatch.delenv("ADL4CV_REAL_DATA", raising=False)
    with pytest.raises(ValueError, match="real_data=True"):
        data.image_dataset("cifar10")
    assert len(data.image_dataset("shapes", n=10)) == 10
    with pytest.raises(ValueError, match="name"):
        data.image_dataset("imagenet")


def test_make_loaders_shuffles_only_train():
    """Is only the first loader shuffled, and a bad batch size refused?"""
    train, val, _ = data.digits_splits()
    tl, vl = data.make_loaders((train, val), batch_size=32)
    assert tl.batch_size == 32 and next(iter(vl))[0].shape == (32, 64)
    assert torch.equal(next(iter(vl))[0], val.tensors[0][:32])
    with pytest.raises(ValueError, match="batch_size"):
        data.make_loaders((train,), batch_size=0)
