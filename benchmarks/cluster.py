"""What does grading on a Dask cluster cost? The same submissions graded with --jobs 2 and --scheduler local:2.

Builds N submissions of 02_optimizers (as benchmarks/grading.py), grades them once with local worker
threads and once on a LocalCluster of 2 worker processes, and prints seconds per submission, the
cluster's overhead and the seconds per submission per worker core (to size a cluster).
Run: .venv/bin/python benchmarks/cluster.py [N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from grading import A, course, env, submissions  # noqa: E402


def grade(subs: dict, work: Path, name: str, *extra: str) -> float:
    root = course(work / name)
    folder = work / f"{name}-flat"
    folder.mkdir()
    for student, nb in subs.items():
        (folder / f"{student}.ipynb").write_text(json.dumps(nb))
    start = time.perf_counter()
    args = [sys.executable, "-m", "adl4cv_grading", A, str(folder), "--course-dir", str(root)]
    proc = subprocess.run([*args, "--quiet", "--no-feedback", *extra], env=env(), capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=40)
    args = parser.parse_args()
    subs = submissions(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        local = grade(subs, work, "local", "--jobs", "2")
        remote = grade(subs, work, "cluster", "--scheduler", "local:2")
    n = args.n
    print(f"{n} submissions, 2 worker cores")
    print(f"adl4cv-grade --jobs 2:            {local:7.1f} s  ({local / n:.2f} s per submission)")
    print(f"adl4cv-grade --scheduler local:2: {remote:7.1f} s  ({remote / n:.2f} s per submission)")
    print(f"cluster overhead: {100 * (remote - local) / local:+.0f}% (goal: under 10%)")
    print(f"seconds per submission per worker core: {2 * remote / n:.2f}")


if __name__ == "__main__":
    main()
