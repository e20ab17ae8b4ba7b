"""How is exercises/ made from solutions/? (``make exercises``; the drift test runs ``--check``)

``nbgrader generate_assignment`` runs in a temporary copy of the course, so that releasing never
creates a gradebook or other state in the repository, and its output replaces
``exercises/<assignment>/``. With ``--check`` nothing is written: the command lists every file that
differs from a fresh release and exits 1 if any does.
"""

from __future__ import annotations

import argparse
import filecmp
import shutil
import sys
import tempfile
from pathlib import Path

import nbformat

from adl4cv_grading.nbgrader_run import REPO_ROOT, assignments, run_nbgrader


def generate(assignment: str, course_dir: Path = REPO_ROOT, out_dir: Path | None = None) -> Path:
    """Release ``assignment`` from ``course_dir/solutions`` into ``out_dir`` (default: a temp folder)."""
    course_dir = Path(course_dir)
    if assignment not in assignments(course_dir):
        raise ValueError(
            f"assignment: {assignment!r} is not in {course_dir / 'solutions'} "
            f"(there are: {', '.join(assignments(course_dir))})"
        )
    work = Path(tempfile.mkdtemp(prefix="adl4cv-release-"))
    shutil.copy(course_dir / "nbgrader_config.py", work)
    shutil.copytree(
        course_dir / "solutions" / assignment,
        work / "solutions" / assignment,
        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"),
    )
    proc = run_nbgrader(["generate_assignment", assignment, "--force"], cwd=work)
    released = work / "exercises" / assignment
    if proc.returncode != 0 or not released.is_dir():
        raise RuntimeError(f"nbgrader generate_assignment {assignment} failed:\n{proc.stdout}\n{proc.stderr}")
    if out_dir is None:
        return released
    out_dir = Path(out_dir)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    shutil.copytree(released, out_dir)
    shutil.rmtree(work, ignore_errors=True)
    return out_dir


def solution_source(assignment: str, grade_id: str, course_dir: Path = REPO_ROOT) -> str:
    """The reference code of one solution cell, markers removed (for tests and benchmarks)."""
    for path in sorted((Path(course_dir) / "solutions" / assignment).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                lines = cell.source.splitlines()
                return "\n".join(ln for ln in lines if ln.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION"))
    raise ValueError(f"grade_id: no cell {grade_id!r} in solutions/{assignment}")


def source_namespace(assignment: str, until: str, course_dir: Path = REPO_ROOT) -> dict:
    """The names the source notebook's code cells define, run in order up to the solution cell ``until``
    (test cells and the Colab install skipped; for tests and benchmarks)."""
    (path,) = sorted((Path(course_dir) / "solutions" / assignment).glob("*.ipynb"))
    ns: dict = {}
    for cell in nbformat.read(path, as_version=4).cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or meta.get("grade") or "%pip" in cell.source:
            continue
        exec(compile(cell.source, f"<{path.name}:{meta.get('grade_id', 'cell')}>", "exec"), ns)  # noqa: S102 - our own notebook
        if meta.get("grade_id") == until:
            return ns
    raise ValueError(f"until: no solution cell {until!r} in solutions/{assignment}")


def differences(expected: Path, actual: Path) -> list[str]:
    """Relative paths that differ between two folders (missing, extra or changed files)."""
    out: list[str] = []
    cmp = filecmp.dircmp(expected, actual, ignore=[".ipynb_checkpoints", "__pycache__"])

    def walk(c: filecmp.dircmp, prefix: str) -> None:
        out.extend(f"{prefix}{n} (missing)" for n in c.left_only)
        out.extend(f"{prefix}{n} (not in a fresh release)" for n in c.right_only)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        out.extend(f"{prefix}{n} (differs)" for n in mismatch + errors)
        for name, sub in c.subdirs.items():
            walk(sub, f"{prefix}{name}/")

    walk(cmp, "")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("assignments", nargs="*", help="assignments to release (default with --all: every one)")
    parser.add_argument("--all", action="store_true", help="release every assignment in solutions/")
    parser.add_argument("--check", action="store_true", help="only compare exercises/ with a fresh release")
    args = parser.parse_args(argv)
    names = assignments() if args.all or not args.assignments else args.assignments
    drift = []
    for name in names:
        if args.check:
            fresh = generate(name)
            drift += [f"exercises/{name}/{d}" for d in differences(fresh, REPO_ROOT / "exercises" / name)]
            shutil.rmtree(fresh.parents[1], ignore_errors=True)
        else:
            generate(name, out_dir=REPO_ROOT / "exercises" / name)
            print(f"released exercises/{name}")
    if drift:
        print("exercises/ differs from a fresh release of solutions/ (run `make exercises`):", *drift, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
