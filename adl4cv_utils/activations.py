"""What do activation functions do inside a network? (chapter 3: Activation functions)

* ``Maxout`` -- a maxout layer (Goodfellow et al. 2013): each output unit is the maximum of ``k``
  affine pieces of its input.
* ``dead_units`` -- which ReLU units output zero for *every* input of a data set ("dead ReLUs").
* ``layer_grad_norms`` -- the norm of the loss gradient with respect to each linear layer's
  weights, to see gradients vanish (or not) from the output back to the input.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


class Maxout(nn.Module):
    """A maxout layer: ``out_features`` units, each the maximum over ``k`` affine pieces.

    For input ``x`` of shape ``(..., in_features)`` the output is

        h_j(x) = max_{i = 1..k} (w_{ji}^T x + b_{ji}),   j = 1..out_features,

    of shape ``(..., out_features)`` (Goodfellow et al. 2013, "Maxout Networks", eq. 1). All pieces
    live in one ``nn.Linear(in_features, out_features * k)`` called ``linear``; row ``j * k + i``
    of its weight is piece ``i`` of unit ``j``. With ``k = 2`` and one piece fixed at zero a unit is
    a ReLU; with ``k = 1`` the layer is just ``linear``. The layer has ``k`` times the parameters of
    an ``nn.Linear(in_features, out_features)``.
    """

    def __init__(self, in_features: int, out_features: int, k: int = 2, bias: bool = True):
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features), ("k", k)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected a positive int, got {value!r}")
        self.in_features, self.out_features, self.k = in_features, out_features, k
        self.linear = nn.Linear(in_features, out_features * k, bias=bias)

    def pieces(self, x: torch.Tensor) -> torch.Tensor:
        """The ``k`` affine pieces of every unit before the max: shape ``(..., out_features, k)``."""
        if x.shape[-1] != self.in_features:
            raise ValueError(f"x: expected last dimension {self.in_features}, got shape {tuple(x.shape)}")
        z = self.linear(x)  # (..., out_features * k)
        return z.unflatten(-1, (self.out_features, self.k))  # (..., out_features, k)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pieces(x).amax(dim=-1)  # (..., out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, k={self.k}"


def _check_model_and_input(model: nn.Module, x: torch.Tensor) -> None:
    if not isinstance(model, nn.Module):
        raise ValueError(f"model: expected an nn.Module, got {type(model).__name__}")
    if not torch.is_tensor(x) or x.ndim < 2 or len(x) == 0:
        raise ValueError(f"x: expected a non-empty batch tensor (N, ...), got {getattr(x, 'shape', x)!r}")


@torch.no_grad()
def dead_units(model: nn.Module, x: torch.Tensor, batch_size: int = 512) -> list[torch.Tensor]:
    """For each ``nn.ReLU`` module of ``model`` (in call order), a boolean mask of its dead units.

    A unit is *dead* on ``x`` when its ReLU outputs exactly zero for every one of the ``N`` inputs,
    so no gradient ever reaches the weights in front of it. Each mask has the shape of one
    sample's activation, e.g. ``(hidden,)`` for an MLP. ``x`` is ``(N, ...)``; it is run through
    the model in eval mode in batches of ``batch_size`` (the mode is restored afterwards).
    """
    _check_model_and_input(model, x)
    if batch_size < 1:
        raise ValueError(f"batch_size: expected a positive int, got {batch_size!r}")
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    if not relus:
        raise ValueError("model: it contains no nn.ReLU module")
    alive: dict[int, torch.Tensor] = {}
    order: list[int] = []

    def record(module, _inputs, output):  # output: (B, ...)
        key = id(module)
        if key not in alive:
            alive[key] = torch.zeros(output.shape[1:], dtype=torch.bool, device=output.device)
            order.append(key)
        alive[key] |= (output > 0).any(dim=0)

    handles = [m.register_forward_hook(record) for m in relus]
    was_training = model.training
    model.eval()
    try:
        device = next((p.device for p in model.parameters()), x.device)
        for start in range(0, len(x), batch_size):
            model(x[start : start + batch_size].to(device))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return [~alive[key].cpu() for key in order]


def layer_grad_norms(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, loss_fn: Callable | None = None
) -> list[float]:
    """Norm of dL/dW for every ``nn.Linear`` of ``model``, from the input side to the output side.

    One forward and backward pass of the batch ``(x, y)`` with ``loss_fn`` (cross-entropy by
    default). The model's existing ``.grad`` fields are left untouched (the gradients are taken
    with ``torch.autograd.grad``).
    """
    _check_model_and_input(model, x)
    if not torch.is_tensor(y) or len(y) != len(x):
        raise ValueError(f"y: expected a tensor with {len(x)} labels, got {getattr(y, 'shape', y)!r}")
    loss_fn = loss_fn or nn.functional.cross_entropy
    weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    if not weights:
        raise ValueError("model: it contains no nn.Linear module")
    loss = loss_fn(model(x), y)
    grads = torch.autograd.grad(loss, weights)
    return [g.norm().item() for g in grads]
