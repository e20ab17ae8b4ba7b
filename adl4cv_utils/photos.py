"""Real photographs that ship inside scikit-image (chapters 6 and 9): no download, ever.

* ``photo`` -- one of scikit-image's bundled colour photographs (astronaut, chelsea, coffee,
  rocket) as a ``(3, H, W)`` tensor, resized with its aspect ratio kept (chapter 6: image filters
  and convolution on RGB; chapter 9: occlusion with a pretrained network);
* ``lfw_faces`` -- ``skimage.data.lfw_subset()``: 200 grey 25x25 photographs, 100 faces and
  100 non-faces, split into train and validation sets (chapter 9: a small CNN on natural images).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
FACE_CLASSES = ("non-face", "face")


def photo(name: str = "chelsea", size: int | None = None, crop: bool = False) -> torch.Tensor:
    """A bundled scikit-image photograph as ``(3, H, W)`` float32 in [0, 1].

    ``size`` resizes the *shorter* side to ``size`` pixels and keeps the aspect ratio (no
    squashing); ``crop=True`` then cuts the central ``size x size`` square, the way ImageNet
    models are fed (resize, then centre crop).
    """
    import skimage.data

    if name not in PHOTOS:
        raise ValueError(f"name: expected one of {PHOTOS}, got {name!r}")
    if size is not None and (not isinstance(size, int) or size < 1):
        raise ValueError(f"size: expected a positive int or None, got {size!r}")
    if crop and size is None:
        raise ValueError("crop: a centre crop needs a size")
    img = torch.from_numpy(np.ascontiguousarray(getattr(skimage.data, name)())).permute(2, 0, 1)  # (3, H, W)
    img = img.float() / 255.0
    if size is not None:
        h, w = img.shape[-2:]
        scale = size / min(h, w)
        new = (max(size, round(h * scale)), max(size, round(w * scale)))  # the shorter side is exactly `size`
        img = F.interpolate(img[None], size=new, mode="bilinear", antialias=True, align_corners=False)[0]
        img = img.clamp(0, 1)
        if crop:
            top, left = (new[0] - size) // 2, (new[1] - size) // 2
            img = img[:, top : top + size, left : left + size]
    return img


def lfw_faces(val_fraction: float = 0.3, seed: int = 0) -> tuple[TensorDataset, TensorDataset]:
    """scikit-image's ``lfw_subset``: (train, val) TensorDatasets of ``(N, 1, 25, 25)`` images in [0, 1].

    Labels: 1 = face (the first 100 images of the file), 0 = non-face (the last 100). The split
    is stratified: each class is split in the same proportion, shuffled with ``seed``.
    """
    import skimage.data

    if not 0.0 < val_fraction < 1.0:
        raise ValueError(f"val_fraction: expected a fraction in (0, 1), got {val_fraction!r}")
    images = torch.from_numpy(skimage.data.lfw_subset()).float()[:, None]  # (200, 1, 25, 25)
    labels = torch.cat([torch.ones(100, dtype=torch.int64), torch.zeros(100, dtype=torch.int64)])
    generator = torch.Generator().manual_seed(seed)
    train_idx, val_idx = [], []
    for cls in (0, 1):
        idx = torch.nonzero(labels == cls).flatten()
        idx = idx[torch.randperm(len(idx), generator=generator)]
        n_val = int(round(val_fraction * len(idx)))
        val_idx.append(idx[:n_val])
        train_idx.append(idx[n_val:])
    train, val = torch.cat(train_idx), torch.cat(val_idx)
    return TensorDataset(images[train], labels[train]), TensorDataset(images[val], labels[val])
