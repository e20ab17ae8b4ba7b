"""Which audit events does the guard refuse, and when? Plain tables (PEP 578 event names, CPython 3.11).

``ALWAYS``: refused from the moment the guard is installed (before any student code), because they
reach memory or objects behind the guard's back, or (profile and trace functions) would see the
guard's frames, and no notebook needs them while it is graded (debuggers and ``%prun`` do not work
in the grading kernel). ``IN_WINDOW``:
refused while a probe runs the graded code (the window): they would move work where the recorder
cannot see it (other processes, other programs, the network), or change the tracer. Frames are
refused whenever the frame, or one below it, runs the guard's own code (``frame_is_secret``), in
and out of the window: a frame below the guard's gives its locals, and the guard's locals hold the
session key. The hook also refuses, at any time, changing a library function's ``__code__`` or a
library module's class, and opening a process's memory or environment.
"""

from __future__ import annotations

ALWAYS = frozenset(
    {
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.dlsym/handle",
        "ctypes.call_function",
        "ctypes.cdata",
        "ctypes.cdata/buffer",
        "ctypes.addressof",
        "ctypes.string_at",
        "ctypes.wstring_at",
        "ctypes.PyObj_FromPtr",
        "ctypes.set_exception",
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._current_exceptions",
        "sys.setprofile",
        "sys.settrace",
    }
)
IN_WINDOW = frozenset(
    {
        "sys._current_frames",
        "os.fork",
        "os.forkpty",
        "os.exec",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "os.kill",
        "os.killpg",
        "signal.pthread_kill",
        "subprocess.Popen",
        "pty.spawn",
        "socket.connect",
        "socket.bind",
        "socket.sendto",
        "socket.sendmsg",
        "socket.__new__",
        "mmap.__new__",
    }
)
# Library code that calls C through ctypes while it runs (torch asks NVML how many GPUs there are):
# its ctypes calls are allowed, found as the nearest caller outside the ctypes package itself.
CTYPES_USERS = ("/torch/cuda/", "/torch/_utils_internal", "/pynvml", "/nvidia_ml")
FRAME_ATTRIBUTES = frozenset({"tb_frame", "gi_frame", "cr_frame", "ag_frame"})
CODE_ATTRIBUTES = frozenset({"__code__"})
SECRET_PROC_FILES = ("mem", "environ", "pagemap", "syscall")


# Modules that hand the frames they obtain on to their caller: the caller behind them decides.
FRAME_PASSERS = ("/inspect.py", "/traceback.py", "/pdb.py", "/bdb.py", "/code.py", "/IPython/core/debugger")
FRAME_PASSERS += ("/IPython/core/ultratb", "/ipdb/", "/pydevd", "/debugpy/", "/stack_data/", "/executing/")


def deciding_caller(caller):
    """The nearest caller that is not a frame-passing module (FRAME_PASSERS)."""
    while caller is not None and any(part in caller.f_code.co_filename for part in FRAME_PASSERS):
        caller = caller.f_back
    return caller


def trusted_ctypes_caller(event: str, caller) -> bool:
    """Is a ``ctypes.*`` event raised on behalf of library code listed in CTYPES_USERS?"""
    if not event.startswith("ctypes."):
        return False
    while caller is not None and "/ctypes/" in caller.f_code.co_filename:
        caller = caller.f_back
    return caller is not None and any(part in caller.f_code.co_filename for part in CTYPES_USERS)


def is_secret_proc_path(path) -> bool:
    """Is ``path`` (str or bytes) a process's memory or environment under /proc?"""
    if isinstance(path, bytes):
        path = path.decode(errors="replace")
    if type(path) is not str or "proc" not in path:
        return False
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    return "proc" in parts and bool(parts) and parts[-1] in SECRET_PROC_FILES


def frame_is_secret(frame, secret_files: frozenset[str], limit: int = 10_000) -> bool:
    """Does ``frame`` or a frame below it (``f_back``) run code of ``secret_files``?"""
    while frame is not None and limit > 0:
        if frame.f_code.co_filename in secret_files:
            return True
        frame, limit = frame.f_back, limit - 1
    return False
