"""What a probe returns: the student's values as plain data (a module of its own, so that every probe module
can import it while adl4cv_utils.probing is still registering the probes)."""

from __future__ import annotations

import torch


def raw(value, depth: int = 0):
    """``value`` as plain data: tensors without their graphs, tuples/lists of them, numbers; else a type name."""
    if torch.is_tensor(value):
        return value.detach().clone()
    if isinstance(value, (tuple, list)) and depth < 4:
        items = [raw(v, depth + 1) for v in value]
        return tuple(items) if isinstance(value, tuple) else items
    if value is None or type(value) in (bool, int, float, str):
        return value
    return f"<{type(value).__name__}>"
