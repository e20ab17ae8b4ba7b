"""How long does each 04_resnet check take on the reference solution? (prints figures, asserts nothing)

Run from the repository root: ``python benchmarks/checks_04_resnet.py``. The reference is the
solution cell of ``solutions/04_resnet/resnet.ipynb``, executed as the notebook would.
"""

from __future__ import annotations

import torch
from _timing import first_and_median
from torch import nn
from torch.nn import functional as F

from adl4cv_grading.release import solution_source
from adl4cv_utils.checks import resnet


def main(repeats: int = 3) -> None:
    namespace = {"torch": torch, "nn": nn, "F": F}
    exec(solution_source("04_resnet", "basic_block"), namespace)
    block = namespace["BasicBlock"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; seconds per check on the reference")
    print(f"{'check':28s} {'first':>8s} {'median':>8s}  result")
    for name in sorted(n for n in dir(resnet) if n.startswith("check_")):
        check = getattr(resnet, name)
        first, median, result = first_and_median(lambda check=check: check(block), repeats)
        print(f"{name:28s} {first:8.3f} {median:8.3f}  {'PASS' if result.passed else 'FAIL'}")


if __name__ == "__main__":
    main()
