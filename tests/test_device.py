"""Does device selection follow CUDA -> MPS -> CPU with an override, and quick mode its switch?"""

import pytest
import torch

from adl4cv_utils import get_device, quick_mode


def test_cpu_machine_picks_cpu(monkeypatch):
    """With no GPU and no override, is the CPU chosen?"""
    monkeypatch.delenv("ADL4CV_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")


def test_cuda_first_then_mps(monkeypatch):
    """Is CUDA preferred over MPS, and MPS over the CPU?"""
    monkeypatch.delenv("ADL4CV_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert get_device().type == "cuda"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_device().type == "mps"


def test_environment_override(monkeypatch):
    """Does ADL4CV_DEVICE=cpu win even when CUDA is available?"""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("ADL4CV_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")


def test_bad_override_names_the_argument(monkeypatch):
    """Does a wrong or unavailable device raise ValueError saying which?"""
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device: expected"):
        get_device("tpu")
    with pytest.raises(ValueError, match="CUDA is not available"):
        get_device("cuda:0")


def test_quick_mode_switch(monkeypatch):
    """Is quick mode on without a GPU, and does ADL4CV_QUICK override it both ways?"""
    monkeypatch.delenv("ADL4CV_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    monkeypatch.delenv("ADL4CV_QUICK", raising=False)
    assert quick_mode() is True
    monkeypatch.setenv("ADL4CV_QUICK", "0")
    assert quick_mode() is False
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("ADL4CV_QUICK", "1")
    assert quick_mode() is True
    monkeypatch.setenv("ADL4CV_QUICK", "maybe")
    with pytest.raises(ValueError, match="ADL4CV_QUICK"):
        quick_mode()
