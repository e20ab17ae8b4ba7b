"""Which device should this code run on, and should it run in quick mode? (every chapter)

One helper for the whole course: CUDA, then Apple MPS, then CPU, overridable with the
environment variable ``ADL4CV_DEVICE`` (for example ``ADL4CV_DEVICE=cpu``).
Quick mode (smaller data, fewer steps) is on when no GPU is found, or when ``ADL4CV_QUICK=1``;
``ADL4CV_QUICK=0`` forces the full run even on a CPU.
"""

from __future__ import annotations

import os

import torch

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def get_device(prefer: str | None = None) -> torch.device:
    """Return the best available device: ``prefer``, then ``$ADL4CV_DEVICE``, then CUDA, MPS, CPU."""
    choice = prefer if prefer is not None else os.environ.get("ADL4CV_DEVICE", "").strip()
    if choice:
        kind = choice.split(":")[0].lower()
        if kind not in {"cpu", "cuda", "mps"}:
            raise ValueError(f"device: expected 'cpu', 'cuda' or 'mps' (optionally 'cuda:N'), got {choice!r}")
        if kind == "cuda" and not torch.cuda.is_available():
            raise ValueError(f"device: {choice!r} was requested but CUDA is not available here")
        if kind == "mps" and not _mps_available():
            raise ValueError(f"device: {choice!r} was requested but Apple MPS is not available here")
        return torch.device(choice.lower())
    if torch.cuda.is_available():
        return torch.device("cuda")
    if _mps_available():
        return torch.device("mps")
    return torch.device("cpu")


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def quick_mode() -> bool:
    """Should notebooks use their quick settings? ``$ADL4CV_QUICK`` decides, else: no GPU -> quick."""
    value = os.environ.get("ADL4CV_QUICK", "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    if value:
        raise ValueError(f"ADL4CV_QUICK: expected 1/0/true/false, got {value!r}")
    return get_device().type == "cpu"
