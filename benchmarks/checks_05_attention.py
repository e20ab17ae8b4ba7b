"""How long does each 05_attention check take on the reference, and how fast is the reference attention?

Run from the repository root: ``python benchmarks/checks_05_attention.py``. Prints figures, asserts
nothing. The reference is the solution cells of ``solutions/05_attention/attention.ipynb``,
executed as the notebook would. The last lines time the reference ``scaled_dot_product_attention``
against ``torch.nn.functional.scaled_dot_product_attention`` at batch 32, 8 heads, length 128,
head size 64 (float32, on the CPU and, when there is one, on the GPU).
"""

from __future__ import annotations

import math
import statistics
import time

import torch
from _timing import first_and_median
from torch import nn
from torch.nn import functional as F

from adl4cv_grading.release import solution_source
from adl4cv_utils.checks import attention


def _time(fn, repeats: int, sync) -> float:
    fn()  # warm-up
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(repeats: int = 3) -> None:
    namespace = {"math": math, "torch": torch, "nn": nn, "F": F}
    exec(solution_source("05_attention", "sdpa"), namespace)
    exec(solution_source("05_attention", "mha"), namespace)
    sdpa, mha = namespace["scaled_dot_product_attention"], namespace["MultiHeadAttention"]
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; seconds per check on the reference")
    print(f"{'check':32s} {'first':>8s} {'median':>8s}  result")
    for name in sorted(n for n in dir(attention) if n.startswith("check_")):
        check, arg = getattr(attention, name), (sdpa if name.startswith("check_sdpa") else mha)
        first, median, result = first_and_median(lambda check=check, arg=arg: check(arg), repeats)
        print(f"{name:32s} {first:8.3f} {median:8.3f}  {'PASS' if result.passed else 'FAIL'}")

    batch, heads, length, head_dim = 32, 8, 128, 64
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        gen = torch.Generator(device=device).manual_seed(0)
        q, k, v = (torch.randn(batch, heads, length, head_dim, generator=gen, device=device) for _ in range(3))
        sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
        with torch.no_grad():
            ours = _time(lambda q=q, k=k, v=v: sdpa(q, k, v), 10, sync)
            torch_ = _time(lambda q=q, k=k, v=v: F.scaled_dot_product_attention(q, k, v), 10, sync)
        print(
            f"attention B={batch} h={heads} L={length} d={head_dim} on {device}: reference {ours * 1e3:.2f} ms, "
            f"F.scaled_dot_product_attention {torch_ * 1e3:.2f} ms, ratio {ours / torch_:.2f}"
        )


if __name__ == "__main__":
    main()
