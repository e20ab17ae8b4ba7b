"""How do I augment a batch of images? (chapter 5: data augmentation)

Batch-level augmentations that work on ``(B, C, H, W)`` tensors on any device, so one call
augments a whole mini-batch (each image gets its own random crop and flip):

* ``hflip`` -- mirror images left-right (deterministic);
* ``random_hflip`` -- mirror each image with probability ``p``;
* ``random_crop`` -- pad by ``padding`` pixels and cut a random ``size`` window per image,
  the CIFAR-10 recipe of He et al. (2016) with ``padding=4``;
* ``ten_crop`` -- the four corner crops, the centre crop and their mirror images, the
  "crop + flip = 10 images" of Krizhevsky et al. (2012);
* ``Augment`` -- crop and/or flip with its own seeded generator, for use in a training loop;
* ``AugmentedLoader`` -- wraps a DataLoader and augments the images of every batch it yields,
  so ``training.fit`` can train on augmented data unchanged.

Randomness comes from a ``torch.Generator`` (CPU) when one is given: the same seed gives the same
crops and flips on every device.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import torch
import torch.nn.functional as F

PADDING_MODES = ("constant", "reflect", "replicate")


def _check_images(x: torch.Tensor) -> None:
    if not torch.is_tensor(x) or x.ndim != 4:
        shape = tuple(x.shape) if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"x: expected a (B, C, H, W) tensor, got {shape}")


def _pair(size: int | tuple[int, int] | None, x: torch.Tensor) -> tuple[int, int]:
    if size is None:
        return x.shape[-2], x.shape[-1]
    h, w = (size, size) if isinstance(size, int) else tuple(size)
    if h < 1 or w < 1:
        raise ValueError(f"size: expected positive crop sizes, got {size!r}")
    return h, w


def hflip(x: torch.Tensor) -> torch.Tensor:
    """Mirror every image of ``x`` ``(B, C, H, W)`` left-right."""
    _check_images(x)
    return x.flip(-1)


def random_hflip(x: torch.Tensor, p: float = 0.5, generator: torch.Generator | None = None) -> torch.Tensor:
    """Mirror each image of ``x`` ``(B, C, H, W)`` independently with probability ``p``."""
    _check_images(x)
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"p: expected a probability in [0, 1], got {p!r}")
    flip = torch.rand(len(x), generator=generator) < p  # (B,) on the CPU, like the generator
    flip = flip.to(x.device)[:, None, None, None]  # (B, 1, 1, 1)
    return torch.where(flip, x.flip(-1), x)


def random_crop(
    x: torch.Tensor,
    size: int | tuple[int, int] | None = None,
    padding: int = 0,
    padding_mode: str = "constant",
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Pad ``x`` ``(B, C, H, W)`` by ``padding`` pixels on each side, then cut a random window per image.

    ``size`` is the output size (default: the input's ``(H, W)``, so the image is shifted by up to
    ``padding`` pixels). ``padding_mode`` is 'constant' (zeros), 'reflect' or 'replicate'.
    """
    _check_images(x)
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding: expected a non-negative int, got {padding!r}")
    if padding_mode not in PADDING_MODES:
        raise ValueError(f"padding_mode: expected one of {PADDING_MODES}, got {padding_mode!r}")
    h, w = _pair(size, x)
    if padding > 0:
        x = F.pad(x, (padding,) * 4, mode=padding_mode)  # (B, C, H + 2p, W + 2p)
    b, c, hp, wp = x.shape
    if h > hp or w > wp:
        raise ValueError(f"size: crop {(h, w)} is larger than the padded image {(hp, wp)}")
    top = torch.randint(0, hp - h + 1, (b,), generator=generator).to(x.device)  # (B,)
    left = torch.randint(0, wp - w + 1, (b,), generator=generator).to(x.device)  # (B,)
    rows = top[:, None] + torch.arange(h, device=x.device)  # (B, h)
    cols = left[:, None] + torch.arange(w, device=x.device)  # (B, w)
    batch = torch.arange(b, device=x.device)[:, None, None, None]  # (B, 1, 1, 1)
    channel = torch.arange(c, device=x.device)[None, :, None, None]  # (1, C, 1, 1)
    return x[batch, channel, rows[:, None, :, None], cols[:, None, None, :]]  # (B, C, h, w)


def ten_crop(x: torch.Tensor, size: int | tuple[int, int]) -> torch.Tensor:
    """The ten views of Krizhevsky et al. (2012): 4 corner + centre crops of ``size``, and their mirrors.

    Returns ``(B, 10, C, h, w)``: views 0-4 are top-left, top-right, bottom-left, bottom-right and
    centre; views 5-9 are the same crops flipped left-right.
    """
    _check_images(x)
    h, w = _pair(size, x)
    H, W = x.shape[-2:]
    if h > H or w > W:
        raise ValueError(f"size: crop {(h, w)} is larger than the image {(H, W)}")
    top, left = (H - h) // 2, (W - w) // 2
    corners = [(0, 0), (0, W - w), (H - h, 0), (H - h, W - w), (top, left)]
    crops = torch.stack([x[..., i : i + h, j : j + w] for i, j in corners], dim=1)  # (B, 5, C, h, w)
    return torch.cat([crops, crops.flip(-1)], dim=1)  # (B, 10, C, h, w)


class Augment:
    """Random crop (with padding) and/or horizontal flip of a batch, with its own seeded generator.

    ``Augment(padding=4, flip=True, seed=0)(x)`` augments ``x`` ``(B, C, H, W)``; ``padding=None``
    switches cropping off, ``flip=False`` switches flipping off. Two instances with the same seed
    produce the same sequence of augmentations.
    """

    def __init__(
        self, padding: int | None = 4, flip: bool = True, padding_mode: str = "constant", seed: int | None = 0
    ):
        if padding is not None and (not isinstance(padding, int) or padding < 0):
            raise ValueError(f"padding: expected a non-negative int or None, got {padding!r}")
        if padding_mode not in PADDING_MODES:
            raise ValueError(f"padding_mode: expected one of {PADDING_MODES}, got {padding_mode!r}")
        self.padding, self.flip, self.padding_mode = padding, flip, padding_mode
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.seed()

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        _check_images(x)
        if self.padding is not None:
            x = random_crop(x, padding=self.padding, padding_mode=self.padding_mode, generator=self.generator)
        if self.flip:
            x = random_hflip(x, generator=self.generator)
        return x

    def __repr__(self) -> str:
        return f"Augment(padding={self.padding}, flip={self.flip}, padding_mode={self.padding_mode!r})"


class AugmentedLoader:
    """Yield ``(transform(x), y)`` for every ``(x, y)`` batch of ``loader``; ``len`` is the loader's.

    Augmentation happens per batch, so every epoch sees new random views of the same images.
    Use it for the training loader only: validation and test data stay untouched.
    """

    def __init__(self, loader: Iterable, transform):
        if not callable(transform):
            raise ValueError(f"transform: expected a callable, got {type(transform).__name__}")
        self.loader, self.transform = loader, transform

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        for x, y in self.loader:
            yield self.transform(x), y

    def __len__(self) -> int:
        return len(self.loader)  # type: ignore[arg-type]
