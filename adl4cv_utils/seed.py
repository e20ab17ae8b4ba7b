"""How do I make a run repeatable? (chapter 1)"""

from __future__ import annotations

import random

import numpy as np
import torch


def set_seed(seed: int = 0) -> int:
    """Seed Python, NumPy and torch (all devices) with ``seed`` and return it."""
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed: expected a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return seed
