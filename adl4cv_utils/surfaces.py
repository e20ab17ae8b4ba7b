"""How do optimizers move on a 2-D loss surface? (chapter 4 and exercise 02_optimizers)

Small differentiable test functions of a point ``p`` of shape ``(..., 2)`` and a helper that
runs any ``torch.optim.Optimizer`` on them and records the trajectory.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Surface = Callable[[torch.Tensor], torch.Tensor]


def elongated_bowl(p: torch.Tensor, scale: float = 10.0) -> torch.Tensor:
    """An ill-conditioned quadratic ``0.5 * (x^2 + scale * y^2)``: steep in y, flat in x."""
    x, y = p[..., 0], p[..., 1]
    return 0.5 * (x**2 + scale * y**2)


def rosenbrock(p: torch.Tensor, a: float = 1.0, b: float = 10.0) -> torch.Tensor:
    """Rosenbrock's banana valley ``(a - x)^2 + b (y - x^2)^2``, minimum at (a, a^2)."""
    x, y = p[..., 0], p[..., 1]
    return (a - x) ** 2 + b * (y - x**2) ** 2


def saddle_valley(p: torch.Tensor) -> torch.Tensor:
    """A tilted valley with a plateau: ``x^2/20 + (1 - exp(-y^2)) * 2 - 0.05 x``."""
    x, y = p[..., 0], p[..., 1]
    return x**2 / 20 + 2 * (1 - torch.exp(-(y**2))) - 0.05 * x


def run_on_surface(
    surface: Surface,
    make_optimizer: Callable[[list[torch.Tensor]], torch.optim.Optimizer],
    start: tuple[float, float] = (-4.0, 2.0),
    steps: int = 100,
) -> torch.Tensor:
    """Trajectory ``(steps + 1, 2)`` of an optimizer started at ``start`` on ``surface``.

    ``make_optimizer`` receives the parameter list, e.g. ``lambda ps: torch.optim.Adam(ps, lr=0.1)``.
    """
    if steps < 1:
        raise ValueError(f"steps: expected a positive int, got {steps!r}")
    point = torch.tensor(start, dtype=torch.float64, requires_grad=True)
    optimizer = make_optimizer([point])
    path = [point.detach().clone()]
    for _ in range(steps):
        optimizer.zero_grad()
        surface(point).backward()
        optimizer.step()
        path.append(point.detach().clone())
    return torch.stack(path)  # (steps + 1, 2)
