"""Where does the data come from? (chapter 1; generated images from chapter 6 on)

The book and the tests never download anything. They use

* ``digits_splits`` -- scikit-learn's bundled 8x8 handwritten digits (real data, 1797 images);
* ``ShapesDataset`` -- procedurally generated RGB images of simple shapes (any size, any count);
* ``sample_photo`` -- one of scikit-learn's two bundled sample photos.

The real data sets stay in the code for readers on their own machine or on Colab, behind an
explicit switch: ``load_cifar10(root, download=True)`` downloads only when asked to, and
``image_dataset("cifar10", ...)`` requires ``real_data=True`` (or ``ADL4CV_REAL_DATA=1``).
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, TensorDataset

SHAPE_CLASSES = ("circle", "square", "triangle", "cross", "ring", "stripes")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def digits_splits(
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    seed: int = 0,
    flatten: bool = True,
) -> tuple[TensorDataset, TensorDataset, TensorDataset]:
    """Split scikit-learn's digits into (train, val, test) TensorDatasets of float images in [0, 1].

    Images are ``(N, 64)`` when ``flatten`` else ``(N, 1, 8, 8)``; labels are int64 in 0..9.
    """
    from sklearn.datasets import load_digits

    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name}: expected a fraction in [0, 1), got {value!r}")
    if val_fraction + test_fraction >= 1.0:
        raise ValueError(f"val_fraction + test_fraction must be below 1, got {val_fraction + test_fraction}")
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32) / 16.0  # (N, 8, 8), pixel values 0..16
    y = torch.tensor(digits.target, dtype=torch.int64)
    x = x.reshape(len(x), -1) if flatten else x.unsqueeze(1)
    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(test_fraction * len(x)))
    n_val = int(round(val_fraction * len(x)))
    test_idx, val_idx, train_idx = order[:n_test], order[n_test : n_test + n_val], order[n_test + n_val :]
    return tuple(TensorDataset(x[i], y[i]) for i in (train_idx, val_idx, test_idx))  # type: ignore[return-value]


def make_loaders(datasets: tuple[Dataset, ...], batch_size: int = 64, seed: int = 0) -> tuple[DataLoader, ...]:
    """Wrap (train, val, ...) datasets in DataLoaders; only the first one is shuffled."""
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    loaders = []
    for i, ds in enumerate(datasets):
        gen = torch.Generator().manual_seed(seed) if i == 0 else None
        loaders.append(DataLoader(ds, batch_size=batch_size, shuffle=i == 0, generator=gen))
    return tuple(loaders)


def _shape_masks(kind: np.ndarray, cx, cy, r, size: int) -> np.ndarray:
    """Boolean masks ``(N, size, size)`` of one shape per image, drawn on a pixel grid."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)  # (H, W)
    dx = xx[None] - cx[:, None, None]  # (N, H, W)
    dy = yy[None] - cy[:, None, None]
    r = r[:, None, None]
    dist = np.sqrt(dx**2 + dy**2)
    masks = np.zeros((len(kind), size, size), dtype=bool)
    shapes = {
        0: dist <= r,  # circle
        1: (np.abs(dx) <= r * 0.8) & (np.abs(dy) <= r * 0.8),  # square
        2: (dy <= r * 0.7) & (dy >= -r) & (np.abs(dx) <= (dy + r) * 0.6),  # triangle, apex up
        3: ((np.abs(dx) <= r * 0.25) | (np.abs(dy) <= r * 0.25)) & (np.abs(dx) <= r) & (np.abs(dy) <= r),  # cross
        4: (dist <= r) & (dist >= r * 0.55),  # ring
        5: (np.abs(dx) <= r) & (np.abs(dy) <= r) & ((np.floor((dy + r) / np.maximum(r / 2.5, 1)) % 2) == 0),  # stripes
    }
    for k, mask in shapes.items():
        sel = kind == k
        masks[sel] = mask[sel]
    return masks


class ShapesDataset(Dataset):
    """Generated RGB images of simple shapes on a noisy background, one shape per image.

    ``ShapesDataset(n, size=32, num_classes=6, seed=0)`` gives ``(3, size, size)`` float images in
    [0, 1] and int64 labels indexing ``SHAPE_CLASSES``. The same seed gives the same images.
    """

    def __init__(
        self, n: int = 1000, size: int = 32, num_classes: int = len(SHAPE_CLASSES), seed: int = 0, noise: float = 0.1
    ):
        if n < 1:
            raise ValueError(f"n: expected a positive number of images, got {n!r}")
        if size < 8:
            raise ValueError(f"size: expected at least 8 pixels, got {size!r}")
        if not 2 <= num_classes <= len(SHAPE_CLASSES):
            raise ValueError(f"num_classes: expected 2..{len(SHAPE_CLASSES)}, got {num_classes!r}")
        if noise < 0:
            raise ValueError(f"noise: expected a non-negative std, got {noise!r}")
        rng = np.random.default_rng(seed)
        labels = rng.integers(0, num_classes, size=n)
        r = rng.uniform(0.18, 0.32, size=n) * size
        cx = rng.uniform(r, size - r)
        cy = rng.uniform(r, size - r)
        masks = _shape_masks(labels, cx, cy, r, size)[:, None]  # (N, 1, H, W)
        background = rng.uniform(0.0, 0.5, size=(n, 3, 1, 1))
        colour = rng.uniform(0.5, 1.0, size=(n, 3, 1, 1))
        images = np.where(masks, colour, background) + noise * rng.standard_normal((n, 3, size, size))
        self.images = torch.tensor(np.clip(images, 0.0, 1.0), dtype=torch.float32)  # (N, 3, H, W)
        self.labels = torch.tensor(labels, dtype=torch.int64)
        self.classes = SHAPE_CLASSES[:num_classes]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.images[i], self.labels[i]


def sample_photo(name: str = "china.jpg", size: int | None = None) -> torch.Tensor:
    """One of scikit-learn's bundled photos ('china.jpg' or 'flower.jpg') as ``(3, H, W)`` in [0, 1]."""
    from sklearn.datasets import load_sample_image

    if name not in {"china.jpg", "flower.jpg"}:
        raise ValueError(f"name: expected 'china.jpg' or 'flower.jpg', got {name!r}")
    img = torch.tensor(load_sample_image(name), dtype=torch.float32).permute(2, 0, 1) / 255.0  # (3, 427, 640)
    if size is not None:
        img = torch.nn.functional.interpolate(
            img[None], size=size, mode="bilinear", antialias=True, align_corners=False
        )[0].clamp(0, 1)
    return img


def load_cifar10(root: str | os.PathLike, train: bool = True, download: bool = False) -> TensorDataset:
    """CIFAR-10 as a TensorDataset of ``(3, 32, 32)`` float images in [0, 1] and int64 labels.

    Reads the python-pickle release (``root/cifar-10-batches-py``). Downloads through torchvision
    only when ``download=True``; the book and the tests never do.
    """
    folder = Path(root) / "cifar-10-batches-py"
    if not folder.is_dir():
        if not download:
            raise FileNotFoundError(f"CIFAR-10 not found under {folder}; pass download=True to fetch it (about 170 MB)")
        import torchvision

        torchvision.datasets.CIFAR10(str(root), train=train, download=True)
    names = [f"data_batch_{i}" for i in range(1, 6)] if train else ["test_batch"]
    xs, ys = [], []
    for name in names:
        with open(folder / name, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        ys.append(np.asarray(batch["labels"], dtype=np.int64))
    x = torch.tensor(np.concatenate(xs), dtype=torch.float32) / 255.0
    return TensorDataset(x, torch.tensor(np.concatenate(ys)))


def real_data_enabled() -> bool:
    """Has the reader switched on real (downloaded) data with ``ADL4CV_REAL_DATA=1``?"""
    return os.environ.get("ADL4CV_REAL_DATA", "").strip().lower() in {"1", "true", "yes", "on"}


def image_dataset(
    name: str = "shapes",
    train: bool = True,
    n: int = 2000,
    size: int = 32,
    seed: int = 0,
    real_data: bool | None = None,
    root: str = "data",
) -> Dataset:
    """A 32x32 RGB classification set: generated 'shapes' (default) or 'cifar10' (real data switch).

    ``cifar10`` needs ``real_data=True`` or ``ADL4CV_REAL_DATA=1`` and downloads into ``root``.
    """
    if name == "shapes":
        return ShapesDataset(n=n, size=size, seed=seed if train else seed + 10_000)
    if name == "cifar10":
        allowed = real_data_enabled() if real_data is None else real_data
        if not allowed:
            raise ValueError("name='cifar10' downloads real data: pass real_data=True or set ADL4CV_REAL_DATA=1")
        return load_cifar10(root, train=train, download=True)
    raise ValueError(f"name: expected 'shapes' or 'cifar10', got {name!r}")
