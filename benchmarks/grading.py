"""How fast is batch grading, and what does the judge cost? Serial nbgrader with and without it, and adl4cv-grade.

Builds N submissions of 02_optimizers (reference answers and wrong ones), grades them with plain
nbgrader (one process, all students, one after the other), with the same serial nbgrader and the
course's preprocessors (the judge probes each kernel after every test cell), and with `adl4cv-grade`
(workers in parallel, limits, sandbox, judge), and prints seconds per submission and the ratios.
Run: .venv/bin/python benchmarks/grading.py [N] [--jobs J]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))
from conftest import solution_cell, with_solutions  # noqa: E402

A = "02_optimizers"


def submissions(n: int) -> dict[str, dict]:
    answers = {g: solution_cell(A, g) for g in ("sgd_momentum", "rmsprop", "adam")}
    slide = answers["adam"].replace("m / (1 - beta1**t)", "m / (1 - beta1)")
    variants = [with_solutions(A, answers), with_solutions(A, {**answers, "adam": slide}), with_solutions(A, {})]
    return {f"student{i:03d}": variants[i % len(variants)] for i in range(n)}


def course(root: Path) -> Path:
    root.mkdir(parents=True)
    shutil.copy(REPO / "nbgrader_config.py", root)
    shutil.copytree(REPO / "solutions" / A, root / "solutions" / A)
    return root


def env() -> dict:
    return dict(
        os.environ,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"),
    )


PLAIN_CONFIG = """c = get_config()
c.CourseDirectory.course_id = "adl4cv"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.Execute.timeout = 120
"""


def serial_nbgrader(subs: dict, work: Path, judge: bool) -> float:
    """One `nbgrader autograde` of every submission, one after the other.

    ``judge=False``: plain nbgrader (its own preprocessors, in-kernel scores); ``judge=True``: the
    course's preprocessors, where the judge probes each kernel after every test cell.
    """
    root = course(work / ("serial-judge" if judge else "serial"))
    if not judge:
        (root / "nbgrader_config.py").write_text(PLAIN_CONFIG)
    for student, nb in subs.items():
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        (folder / "optimizers.ipynb").write_text(json.dumps(nb))
    nbg = [sys.executable, "-m", "nbgrader"]
    subprocess.run([*nbg, "generate_assignment", A, "--force"], cwd=root, env=env(), check=True, capture_output=True)
    extra = []
    if judge:
        release = root / "exercises" / A
        extra = [f"--JudgedExecute.judge_assignment={A}", "--JudgedExecute.judge_seed=1"]
        extra.append(f"--JudgedExecute.judge_release={release}")
    start = time.perf_counter()
    proc = subprocess.run(
        [*nbg, "autograde", A, "--force", *extra], cwd=root, env=env(), check=False, capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    graded = len(list((root / "autograded").glob(f"*/{A}/*.ipynb")))
    if graded != len(subs):
        print(f"only {graded} of {len(subs)} notebooks were autograded:\n{proc.stderr[-2000:]}")
    return seconds


def ours(subs: dict, work: Path, jobs: int) -> float:
    root = course(work / "ours")
    folder = work / "flat"
    folder.mkdir()
    for student, nb in subs.items():
        (folder / f"{student}.ipynb").write_text(json.dumps(nb))
    start = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "adl4cv_grading",
            A,
            str(folder),
            "--course-dir",
            str(root),
            "--jobs",
            str(jobs),
            "--quiet",
            "--no-feedback",
        ],
        env=env(),
        capture_output=True,
        text=True,
        check=False,
    )
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        print(proc.stderr[-2000:])
    print(proc.stdout.splitlines()[-4] if proc.stdout else "")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="?", default=40)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    subs = submissions(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        serial = serial_nbgrader(subs, work, judge=False)
        judged = serial_nbgrader(subs, work, judge=True)
        parallel = ours(subs, work, args.jobs)
    n = args.n
    print(f"{n} submissions on {os.cpu_count()} cores")
    print(f"serial nbgrader autograde (plain):      {serial:7.1f} s  ({serial / n:.2f} s per submission)")
    print(f"serial nbgrader autograde + the judge:  {judged:7.1f} s  ({judged / n:.2f} s per submission)")
    print(f"the judge adds {100 * (judged - serial) / serial:.0f}% (goal: at most 30%)")
    print(
        f"adl4cv-grade --jobs {args.jobs}:                {parallel:7.1f} s  ({parallel / n:.2f} s per submission, "
        "judge, sandbox and gradebook included)"
    )
    print(f"ratio: {serial / parallel:.2f}x faster than plain serial nbgrader (goal: at least 2x)")


if __name__ == "__main__":
    main()
