"""Where does a submission's code run? In a bubblewrap sandbox that shows only an allowlist.

``wrap(argv, scratch=..., limits=...)`` returns the ``bwrap`` command line that runs ``argv`` in a
fresh, empty root file system holding only (all read-only unless said otherwise):

* the system's ``/usr`` (with the ``/bin``, ``/lib``... links of a merged-/usr system) and a few
  files of ``/etc`` that programs need to start (the loader cache, time zone, fonts);
* the Python interpreter and its environment (``sys.prefix``, ``sys.base_prefix``);
* an empty folder over any installed copy of the instructor package (``instructor_only``: a
  non-editable ``pip install`` of the grader into the environment puts it there);
* ONLY the ``adl4cv_utils`` package directory, at ``/opt/adl4cv/adl4cv_utils`` (on ``PYTHONPATH``):
  not the repository around it, so an instructor-only ``adl4cv_grading/``, ``solutions/``,
  ``tests/``, the course folder and every submission are simply not there;
* ``ro_binds`` (extra host paths the caller allows, at their own path);
* its working folder ``/scratch`` (writable): the host folder ``scratch``, or with ``scratch=None``
  an empty tmpfs of ``limits.scratch_mb``; a private, empty ``/tmp`` (tmpfs, same size); a minimal
  ``/dev`` and its own ``/proc``.

It has no network (``--unshare-net``: not even the host's loopback), its own process tree
(``--unshare-pid``: when ``argv`` ends, every process it started ends with it, double forks and new
sessions included) and dies with its parent (``--die-with-parent``). Limits are applied with
``prlimit`` inside the sandbox before ``argv`` starts (no ``preexec_fn``): memory
(``RLIMIT_DATA``, ``limits.memory_mb``), processes (``limits.processes``), file size
(``limits.file_mb``), no core dumps. As root, the command also drops to an unprivileged uid
(``setpriv``; one per grading worker, ``BASE_UID + slot``) so that the process limit applies and no
capability is left; without root, bubblewrap uses an unprivileged user namespace where the system
allows one (the process limit then counts the user's other processes too, so it is added to them).

``available()`` says whether this works here (it runs a probe once), ``why_unavailable()`` says in
one line why not. The grader refuses to grade without it unless ``--isolation off`` is given.

Kernels: ``kernel_spec`` writes a ``python3`` kernel spec whose command is ``wrap`` around the
guarded kernel (``python -m adl4cv_utils.guard``: ipykernel with the guard installed first).
Kernels talk to the grader over Unix sockets (ZeroMQ ``ipc``) in a per-worker runtime
folder, the only host folder a kernel may write to; the connection file is passed in through a file
descriptor. Interrupts are sent as messages (``interrupt_mode: message``), not signals.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import adl4cv_utils
from adl4cv_grading.limits import Limits

BASE_UID = 61000  # kernels of worker slot k run as uid/gid BASE_UID + k (when the grader is root)
PACKAGE_DIR = Path(adl4cv_utils.__file__).resolve().parent  # the student package: the only part of the repo shown
PACKAGE_PARENT = Path("/opt/adl4cv")  # where it appears inside the sandbox (on PYTHONPATH)
SCRATCH = Path("/scratch")
CONNECTION_FILE = Path("/run/kernel/connection.json")
_ETC = (
    "ld.so.cache",
    "ld.so.conf",
    "ld.so.conf.d",
    "localtime",
    "alternatives",
    "fonts",
    "nsswitch.conf",
    "mime.types",
)
_ROOT_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")


def _system_args() -> list[str]:
    args = ["--ro-bind", "/usr", "/usr"]
    for name in _ROOT_LINKS:
        path = Path("/") / name
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            args += ["--ro-bind", str(path), str(path)]
    args += ["--perms", "0755", "--dir", "/etc"]  # (bwrap would make it 0700: closed to the kernel's uid)
    for name in _ETC:
        args += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
    return args


def python_paths() -> list[Path]:
    """The host folders that the interpreter needs: its environment and base installation (outside /usr)."""
    candidates = {Path(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    candidates |= {Path(os.path.realpath(p)) for p in candidates}
    candidates.add(Path(os.path.realpath(sys.executable)).parent.parent)
    keep = sorted(p for p in candidates if p != Path("/") and Path("/usr") not in (p, *p.parents))
    return [p for p in keep if not any(q in p.parents for q in keep)]  # drop those inside another


def _bin_path() -> str:
    return os.pathsep.join([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])


def _user_tasks() -> int:
    """How many tasks (threads included) the current user runs: RLIMIT_NPROC counts all of them."""
    count, uid = 0, str(os.getuid())
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except OSError:
            continue
        if fields.get("Uid", "").split()[:1] == [uid]:
            count += int(fields.get("Threads", "1").strip() or 1)
    return count


def wrap(
    argv: list[str],
    *,
    scratch: Path | None,
    limits: Limits,
    ro_binds: Sequence[Path] = (),
    rw_binds: Sequence[Path] = (),
    uid: int = BASE_UID,
    extra: Sequence[str] = (),
) -> list[str]:
    """The ``bwrap`` command line that runs ``argv`` in the sandbox (see the module docstring).

    ``scratch``: host folder bound writable at ``/scratch``, the working folder and HOME (None: an
    empty tmpfs of ``limits.scratch_mb``); as root it is given to ``uid`` so that the code can write.
    ``ro_binds``/``rw_binds``: more host paths, shown at their own path. ``uid``: the unprivileged
    uid to run as when the caller is root. ``extra``: more bwrap arguments (e.g. ``--ro-bind-data
    FD DEST``). The environment is cleared: PATH, HOME, TMPDIR, PYTHONPATH and
    ``limits.environment()`` are set.
    """
    _check_wrap_arguments(argv, scratch, limits, uid)
    root = os.geteuid() == 0
    if root and scratch is not None:
        os.chown(scratch, uid, uid)
    size = str(int(limits.scratch_mb) * 2**20)
    cmd = ["bwrap", "--die-with-parent", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts"]
    cmd += ["--unshare-cgroup-try", "--hostname", "sandbox"]
    if not root:
        cmd += ["--unshare-user"]
    cmd += _system_args()
    # /tmp first: a bind below it (a checkout or runtime folder under /tmp) then lands on the new tmpfs
    cmd += ["--proc", "/proc", "--dev", "/dev", "--size", size, "--perms", "1777", "--tmpfs", "/tmp"]
    cmd += _bind_args(ro_binds, rw_binds)
    if scratch is None:
        cmd += ["--size", size, "--perms", "1777", "--tmpfs", str(SCRATCH)]
    else:
        cmd += ["--bind", str(Path(scratch).resolve()), str(SCRATCH)]
    cmd += [*extra, "--remount-ro", "/", "--chdir", str(SCRATCH), "--clearenv"]
    for key, value in _environment(limits).items():
        cmd += ["--setenv", key, value]
    if root:
        cmd += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    nproc = int(limits.processes) + (0 if root else _user_tasks())
    mem, fsize = int(limits.memory_mb) * 2**20, int(limits.file_mb) * 2**20
    cmd += ["--", "prlimit", f"--data={mem}", f"--nproc={nproc}", f"--fsize={fsize}", "--core=0", "--"]
    if root:
        cmd += ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all", "--"]
    return cmd + list(argv)


def _check_wrap_arguments(argv, scratch, limits, uid) -> None:
    if not argv or not all(isinstance(a, str) for a in argv):
        raise ValueError(f"argv: expected a non-empty list of strings, got {argv!r}")
    if not isinstance(limits, Limits):
        raise ValueError(f"limits: expected a Limits, got {limits!r}")
    if scratch is not None and not Path(scratch).is_dir():
        raise ValueError(f"scratch: {scratch} is not a folder")
    if os.geteuid() == 0 and not BASE_UID <= uid < 2**31:
        raise ValueError(f"uid: expected an unprivileged uid >= {BASE_UID}, got {uid!r}")


def _bind_args(ro_binds: Sequence[Path], rw_binds: Sequence[Path]) -> list[str]:
    """The interpreter, the student package and the caller's binds, with the folders above them passable."""
    binds = [("--ro-bind", p, p) for p in python_paths()]
    binds.append(("--ro-bind", PACKAGE_DIR, PACKAGE_PARENT / PACKAGE_DIR.name))
    binds += [("--ro-bind", Path(p).resolve(), Path(p).resolve()) for p in ro_binds]
    binds += [("--bind", Path(p).resolve(), Path(p).resolve()) for p in rw_binds]
    # bwrap would create the folders above a bind 0700 (root's): the kernel's uid must pass them.
    parents = sorted({a for _, _, dest in binds for a in dest.parents if a != Path("/")}, key=lambda a: len(a.parts))
    args: list[str] = []
    for folder in parents:
        args += ["--perms", "0755", "--dir", str(folder)]
    for kind, source, dest in binds:
        args += [kind, str(source), str(dest)]
    for hidden in instructor_only([dest for _, _, dest in binds]):  # a non-editable install of the grader
        args += ["--tmpfs", str(hidden)]
    return args


def instructor_only(mounted: Sequence[Path]) -> list[Path]:
    """The installed copies of the instructor package (``adl4cv_grading``, with its references) inside ``mounted``:
    an empty folder is mounted over each, so that no kernel can import or read them."""
    found: list[Path] = []
    for root in mounted:
        for site in sorted(Path(root).glob("lib*/python*/site-packages")) + sorted(Path(root).glob("site-packages")):
            found += sorted(p for p in site.glob("adl4cv_grading*") if p.is_dir())
    return found


def _environment(limits: Limits) -> dict[str, str]:
    return {
        "PATH": _bin_path(),
        "HOME": str(SCRATCH),
        "TMPDIR": "/tmp",
        "PYTHONPATH": str(PACKAGE_PARENT),
        "PYTHONNOUSERSITE": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLCONFIGDIR": "/tmp/matplotlib",
        "USER": "student",
        "LANG": "C.UTF-8",
        **limits.environment(),
    }


@functools.lru_cache(maxsize=1)
def why_unavailable() -> str:
    """Empty if the sandbox works here, else one line saying why not (the probe runs once)."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux (this is {sys.platform})"
    for program in ("bwrap", "prlimit") + (("setpriv",) if os.geteuid() == 0 else ()):
        if not shutil.which(program):
            return f"{program} is not installed (Debian: apt-get install bubblewrap util-linux)"
    probe = wrap([sys.executable, "-c", "import adl4cv_utils.checks"], scratch=None, limits=Limits())
    try:
        proc = subprocess.run(probe, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        return f"bubblewrap could not start a sandbox ({error})"
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1][:200]
        hint = "" if os.geteuid() == 0 else " (run as root, or allow unprivileged user namespaces)"
        return f"bubblewrap could not start a sandbox{hint}: {last}"
    return ""


def available() -> bool:
    """Can code be sandboxed here (bubblewrap, prlimit, and root or unprivileged user namespaces)?"""
    return not why_unavailable()


def kernel_spec(folder: Path, runtime: Path, limits: Limits, uid: int = BASE_UID) -> Path:
    """Write a 'python3' kernel spec into ``folder/kernels`` that starts kernels in the sandbox.

    Put ``folder`` first on ``JUPYTER_PATH`` so that it replaces the native python3 kernel, and run
    the client with ``KernelManager.transport=ipc`` and ``KernelManager.ip=<runtime>/kernel``
    (``kernel_client_config``): ``runtime`` is bound writable for the kernel's sockets.
    """
    spec_dir = Path(folder) / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    runtime = Path(runtime)
    runtime.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        os.chown(runtime, uid, uid)
    kernel = [sys.executable, "-m", "adl4cv_utils.guard", "-f", str(CONNECTION_FILE)]
    extra = ["--perms", "0444", "--ro-bind-data", "3", str(CONNECTION_FILE)]
    inner = wrap(kernel, scratch=None, limits=limits, rw_binds=[runtime], uid=uid, extra=extra)
    # The shell opens the connection file (0600, the grader's) as fd 3; bwrap copies it in.
    argv = ["/bin/sh", "-c", 'exec "$@" 3<"$0"', "{connection_file}", *inner]
    return _write_spec(spec_dir, argv, "Python 3 (grading sandbox)")


def _write_spec(spec_dir: Path, argv: list[str], display_name: str) -> Path:
    spec = {"argv": argv, "display_name": display_name, "language": "python", "interrupt_mode": "message"}
    spec["metadata"] = {"debugger": False}
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def guard_kernel_spec(folder: Path, name: str = "python3") -> Path:
    """Write a 'python3' kernel spec into ``folder/kernels`` that starts the guarded kernel without the sandbox.

    For ``--isolation off`` and the judge's own tests: the guard (adl4cv_utils.guard) still rules on
    every probe; only the file system, network and process limits of the sandbox are missing.
    """
    spec_dir = Path(folder) / "kernels" / name
    spec_dir.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "adl4cv_utils.guard", "-f", "{connection_file}"]
    return _write_spec(spec_dir, argv, "Python 3 (grading guard, no sandbox)")


def kernel_client_config(runtime: Path) -> list[str]:
    """nbgrader options that make its kernel client use Unix sockets in ``runtime`` (no network needed)."""
    return ["--KernelManager.transport=ipc", f"--KernelManager.ip={Path(runtime).resolve() / 'kernel'}"]
