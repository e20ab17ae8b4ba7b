"""Reference answer of 01_basics' gradient_check, with switchable known mistakes.

Instructor only, never published: this IS the answer. The student-side checks use closed forms
instead (``adl4cv_utils/checks/basics/gradient_check.py``); tests check that both agree.
"""

from __future__ import annotations

import torch


def reference_gradient_check(f, x, eps=1e-6, dtype=torch.float64, centered=True, relative=True):
    """The contract's gradient check (``dtype``/``centered``/``relative`` switch on known mistakes)."""
    x = x.detach().to(dtype).clone()
    analytic = f(x)[1].detach().to(torch.float64)
    numeric = torch.zeros(x.shape, dtype=torch.float64)
    flat, num = x.view(-1), numeric.view(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        plus = float(f(x)[0])
        if centered:
            flat[i] = old - eps
            minus = float(f(x)[0])
            num[i] = (plus - minus) / (2 * eps)
        else:
            flat[i] = old
            num[i] = (plus - float(f(x)[0])) / eps
        flat[i] = old
    err = (analytic - numeric).abs()
    if relative:
        denom = torch.maximum(analytic.abs(), numeric.abs())
        err = torch.where(denom > 0, err / denom.clamp_min(1e-300), torch.zeros_like(err))
    worst = int(err.view(-1).argmax())
    return float(err.view(-1)[worst]), tuple(int(i) for i in torch.unravel_index(torch.tensor(worst), x.shape))
