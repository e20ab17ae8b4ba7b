"""Tests of adl4cv_utils.augment (chapter 5: data augmentation)."""

from __future__ import annotations

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from adl4cv_utils.augment import Augment, AugmentedLoader, hflip, random_crop, random_hflip, ten_crop


def _images(b: int = 5, c: int = 3, h: int = 8, w: int = 10) -> torch.Tensor:
    return torch.arange(b * c * h * w, dtype=torch.float32).reshape(b, c, h, w)


def _gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_hflip_twice_is_identity():
    """Does mirroring twice give back the original images?"""
    x = _images()
    assert torch.equal(hflip(hflip(x)), x)
    assert not torch.equal(hflip(x), x)
    assert torch.equal(hflip(x)[..., 0], x[..., -1])


def test_random_hflip_extremes_and_mix():
    """Does p=0 keep, p=1 mirror, and p=0.5 mirror some images but not others?"""
    x = _images(b=64)
    assert torch.equal(random_hflip(x, p=0.0, generator=_gen()), x)
    assert torch.equal(random_hflip(x, p=1.0, generator=_gen()), hflip(x))
    out = random_hflip(x, p=0.5, generator=_gen())
    flipped = torch.tensor([torch.equal(o, f) for o, f in zip(out, hflip(x), strict=True)])
    kept = torch.tensor([torch.equal(o, i) for o, i in zip(out, x, strict=True)])
    assert torch.all(flipped ^ kept)  # every image is either mirrored or untouched
    assert 10 < flipped.sum() < 54


@pytest.mark.parametrize(
    "size, padding, expected",
    [(None, 0, (5, 3, 8, 10)), (None, 4, (5, 3, 8, 10)), (6, 0, (5, 3, 6, 6)), ((4, 7), 2, (5, 3, 4, 7))],
)
def test_random_crop_shapes(size, padding, expected):
    """Does random_crop return (B, C, h, w) with the requested crop size (default: the input's)?"""
    assert random_crop(_images(), size=size, padding=padding, generator=_gen()).shape == expected


def test_random_crop_without_padding_is_identity():
    """With padding 0 and the full size there is only one window: is the output the input?"""
    x = _images()
    assert torch.equal(random_crop(x, padding=0, generator=_gen()), x)


def test_random_crop_is_a_shift_of_each_image():
    """Is every padded crop a shifted copy of its own image, zeros where it left the image?"""
    x = _images(b=16) + 1.0  # strictly positive, so zero padding is recognisable
    out = random_crop(x, padding=2, generator=_gen(3))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for i in range(len(x)):
        matches = [
            (dy, dx)
            for dy in range(5)
            for dx in range(5)
            if torch.equal(padded[i, :, dy : dy + 8, dx : dx + 10], out[i])
        ]
        assert len(matches) == 1, f"image {i}: no unique window of the padded image matches the crop"
    assert (out == 0).any(), "some crop should reach into the zero padding"


def test_random_crop_reflect_padding_has_no_zeros():
    """Does padding_mode='reflect' fill the border with image content instead of zeros?"""
    x = _images() + 1.0
    out = random_crop(x, padding=3, padding_mode="reflect", generator=_gen())
    assert (out > 0).all()


def test_seeded_determinism():
    """Do the same seed give the same crops and flips, and different seeds different ones?"""
    x = _images(b=32)
    a = Augment(padding=2, flip=True, seed=7)
    b = Augment(padding=2, flip=True, seed=7)
    c = Augment(padding=2, flip=True, seed=8)
    first, second = a(x), b(x)
    assert torch.equal(first, second)
    assert torch.equal(a(x), b(x))  # the sequences stay in step
    assert not torch.equal(c(x), first)
    assert torch.equal(random_crop(x, padding=2, generator=_gen(1)), random_crop(x, padding=2, generator=_gen(1)))


def test_augment_switches():
    """Does Augment(padding=None, flip=False) leave images alone, and flip-only never shift them?"""
    x = _images(b=16)
    assert torch.equal(Augment(padding=None, flip=False)(x), x)
    out = Augment(padding=None, flip=True, seed=0)(x)
    for o, i in zip(out, x, strict=True):
        assert torch.equal(o, i) or torch.equal(o, i.flip(-1))


def test_ten_crop_views():
    """Are the ten views the four corners, the centre, and their mirror images?"""
    x = _images(b=2, h=8, w=8)
    views = ten_crop(x, 6)
    assert views.shape == (2, 10, 3, 6, 6)
    assert torch.equal(views[:, 0], x[..., :6, :6])
    assert torch.equal(views[:, 3], x[..., 2:, 2:])
    assert torch.equal(views[:, 4], x[..., 1:7, 1:7])
    assert torch.equal(views[:, 5:], views[:, :5].flip(-1))


def test_augmented_loader_augments_only_images():
    """Does AugmentedLoader transform x, keep y, and report the wrapped loader's length?"""
    x, y = _images(b=10), torch.arange(10)
    loader = DataLoader(TensorDataset(x, y), batch_size=4)
    wrapped = AugmentedLoader(loader, hflip)
    assert len(wrapped) == len(loader) == 3
    batches = list(wrapped)
    assert torch.equal(torch.cat([b[0] for b in batches]), hflip(x))
    assert torch.equal(torch.cat([b[1] for b in batches]), y)


@pytest.mark.parametrize(
    "call, name",
    [
        (lambda: hflip(torch.zeros(3, 4, 4)), "x"),
        (lambda: random_hflip(torch.zeros(1, 3, 4, 4), p=1.5), "p"),
        (lambda: random_crop(torch.zeros(1, 3, 4, 4), padding=-1), "padding"),
        (lambda: random_crop(torch.zeros(1, 3, 4, 4), padding=1.5), "padding"),
        (lambda: random_crop(torch.zeros(1, 3, 4, 4), size=9, padding=1), "size"),
        (lambda: random_crop(torch.zeros(1, 3, 4, 4), size=0), "size"),
        (lambda: random_crop(torch.zeros(1, 3, 4, 4), padding=1, padding_mode="wrap"), "padding_mode"),
        (lambda: ten_crop(torch.zeros(1, 3, 4, 4), 5), "size"),
        (lambda: Augment(padding=-2), "padding"),
        (lambda: Augment(padding_mode="mirror"), "padding_mode"),
        (lambda: AugmentedLoader([], transform="flip"), "transform"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(call, name):
    """Does bad input raise ValueError that names the offending argument?"""
    with pytest.raises(ValueError, match=name):
        call()
