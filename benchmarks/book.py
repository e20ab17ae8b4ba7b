"""How long does the book take to build: cold (every notebook executed) and cached (no change)?

Prints both times and each notebook's execution time from the execution cache.
Run: .venv/bin/python benchmarks/book.py   (removes _build first for the cold build)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def build() -> float:
    env = dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
    )
    env.pop("MPLBACKEND", None)
    start = time.perf_counter()
    subprocess.run(
        [str(Path(sys.executable).parent / "jupyter-book"), "build", ".", "-W", "-n", "--keep-going"],
        cwd=REPO,
        env=env,
        check=True,
        capture_output=True,
    )
    return time.perf_counter() - start


def main() -> None:
    shutil.rmtree(REPO / "_build", ignore_errors=True)
    cold = build()
    cached = build()
    print(f"cold build (every notebook executed): {cold:7.1f} s  (goal: under 600 s)")
    print(f"no-change rebuild:                    {cached:7.1f} s  (goal: under 60 s)")
    from jupyter_cache import get_cache

    cache = get_cache(REPO / "_build" / ".jupyter_cache")
    print("per-notebook execution time (s):")
    for record in sorted(cache.list_cache_records(), key=lambda r: r.uri):
        seconds = (record.data or {}).get("execution_seconds")
        print(f"  {Path(record.uri).relative_to(REPO)}: {seconds:.1f}" if seconds else f"  {record.uri}: ?")


if __name__ == "__main__":
    main()
