"""How fast are the 03_convolution checks on the reference, and how fast is the reference conv2d?

Prints (no asserts):
* the wall time of every check on the notebook's reference solution (goal: each under 2 s), with
  torch's default number of threads and with one thread;
* the reference conv2d (vectorised with F.unfold) forward time as a ratio of F.conv2d at batch 32,
  64 channels in and out, 32x32 images, kernel 3, padding 1.

The reference code is not duplicated: ``source_namespace`` runs the source notebook's code
cells (imports, the ``pair`` helper and the solution cells, not the tests) from
``solutions/03_convolution/convolution.ipynb``. Run from the repository root:
``python benchmarks/checks_03_convolution.py``.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F

from adl4cv_grading.release import source_namespace
from adl4cv_utils.checks import convolution as cv

# (reference function, check name, keyword arguments), in the notebook's order
CHECKS = (
    *[("conv2d", f"check_conv2d_{n}", {}) for n in ("basic", "stride", "padding", "bias", "gradients", "no_builtin")],
    ("conv2d", "check_conv2d_random", {"seed": 1}),
    *[
        ("max_pool2d", f"check_max_pool_{n}", {})
        for n in ("basic", "default_stride", "lecture", "gradient", "no_builtin")
    ],
    ("max_pool2d", "check_max_pool_random", {"seed": 1}),
    *[("Conv2d", f"check_conv2d_module_{n}", {}) for n in ("shapes", "init", "forward", "other_shapes", "no_builtin")],
)


def time_checks(ns: dict, repeat: int = 3) -> None:
    """Median wall time of each check (the first call warms up)."""
    print(f"{'check':36s} {'passed':>6s} {'median s':>9s} {'max s':>7s}")
    for target, name, kwargs in CHECKS:
        check = getattr(cv, name)
        check(ns[target], **kwargs)  # warm-up
        times, passed = [], True
        for _ in range(repeat):
            result = check(ns[target], **kwargs)
            times.append(result.seconds)
            passed &= result.passed
        print(f"{name:36s} {str(passed):>6s} {statistics.median(times):9.3f} {max(times):7.3f}")


def seconds(fn, repeat: int = 5) -> float:
    """The best of ``repeat`` wall-clock timings of fn() after one warm-up call."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def time_forward(ns: dict) -> None:
    """The reference conv2d forward vs F.conv2d at batch 32, 64 -> 64 channels, 32x32, kernel 3, padding 1."""
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(32, 64, 32, 32, generator=gen)
    w, b = torch.randn(64, 64, 3, 3, generator=gen) * 0.05, torch.randn(64, generator=gen)
    diff = float((ns["conv2d"](x, w, b, padding=1) - F.conv2d(x, w, b, padding=1)).abs().max())
    with torch.no_grad():
        t_ref = seconds(lambda: ns["conv2d"](x, w, b, padding=1))
        t_torch = seconds(lambda: F.conv2d(x, w, b, padding=1))
    print(
        f"conv2d forward, x (32, 64, 32, 32), weight (64, 64, 3, 3), padding 1, float32, "
        f"{torch.get_num_threads()} thread(s): reference (unfold) {t_ref * 1e3:.1f} ms, "
        f"F.conv2d {t_torch * 1e3:.1f} ms, ratio {t_ref / t_torch:.2f}x (max |diff| {diff:.1e})"
    )


def main() -> None:
    ns = source_namespace("03_convolution", until="conv2d_module")
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}, {threads} thread(s)")
    time_checks(ns)
    time_forward(ns)
    if threads > 1:
        torch.set_num_threads(1)
        print("\nwith 1 thread:")
        time_checks(ns)
        time_forward(ns)
        torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
