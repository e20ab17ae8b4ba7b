"""How long does each 04_resnet check take on the reference solution? (prints figures, asserts nothing)

Run from the repository root: ``python benchmarks/checks_04_resnet.py``. The reference is the
solution cell of ``solutions/04_resnet/resnet.ipynb``, executed as the notebook would.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import nbformat
import torch
from torch import nn
from torch.nn import functional as F

from adl4cv_utils.checks import resnet

REPO = Path(__file__).resolve().parents[1]


def solution_source(notebook: Path, grade_id: str) -> str:
    """The code of a solution cell with the nbgrader markers removed."""
    for cell in nbformat.read(notebook, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return "\n".join(
                line for line in cell.source.splitlines() if "### BEGIN" not in line and "### END" not in line
            )
    raise KeyError(grade_id)


def main(repeats: int = 3) -> None:
    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(solution_source(REPO / "solutions/04_resnet/resnet.ipynb", "basic_block"), namespace)
    block = namespace["BasicBlock"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; seconds per check on the reference")
    print(f"{'check':28s} {'first':>8s} {'median':>8s}  result")
    for name in sorted(n for n in dir(resnet) if n.startswith("check_")):
        check = getattr(resnet, name)
        times, result = [], None
        for _ in range(repeats):
            start = time.perf_counter()
            result = check(block)
            times.append(time.perf_counter() - start)
        print(f"{name:28s} {times[0]:8.3f} {statistics.median(times):8.3f}  {'PASS' if result.passed else 'FAIL'}")


if __name__ == "__main__":
    main()
