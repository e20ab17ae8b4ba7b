"""How do the judge and the grading kernel's guard talk so that nothing in between can read or forge it?

The guard draws a session key when the judge greets it (``hello``), before any student code has run
in the kernel, and the judge reads it from that first reply. From then on every request is encrypted
(the judge's inputs stay secret until the guard runs the probe) and every reply is signed: a reply
printed or rewritten by the student's code has no valid signature. A keystream from SHAKE-256 and an
HMAC-SHA256, both from the standard library; security rests only on the key, never on this code.
"""

from __future__ import annotations

import hashlib
import hmac
import os

KEY_BYTES = 32
NONCE_BYTES = 16


def new_key() -> bytes:
    """A fresh random session key."""
    return os.urandom(KEY_BYTES)


def new_nonce() -> bytes:
    """A fresh random nonce (one per request)."""
    return os.urandom(NONCE_BYTES)


def _stream(key: bytes, nonce: bytes, size: int) -> bytes:
    return hashlib.shake_256(b"adl4cv-stream" + key + nonce).digest(size)


def encrypt(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """``data`` XOR the keystream of (key, nonce); the same call decrypts."""
    stream = _stream(key, nonce, len(data))
    return (int.from_bytes(data, "big") ^ int.from_bytes(stream, "big")).to_bytes(len(data), "big")


decrypt = encrypt


def sign(key: bytes, nonce: bytes, data: bytes) -> bytes:
    """The signature of ``data`` answering the request ``nonce``."""
    return hmac.new(key, b"adl4cv-reply" + nonce + data, hashlib.sha256).digest()


def verify(key: bytes, nonce: bytes, data: bytes, signature: bytes) -> bool:
    """Was ``data`` signed with ``key`` for the request ``nonce``?"""
    return hmac.compare_digest(sign(key, nonce, data), signature)


def pack(nonce: bytes, body: bytes) -> bytes:
    """``nonce + body`` (the wire form of a request or a reply)."""
    return nonce + body


def unpack(frame: bytes) -> tuple[bytes, bytes]:
    """(nonce, body) of a packed frame."""
    if len(frame) < NONCE_BYTES:
        raise ValueError("frame: too short")
    return frame[:NONCE_BYTES], frame[NONCE_BYTES:]
