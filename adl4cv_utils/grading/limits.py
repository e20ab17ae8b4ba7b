"""What may one submission use while it is graded? Time, memory, output and CPU threads.

The limits are applied to the grading process of each submission before it starts (with
``resource.setrlimit``), so the notebook's kernel inherits them: a cell that allocates far beyond
``memory_mb`` gets a ``MemoryError`` or loses its kernel, never the machine. ``cell_seconds`` is
nbgrader's per-cell timeout (the cell is interrupted and the next one runs);
``submission_seconds`` bounds the whole notebook (later cells are not run), ``output_chars`` the
output kept per cell. ``isolation`` runs kernels in the sandbox (sandbox.py). The defaults fit the
exercises' training cells (a few seconds each on a laptop CPU) with a wide margin.
"""

from __future__ import annotations

import resource
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """Per-submission limits; every field must be positive."""

    cell_seconds: int = 120
    submission_seconds: float = 900.0
    memory_mb: int = 6144
    output_lines: int = 1000
    output_chars: int = 200_000
    threads: int = 1
    isolation: bool = False

    def __post_init__(self):
        for name in ("cell_seconds", "submission_seconds", "memory_mb", "output_lines", "output_chars", "threads"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name}: expected a positive number, got {value!r}")

    def apply_in_child(self) -> None:
        """Runs in the grading process just before it starts (``preexec_fn``); the kernel inherits it."""
        limit = int(self.memory_mb) * 1024 * 1024
        # RLIMIT_DATA bounds heap and anonymous mappings (what an allocation uses) but not the
        # large shared libraries torch maps, which RLIMIT_AS would count.
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def environment(self) -> dict[str, str]:
        """Variables for the grading process: CPU threads per worker."""
        n = str(int(self.threads))
        return {"OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n}
