"""How does data cross between the judge and the grading kernel? Plain values only, decoded without running code.

A frame is ``len(header)`` (4 bytes, big-endian) + a JSON header + the raw bytes of every tensor.
The header's ``value`` is a tree of JSON scalars and arrays; anything else is a tagged JSON object:
``{"$T": i}`` the i-th tensor (dtype, shape and byte count in ``header["tensors"]``), ``{"$t": [...]}``
a tuple, ``{"$d": [[key, value], ...]}`` a dict, ``{"$f": "nan"}`` a non-finite float and
``{"$o": "TypeName"}`` an object that is not plain data (the judge only sees its type's name).

``decode`` uses ``json.loads`` and ``torch.frombuffer`` on a copy of the bytes: it cannot run code,
and every tensor it returns is a new plain ``torch.Tensor`` (a subclass cannot survive the
crossing). Unlike pickle, nothing the kernel sends can execute in the judge.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import numpy as np
import torch

DTYPES = {
    name: getattr(torch, name)
    for name in ("float64", "float32", "float16", "bfloat16", "int64", "int32", "int16", "int8", "uint8", "bool")
}
MAX_FRAME = 512 * 1024 * 1024  # bytes; a larger frame is refused, not read
MAX_DEPTH = 32


class CodecError(ValueError):
    """A frame that is not plain data (or too large / too deep)."""


def _plain_tensor(value: Any) -> torch.Tensor:
    # torch.Tensor's own methods, not the (possibly overridden) ones of a subclass
    t = torch.Tensor.detach(value)
    t = torch.Tensor.cpu(t)
    return torch.Tensor.contiguous(t)


def _encode(value: Any, tensors: list, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int:
        return value
    if type(value) is float:
        return value if math.isfinite(value) else {"$f": repr(value)}
    if isinstance(value, torch.Tensor):
        t = _plain_tensor(value)
        name = str(t.dtype).removeprefix("torch.")
        if name not in DTYPES:
            return {"$o": f"Tensor[{name}]"}
        tensors.append(t)
        return {"$T": len(tensors) - 1}
    if isinstance(value, np.ndarray) and value.dtype != object:
        return _encode(torch.from_numpy(np.ascontiguousarray(value)), tensors, depth)
    if isinstance(value, (np.generic,)) and not isinstance(value, np.object_):
        return _encode(value.item(), tensors, depth)
    if type(value) is list:
        return [_encode(v, tensors, depth + 1) for v in value]
    if type(value) is tuple:
        return {"$t": [_encode(v, tensors, depth + 1) for v in value]}
    if type(value) is dict:
        items = [[k, _encode(v, tensors, depth + 1)] for k, v in value.items() if type(k) in (str, int)]
        return {"$d": items}
    return {"$o": type(value).__name__}


def encode(value: Any) -> bytes:
    """One frame holding ``value``; anything that is not plain data becomes ``{"$o": type name}``."""
    tensors: list[torch.Tensor] = []
    tree = _encode(value, tensors, 0)
    meta = []
    blobs = []
    for t in tensors:
        if t.dtype == torch.bfloat16:
            raw = t.view(torch.int16).numpy().tobytes()
        else:
            raw = t.numpy().tobytes()
        meta.append([str(t.dtype).removeprefix("torch."), list(t.shape), len(raw)])
        blobs.append(raw)
    header = json.dumps({"value": tree, "tensors": meta}, allow_nan=False).encode()
    return struct.pack(">I", len(header)) + header + b"".join(blobs)


def _tensor(meta: Any, body: memoryview, offset: int) -> tuple[torch.Tensor, int]:
    if not (isinstance(meta, list) and len(meta) == 3):
        raise CodecError("bad tensor header")
    name, shape, nbytes = meta
    if name not in DTYPES or not isinstance(shape, list) or not all(type(s) is int and s >= 0 for s in shape):
        raise CodecError(f"bad tensor dtype or shape: {name!r} {shape!r}")
    dtype = DTYPES[name]
    numel = math.prod(shape)
    itemsize = torch.empty((), dtype=dtype).element_size()
    if type(nbytes) is not int or nbytes != numel * itemsize or offset + nbytes > len(body):
        raise CodecError("tensor byte count does not match its shape")
    raw = bytearray(body[offset : offset + nbytes])  # a copy: the tensor owns its memory
    if numel == 0:
        t = torch.empty(shape, dtype=dtype)
    elif dtype == torch.bfloat16:
        t = torch.frombuffer(raw, dtype=torch.int16).view(torch.bfloat16).reshape(shape)
    else:
        t = torch.frombuffer(raw, dtype=dtype).reshape(shape)
    return t, offset + nbytes


def _decode(node: Any, tensors: list, depth: int) -> Any:
    if depth > MAX_DEPTH:
        raise CodecError("value nested too deeply")
    if node is None or type(node) in (bool, int, float, str):
        return node
    if type(node) is list:
        return [_decode(v, tensors, depth + 1) for v in node]
    if type(node) is dict and len(node) == 1:
        ((tag, body),) = node.items()
        if tag == "$T" and type(body) is int and 0 <= body < len(tensors):
            return tensors[body]
        if tag == "$t" and type(body) is list:
            return tuple(_decode(v, tensors, depth + 1) for v in body)
        if tag == "$d" and type(body) is list:
            out = {}
            for item in body:
                if not (type(item) is list and len(item) == 2 and type(item[0]) in (str, int)):
                    raise CodecError("bad dict item")
                out[item[0]] = _decode(item[1], tensors, depth + 1)
            return out
        if tag == "$f" and body in ("nan", "inf", "-inf"):
            return float(body)
        if tag == "$o" and type(body) is str:
            return Opaque(body[:100])
    raise CodecError("not plain data")


class Opaque:
    """Stands for a value the kernel could not send as plain data (only its type name crosses)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


def decode(frame: bytes) -> Any:
    """The value of one frame (see the module docstring); raises ``CodecError`` on anything else."""
    if len(frame) < 4 or len(frame) > MAX_FRAME:
        raise CodecError("frame too short or too long")
    (size,) = struct.unpack(">I", frame[:4])
    if size > len(frame) - 4:
        raise CodecError("header longer than the frame")
    try:
        header = json.loads(frame[4 : 4 + size].decode())
    except (UnicodeDecodeError, ValueError) as error:
        raise CodecError(f"header is not JSON: {error}") from None
    if not (type(header) is dict and set(header) == {"value", "tensors"} and type(header["tensors"]) is list):
        raise CodecError("bad header")
    body = memoryview(frame)[4 + size :]
    tensors, offset = [], 0
    for meta in header["tensors"]:
        t, offset = _tensor(meta, body, offset)
        tensors.append(t)
    if offset != len(body):
        raise CodecError("trailing bytes after the tensors")
    return _decode(header["value"], tensors, 0)
