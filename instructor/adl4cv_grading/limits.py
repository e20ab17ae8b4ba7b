"""What may one submission use while it is graded? Time, memory, output, threads, processes, disk.

This is the one place for the limits. The memory limit is applied with ``prlimit`` to the grading
process of each chunk (and again, with the others, inside the sandbox to each kernel), so a cell
that allocates far beyond ``memory_mb`` gets a ``MemoryError`` or loses its kernel, never the
machine. ``cell_seconds`` is nbgrader's per-cell timeout (the cell is interrupted and the next one
runs; a cell that ignores the interrupt is stopped ``interrupt_grace_seconds`` later and the
notebook ends there); ``submission_seconds`` bounds the whole notebook (later cells are not run),
``output_chars`` the output kept per cell. In the sandbox (sandbox.py, ``isolation``) a kernel
also has at most ``processes`` processes and threads, files of at most ``file_mb`` and a working
folder and /tmp of ``scratch_mb`` each. The defaults fit the exercises' training cells (a few
seconds each on a laptop CPU) with a wide margin.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass

FIELDS = (
    "cell_seconds",
    "submission_seconds",
    "memory_mb",
    "output_lines",
    "output_chars",
    "threads",
    "processes",
    "file_mb",
    "scratch_mb",
    "interrupt_grace_seconds",
)


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; every field must be positive."""

    cell_seconds: int = 120
    submission_seconds: float = 900.0
    memory_mb: int = 6144
    output_lines: int = 1000
    output_chars: int = 200_000
    threads: int = 1
    processes: int = 256
    file_mb: int = 1024
    scratch_mb: int = 512
    interrupt_grace_seconds: float = 5.0
    isolation: bool = False

    def __post_init__(self):
        for name in FIELDS:
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: expected a positive number, got {value!r}")

    def prlimit_prefix(self) -> list[str]:
        """``prlimit`` arguments that start a command with the memory limit (its kernels inherit it).

        RLIMIT_DATA bounds heap and anonymous mappings (what an allocation uses) but not the large
        shared libraries torch maps, which RLIMIT_AS would count. Empty where ``prlimit`` is missing.
        """
        if not shutil.which("prlimit"):
            return []
        return ["prlimit", f"--data={int(self.memory_mb) * 2**20}", "--core=0", "--"]

    def environment(self) -> dict[str, str]:
        """Variables for the grading process: CPU threads per worker."""
        n = str(int(self.threads))
        return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n}
