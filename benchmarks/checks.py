"""How long does each optimizer check take on the reference? (goal: under 2 s each on a laptop CPU)

Prints the median of a few runs per check. Run: .venv/bin/python benchmarks/checks.py
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "checks"))

from test_optimizers import REFERENCE  # noqa: E402  (the reference optimizers of the tests)

from adl4cv_utils.checks import optimizers as checks  # noqa: E402


def main(repeats: int = 3) -> None:
    names = [
        "check_interface",
        "check_single_step",
        "check_many_steps",
        "check_param_groups",
        "check_no_grad",
        "check_hyperparameters",
        "check_eps",
        "check_training_run",
    ]
    print(f"{'check':<24} {'kind':<13} {'median s':>9} {'max s':>7}")
    worst = 0.0
    for cls, kind in REFERENCE:
        for name in names:
            if name == "check_eps" and kind == "sgd_momentum":
                continue
            times = []
            for _ in range(repeats):
                start = time.perf_counter()
                result = getattr(checks, name)(cls, kind)
                times.append(time.perf_counter() - start)
                assert result.passed, result.summary()
            worst = max(worst, max(times))
            print(f"{name:<24} {kind:<13} {statistics.median(times):>9.3f} {max(times):>7.3f}")
    print(f"slowest single check: {worst:.3f} s (goal: under 2 s)")


if __name__ == "__main__":
    main()
