"""Which known mistake did a student's conv2d or max_pool2d make? (exercise 03_convolution)

Each known mistake is a hint (the text shown after "looks like") and a thunk that computes, with
torch's own ``F.conv2d`` / ``F.max_pool2d`` / ``F.avg_pool2d``, what that mistake outputs on the
case at hand. ``diagnose`` returns the hint of the first one whose output equals the student's.
Called only outside ``forbid_builtins``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

# Known mistakes: the message shown after "looks like".
FLIPPED = (
    "the kernel is flipped (a true convolution): F.conv2d computes a cross-correlation, "
    "out[i, j] = sum over u, v of x[i*S + u, j*S + v] * w[u, v], without flipping w"
)
TRANSPOSED = "the kernel is transposed (kh and kw swapped): weight[..., u, v] multiplies the pixel u rows down, v right"
STRIDE_IGNORED = "the stride is ignored: the window must move by `stride` pixels (it moved by 1)"
PADDING_IGNORED = "the padding is ignored: add P rows/columns of zeros on every side first"
ONE_SIDE = (
    "the padding is on one side only: pad P zeros on the top AND the bottom, the left AND the right "
    "(F.pad(x, (P, P, P, P)))"
)
REPLICATE = "the border is padded by repeating the edge pixels; F.conv2d pads with zeros"
STRIDE_SWAPPED = "the stride pair is swapped: stride=(sh, sw) means sh along the height (rows), sw along the width"
PADDING_SWAPPED = (
    "the padding pair is swapped: padding=(ph, pw) means ph rows top and bottom, pw columns left and right"
)
BIAS_DROPPED = "the bias is dropped: add bias[c] to every pixel of output channel c"
BIAS_PER_INPUT = (
    "the bias is added once per input channel (C_in times): add it once per output channel, "
    "after summing over the input channels"
)
BIAS_WIDTH = (
    "the bias is broadcast along the width (out + bias adds bias[j] to column j): reshape it to (1, C_out, 1, 1)"
)
BIAS_INPUT = "the bias is added to the input channels before the convolution: add it to the output channels after"
POOL_STRIDE_1 = (
    "the pooling windows move by 1 pixel: the stride is ignored or defaults to 1; use the given stride, "
    "and stride=None means stride = kernel_size"
)
POOL_AVERAGE = "this is average pooling: take the maximum of each window, not the mean"
POOL_SUM = "each window is summed: take its maximum"
POOL_MIN = "each window gives its minimum: take the maximum"
POOL_CEIL = "a partial window at the border is kept: only windows that fit inside the input count (floor)"
POOL_ARGS_SWAPPED = "kernel_size and stride are swapped"
POOL_TRANSPOSED = "the kernel (or stride) pair is read as (width, height): kernel_size=(kh, kw) is (rows, columns)"


def diagnose(got: torch.Tensor, mistakes) -> str:
    """The hint of the first known mistake whose output equals ``got``, or ''."""
    got = got.detach().to(torch.float64)
    for hint, make in mistakes:
        try:
            out = make()
        except Exception:  # noqa: BLE001 - a mistake that does not apply to this case
            continue
        if out.shape == got.shape and torch.allclose(out, got, atol=1e-7, rtol=1e-6):
            return hint
    return ""


def conv_mistakes(x, w, b, stride, padding) -> list[tuple[str, Callable]]:
    """(hint, thunk) for each known conv2d mistake; stride and padding are pairs."""
    (sh, sw), (ph, pw) = stride, padding
    c_in = x.shape[1]

    def conv(xx=x, ww=w, bb=b, s=stride, p=padding):
        return F.conv2d(xx, ww, bb, s, p)

    out = [
        (FLIPPED, lambda: conv(ww=w.flip(-2, -1))),
        (TRANSPOSED, lambda: conv(ww=w.transpose(-2, -1))),
        (STRIDE_IGNORED, lambda: conv(s=1)),
        (PADDING_IGNORED, lambda: conv(p=0)),
    ]
    for pads in ((pw, 0, ph, 0), (0, pw, 0, ph), (2 * pw, 0, 2 * ph, 0), (0, 2 * pw, 0, 2 * ph)):
        out.append((ONE_SIDE, lambda pads=pads: conv(F.pad(x, pads), p=0)))
    out.append((REPLICATE, lambda: conv(F.pad(x, (pw, pw, ph, ph), mode="replicate"), p=0)))
    if sh != sw:
        out.append((STRIDE_SWAPPED, lambda: conv(s=(sw, sh))))
    if ph != pw:
        out.append((PADDING_SWAPPED, lambda: conv(p=(pw, ph))))
    if b is not None:
        out += [
            (BIAS_DROPPED, lambda: conv(bb=None)),
            (BIAS_PER_INPUT, lambda: conv(bb=None) + c_in * b.view(1, -1, 1, 1)),
            (BIAS_WIDTH, lambda: conv(bb=None) + b),
            (BIAS_INPUT, lambda: conv(x + b.view(1, -1, 1, 1), bb=None)),
        ]
    return out


def pool_mistakes(x, k, s) -> list[tuple[str, Callable]]:
    """(hint, thunk) for each known max_pool2d mistake; k and s are pairs."""
    (kh, kw), (sh, sw) = k, s
    out = [
        (POOL_STRIDE_1, lambda: F.max_pool2d(x, k, 1)),
        (POOL_AVERAGE, lambda: F.avg_pool2d(x, k, s)),
        (POOL_SUM, lambda: F.avg_pool2d(x, k, s) * (kh * kw)),
        (POOL_MIN, lambda: -F.max_pool2d(-x, k, s)),
        (POOL_CEIL, lambda: F.max_pool2d(x, k, s, ceil_mode=True)),
        (POOL_ARGS_SWAPPED, lambda: F.max_pool2d(x, s, k)),
    ]
    if (kh, sh) != (kw, sw):
        out.append((POOL_TRANSPOSED, lambda: F.max_pool2d(x, (kw, kh), (sw, sh))))
    return out
