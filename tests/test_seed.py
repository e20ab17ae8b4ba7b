"""Does set_seed make torch, NumPy and random repeatable?"""

import random

import numpy as np
import pytest
import torch

from adl4cv_utils import set_seed


def test_same_seed_same_numbers():
    """Do two runs with the same seed draw the same numbers from all three generators?"""
    draws = []
    for _ in range(2):
        set_seed(7)
        draws.append((torch.rand(3).tolist(), np.random.rand(3).tolist(), random.random()))
    assert draws[0] == draws[1]
    set_seed(8)
    assert torch.rand(3).tolist() != draws[0][0]


@pytest.mark.parametrize("bad", [-1, 1.5, "0", True])
def test_bad_seed(bad):
    """Is a seed that is not a non-negative int refused with ValueError?"""
    with pytest.raises(ValueError, match="seed"):
        set_seed(bad)
