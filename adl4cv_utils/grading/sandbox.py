"""Where does a submission's kernel run? In a mount namespace that hides the course, as nobody.

Autograding starts each kernel through ``kernel_spec`` below: ``unshare --mount`` gives the kernel
its own view of the file system, in which this module (still root) mounts an empty, read-only
tmpfs over every hidden path (the course's ``solutions/``, ``.git``, gradebook and graded files)
and an empty ``/tmp`` (the workers' temporary courses hold gradebook copies with the hidden tests;
the scratch folders live under ``/var/tmp``), then drops to an unprivileged uid of its own (one
per worker, so parallel kernels cannot reach each other) and starts the IPython kernel in an
empty scratch folder. So the
student's code can neither read the hidden tests and reference solutions nor write to the
gradebook, other submissions or the course files.

This needs root (as in a grading container or CI). Elsewhere ``available()`` is False and the
grader runs kernels unsandboxed, saying so.
"""

from __future__ import annotations

import json
import os
import secrets as secrets_module
import shutil
import subprocess
import sys
from pathlib import Path


def available() -> bool:
    """Can kernels be sandboxed here (root, util-linux's unshare and mount, mount namespaces)?"""
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("mount"):
        return False
    return subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False).returncode == 0


SECRET_NAMES = (
    "solutions",
    ".git",
    ".worktrees",
    "gradebook.db",
    "submitted",
    "autograded",
    "feedback",
    "exports",
    ".adl4cv-grading",
    "release",
    "nbgrader_config.py",
)


def secrets(*course_dirs: Path) -> list[Path]:
    """The paths of each course folder that a kernel must not see (those that exist)."""
    return [Path(d).resolve() / n for d in course_dirs for n in SECRET_NAMES if (Path(d) / n).exists()]


BASE_UID = 61000  # kernels of worker slot k run as uid/gid BASE_UID + k: no two share a user


def kernel_spec(folder: Path, hide: list[Path], scratch_root: Path, uid: int = BASE_UID) -> Path:
    """Write a 'python3' kernel spec into ``folder/kernels`` that starts kernels sandboxed as ``uid``.

    Put ``folder`` first on ``JUPYTER_PATH`` so that it replaces the native python3 kernel.
    """
    spec_dir = Path(folder) / "kernels" / "python3"
    spec_dir.mkdir(parents=True, exist_ok=True)
    argv = [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "--",
        sys.executable,
        "-m",
        "adl4cv_utils.grading.sandbox",
    ]
    for path in hide:
        argv += ["--hide", str(Path(path).resolve())]
    argv += ["--scratch-root", str(scratch_root), "--uid", str(uid), "--fresh-tmp", "{connection_file}"]
    spec = {
        "argv": argv,
        "display_name": "Python 3 (grading sandbox)",
        "language": "python",
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1))
    return spec_dir


def _enter(
    hide: list[str],
    scratch_root: str,
    connection_file: str,
    uid: int,
    fresh_tmp: bool = True,
    kernel_args: list[str] | None = None,
) -> None:
    """Inside the new mount namespace, as root: hide paths, drop to ``uid``, exec the kernel."""
    os.makedirs(scratch_root, exist_ok=True)
    # An unguessable name in a root-owned 0711 folder: other kernels cannot find the connection key.
    scratch = Path(scratch_root) / f"kernel-{secrets_module.token_hex(12)}"
    scratch.mkdir(mode=0o700)
    os.chown(scratch, uid, uid)
    conn = scratch / "connection.json"
    shutil.copy(connection_file, conn)  # jupyter writes it 0600 as root: the kernel needs its own copy
    os.chown(conn, uid, uid)
    _open_closed_ancestors(scratch / ".stash")  # per kernel: parallel kernels must not share it
    if fresh_tmp:  # every temporary folder (workers' gradebook copies, other courses) vanishes,
        # except the way to the interpreter and this package (a checkout may live under /tmp)
        _replace_keeping(Path("/tmp"), "size=512m,mode=1777", scratch / ".stash")
    for path in hide:
        if os.path.isdir(path):
            subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=4k,mode=0555", "tmpfs", path], check=True)
        elif os.path.exists(path):
            subprocess.run(["mount", "--bind", "-o", "ro", "/dev/null", path], check=True)
    os.chdir(scratch)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER")}
    env.update(
        HOME=str(scratch),
        MPLCONFIGDIR=str(scratch / ".matplotlib"),
        IPYTHONDIR=str(scratch / ".ipython"),
        TMPDIR=str(scratch),
    )
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)
    os.execve(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", str(conn), *(kernel_args or [])], env)


def _needed_paths() -> list[Path]:
    """What the kernel must reach: the interpreter, the environments, and this package."""
    paths = {
        Path(os.path.realpath(sys.executable)),
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(__file__).resolve().parents[2],
    }
    return sorted(paths)


def _replace_keeping(mountpoint: Path, options: str, stash: Path) -> None:
    """Mount an empty tmpfs over ``mountpoint`` but keep the needed paths inside it reachable.

    The first-level children of ``mountpoint`` that lead to a needed path are bound aside in
    ``stash`` first and bound back onto the new, empty tmpfs afterwards; everything else that was
    there becomes invisible to the kernel. (Secrets inside the children are hidden afterwards.)
    """
    needed = [p for p in _needed_paths() if mountpoint in p.parents]
    children = sorted({mountpoint / p.relative_to(mountpoint).parts[0] for p in needed})
    aside = []
    for child in children:
        spot = stash / f"{len(list(stash.glob('*'))) if stash.exists() else 0}"
        if child.is_dir():
            spot.mkdir(parents=True)
        else:
            spot.parent.mkdir(parents=True, exist_ok=True)
            spot.touch()
        subprocess.run(["mount", "--bind", str(child), str(spot)], check=True)
        aside.append((child, spot))
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(mountpoint)], check=True)
    for child, spot in aside:
        child.mkdir() if spot.is_dir() else child.touch()
        subprocess.run(["mount", "--bind", str(spot), str(child)], check=True)


def _open_closed_ancestors(stash: Path) -> None:
    """Make the needed paths reachable for the kernel's uid (e.g. an interpreter under /root, 0700).

    Each ancestor that others cannot enter is replaced by an empty 0755 tmpfs holding only the
    needed children.
    """
    closed = sorted(
        {a for p in _needed_paths() for a in p.parents if a != Path("/") and not os.stat(a).st_mode & 0o001},
        key=lambda a: len(a.parts),
    )
    for ancestor in closed:
        _replace_keeping(ancestor, "mode=0755", stash)


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="start an IPython kernel sandboxed (used by the grader)")
    parser.add_argument("--hide", action="append", default=[], help="path to hide from the kernel")
    parser.add_argument("--scratch-root", required=True, help="world-writable folder for kernel scratch dirs")
    parser.add_argument("--uid", type=int, default=BASE_UID, help="unprivileged uid (and gid) for the kernel")
    parser.add_argument("--fresh-tmp", action="store_true", help="mount an empty /tmp for the kernel")
    parser.add_argument("connection_file")
    args, kernel_args = parser.parse_known_args(argv)  # the rest (e.g. --HistoryManager...) is the kernel's
    if args.uid <= 0:
        raise SystemExit(f"--uid: expected an unprivileged uid, got {args.uid}")
    _enter(args.hide, args.scratch_root, args.connection_file, args.uid, args.fresh_tmp, kernel_args)


if __name__ == "__main__":
    main()
