"""How long does each check take on the reference? Shared helper of benchmarks/checks_<assignment>.py."""

from __future__ import annotations

import re
import statistics
import time

import nbformat
import torch

from adl4cv_grading.nbgrader_run import REPO_ROOT


def reference_namespace(assignment: str) -> dict:
    """Execute the solution cells of the assignment's source notebook (no tests, no ungraded part)."""
    (path,) = sorted((REPO_ROOT / "solutions" / assignment).glob("*.ipynb"))
    nb = nbformat.read(path, as_version=4)
    ns: dict = {}
    seen_solution = False
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        seen_solution |= bool(meta.get("solution"))
        # The imports before the first solution cell, then the solution cells only.
        if cell.cell_type == "code" and (meta.get("solution") or not (seen_solution or meta)):
            if "google.colab" in cell.source:
                continue
            exec(re.sub(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", "", cell.source, flags=re.M), ns)  # noqa: S102 - our own notebook
    return ns


def time_checks(title: str, calls: list, repeat: int = 3, threads: int = 1) -> None:
    """Print the median and worst seconds of each check call (one CPU thread, as a grading worker)."""
    torch.set_num_threads(threads)
    print(f"{title}: seconds per check on the reference ({threads} thread, {repeat} runs, first run included)")
    for name, call in calls:
        times, passed = [], True
        for _ in range(repeat):
            start = time.perf_counter()
            result = call()
            times.append(time.perf_counter() - start)
            passed &= result.passed
        flag = "" if passed else "  (FAILED on the reference!)"
        print(f"  {name:48s} median {statistics.median(times):6.3f}  max {max(times):6.3f}{flag}")


def named_calls(module, ns: dict, table: dict) -> list:
    """(check name, call) for each check of ``module`` named in ``table``: {argument names: check names}."""
    return [
        (name, lambda name=name, args=args: getattr(module, name)(*(ns[a] for a in args)))
        for args, names in table.items()
        for name in names
    ]


def first_and_median(call, repeats: int) -> tuple[float, float, object]:
    """Seconds of the first of ``repeats`` runs of ``call()``, their median, and the last result."""
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return times[0], statistics.median(times), result
