"""Does only plain data cross from a worker to the judge, as plain tensors?"""

from __future__ import annotations

import json
import pickle
import struct

import pytest
import torch

from adl4cv_utils.probing.codec import CodecError, Opaque, decode, encode


class _Liar(torch.Tensor):
    def __eq__(self, other):  # noqa: D105 - lies on purpose
        return True


def _frame(header: dict, body: bytes = b"") -> bytes:
    raw = json.dumps(header).encode()
    return struct.pack(">I", len(raw)) + raw + body


def test_round_trip_keeps_values_and_structure():
    """Do numbers, strings, None, nested lists/tuples/dicts and tensors of every dtype come back equal?"""
    value = {
        "a": (1, 2.5, float("inf"), None, True, "x"),
        "t": [torch.randn(2, 3, dtype=torch.float64), torch.arange(4), torch.ones(2, dtype=torch.bool)],
        "e": torch.empty(0, 3),
        "h": torch.ones(3, dtype=torch.bfloat16),
    }
    back = decode(encode(value))
    assert back["a"] == value["a"]
    assert all(torch.equal(x, y) for x, y in zip(back["t"], value["t"]))
    assert back["e"].shape == (0, 3) and back["h"].dtype == torch.bfloat16


def test_subclass_does_not_survive():
    """Is a tensor subclass with a lying ``__eq__`` re-created as a plain torch.Tensor?"""
    back = decode(encode(torch.zeros(3).as_subclass(_Liar)))
    assert type(back) is torch.Tensor
    assert not torch.equal(back, torch.ones(3))


def test_other_objects_arrive_as_type_names():
    """Does an arbitrary object arrive as an Opaque type name, not as the object?"""
    back = decode(encode({"o": object(), "f": lambda: 1}))
    assert isinstance(back["o"], Opaque) and back["o"].type_name == "object"
    assert isinstance(back["f"], Opaque)


@pytest.mark.parametrize(
    "frame",
    [
        pickle.dumps({"a": 1}),
        _frame({"value": {"$x": 1}, "tensors": []}),
        _frame({"value": {"$T": 0}, "tensors": [["float32", [2], 8]]}, b"\0" * 4),
        _frame({"value": {"$T": 0}, "tensors": [["object", [1], 8]]}, b"\0" * 8),
        _frame({"value": 1, "tensors": []}, b"trailing"),
        _frame({"value": {"$T": 3}, "tensors": []}),
        b"\0\0",
    ],
    ids=["pickle", "unknown-tag", "short-bytes", "bad-dtype", "trailing", "bad-index", "too-short"],
)
def test_malformed_frames_are_refused(frame):
    """Is every frame that is not exactly plain data refused with CodecError (never executed)?"""
    with pytest.raises(CodecError):
        decode(frame)
