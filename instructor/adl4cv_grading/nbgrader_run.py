"""How do we call nbgrader? One place that runs its CLI with the environment it needs.

nbgrader runs the program ``alembic`` when it creates a gradebook, so the environment's ``bin/``
must be on PATH even when nbgrader is started as ``python -m nbgrader``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def nbgrader_env(extra: dict | None = None) -> dict:
    """The current environment with this interpreter's bin/ first on PATH."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(extra or {})
    return env


def run_nbgrader(
    args: list[str], cwd: Path, timeout: float | None = None, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Run ``python -m nbgrader ARGS`` in the course folder ``cwd`` and capture its output."""
    return subprocess.run(
        [sys.executable, "-m", "nbgrader", *args],
        cwd=cwd,
        env=nbgrader_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def assignments(course_dir: Path = REPO_ROOT) -> list[str]:
    """The assignments of a course: the folders of ``solutions/`` that hold a notebook."""
    source = Path(course_dir) / "solutions"
    return sorted(p.name for p in source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))
