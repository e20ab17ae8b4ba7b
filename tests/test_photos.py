"""Tests for adl4cv_utils.photos (scikit-image's bundled photographs)."""

import pytest
import torch

from adl4cv_utils import photos


def test_photo_keeps_the_aspect_ratio():
    """Does resizing set the shorter side and keep the photo's aspect ratio (no squashing)?"""
    full = photos.photo("chelsea")
    assert full.shape == (3, 300, 451) and 0 <= full.min() and full.max() <= 1
    small = photos.photo("chelsea", size=100)
    assert small.shape == (3, 100, 150)
    assert abs(small.shape[2] / small.shape[1] - 451 / 300) < 0.01


def test_photo_centre_crop():
    """Does crop=True return the central square of the resized photo?"""
    resized = photos.photo("rocket", size=64)  # (3, 64, 96)
    cropped = photos.photo("rocket", size=64, crop=True)
    assert cropped.shape == (3, 64, 64)
    assert torch.equal(cropped, resized[:, :, 16:80])


def test_photo_refuses_wrong_arguments():
    """Are an unknown name, a bad size and a crop without size refused with a ValueError naming them?"""
    with pytest.raises(ValueError, match="name"):
        photos.photo("china")
    with pytest.raises(ValueError, match="size"):
        photos.photo("coffee", size=0)
    with pytest.raises(ValueError, match="crop"):
        photos.photo("coffee", crop=True)


def test_lfw_faces_split():
    """Are the 200 photos split without overlap, stratified, with faces labelled 1?"""
    import skimage.data

    train, val = photos.lfw_faces(val_fraction=0.3, seed=0)
    x_train, y_train = train.tensors
    x_val, y_val = val.tensors
    assert x_train.shape == (140, 1, 25, 25) and x_val.shape == (60, 1, 25, 25)
    assert int(y_train.sum()) == 70 and int(y_val.sum()) == 30
    raw = torch.from_numpy(skimage.data.lfw_subset()).float()
    faces = {tuple(img.flatten().tolist()) for img in raw[:100]}
    assert all((tuple(img.flatten().tolist()) in faces) == bool(y) for img, y in zip(x_val[:, 0], y_val, strict=True))
    both = torch.cat([x_train, x_val]).flatten(1)
    assert torch.unique(both, dim=0).shape[0] == 200
    with pytest.raises(ValueError, match="val_fraction"):
        photos.lfw_faces(val_fraction=1.0)
