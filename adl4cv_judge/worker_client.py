"""How does the judge talk to a worker? Frames over pipes, with a deadline on every answer."""

from __future__ import annotations

import os
import select
import signal
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence

from adl4cv_utils.worker import codec


class WorkerLost(Exception):
    """The worker did not answer in time, or died; ``reason`` starts with "time limit" or "the worker"."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def worker_argv() -> list[str]:
    return [sys.executable, "-m", "adl4cv_utils.worker"]


class Worker:
    """One worker process (in the sandbox when ``wrap`` is given); ``request`` sends and waits."""

    def __init__(self, wrap: Callable[[list[str]], Sequence[str]] | None = None, env: dict | None = None):
        argv = list(wrap(worker_argv())) if wrap else worker_argv()
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=env,
            start_new_session=True,
        )

    def request(self, message: dict, timeout: float) -> dict:
        """Send ``message``; return the decoded reply (a dict) or raise ``WorkerLost``."""
        data = codec.encode(message)
        data = struct.pack(">Q", len(data)) + data
        failed: list[BaseException] = []

        def send():
            try:
                self.proc.stdin.write(data)
                self.proc.stdin.flush()
            except (BrokenPipeError, OSError) as error:
                failed.append(error)

        writer = threading.Thread(target=send, daemon=True)
        writer.start()
        deadline = time.monotonic() + timeout
        try:
            head = self._read(8, deadline)
            (n,) = struct.unpack(">Q", head)
            if n > codec.MAX_FRAME:
                raise WorkerLost(f"the worker sent a reply of {n} bytes (over the limit)")
            reply = codec.decode(self._read(n, deadline))
        except codec.CodecError as error:
            self.kill()
            raise WorkerLost(f"the worker sent something that is not plain data ({error})") from None
        writer.join(timeout=1)
        if not isinstance(reply, dict):
            self.kill()
            raise WorkerLost("the worker sent a reply that is not a dict")
        return reply

    def _read(self, n: int, deadline: float) -> bytes:
        fd = self.proc.stdout.fileno()
        chunks, left = [], n
        while left:
            wait = deadline - time.monotonic()
            if wait <= 0:
                self.kill()
                raise WorkerLost("time limit")
            ready, _, _ = select.select([fd], [], [], wait)
            if not ready:
                continue
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                code = self.proc.poll()
                self.kill()
                raise WorkerLost(f"the worker died (exit code {code})" if code is not None else "the worker died")
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def kill(self) -> None:
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def __enter__(self) -> Worker:
        return self

    def __exit__(self, *exc) -> None:
        self.kill()
