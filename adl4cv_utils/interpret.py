"""How do I look at what a network attends to and what it has learned? (chapters 7 and 9)

Plotting and collecting helpers for interpretability, shared by two chapters:

* ``plot_attention`` -- one attention map ``(L_query, L_key)`` as a heatmap (chapter 7);
* ``overlay_heatmap`` -- an image with a coarse heatmap (an occlusion map, say) on top (chapter 9);
* ``collect_features`` -- run a feature function over a data set, keep ``(N, D)`` features and labels
  (chapter 9, for t-SNE);
* ``plot_embedding`` -- a 2-D embedding (t-SNE output) as a scatter coloured by class (chapter 9);
* ``saliency_map`` and ``grad_cam`` -- the two gradient-based importance maps that chapter 9 sets
  beside occlusion (Simonyan et al. 2014; Selvaraju et al. 2017).

The experiments themselves (occlusion, top activating patches, t-SNE runs) are written out in the
chapters and exercises: they are the lesson, this module only draws and gathers (and computes the
two gradient maps, which no exercise grades).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F


def _axes(ax=None, figsize=(4, 4)):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax


def _to_numpy(x) -> np.ndarray:
    if torch.is_tensor(x):
        return x.detach().cpu().float().numpy()
    return np.asarray(x, dtype=float)


def plot_attention(
    weights,
    ax=None,
    query_labels: Sequence | None = None,
    key_labels: Sequence | None = None,
    title: str | None = None,
    colorbar: bool = True,
    vmax: float | None = 1.0,
):
    """Draw attention weights ``(L_query, L_key)`` (rows: queries, columns: keys) and return the Axes.

    Each row of an attention map is a probability distribution over the keys, so the colour scale
    runs from 0 to ``vmax`` (1 by default; ``None`` scales to the largest weight).
    """
    w = _to_numpy(weights)
    if w.ndim != 2:
        raise ValueError(f"weights: expected a 2-D map (L_query, L_key), got shape {w.shape}")
    for name, labels, n in (("query_labels", query_labels, w.shape[0]), ("key_labels", key_labels, w.shape[1])):
        if labels is not None and len(labels) != n:
            raise ValueError(f"{name}: expected {n} labels, got {len(labels)}")
    ax = _axes(ax)
    image = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=vmax, interpolation="nearest")
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
    if query_labels is not None:
        ax.set_yticks(range(w.shape[0]), [str(v) for v in query_labels])
    if key_labels is not None:
        ax.set_xticks(range(w.shape[1]), [str(v) for v in key_labels])
    if title:
        ax.set_title(title)
    if colorbar:
        ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    return ax


def overlay_heatmap(
    image,
    heatmap,
    ax=None,
    alpha: float = 0.5,
    cmap: str = "jet",
    vmin: float | None = 0.0,
    vmax: float | None = 1.0,
    title: str | None = None,
):
    """Draw ``image`` (``(C, H, W)`` or ``(H, W)`` in [0, 1]) with ``heatmap`` ``(h, w)`` stretched over it.

    The heatmap is upsampled bilinearly to the image size, so a coarse map (one value per occluder
    position, say) lines up with the pixels it describes. Returns the Axes; its last image is the
    heatmap (for a colorbar).
    """
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha: expected a value in [0, 1], got {alpha!r}")
    img = torch.as_tensor(image).detach().cpu().float()
    if img.ndim == 3:
        if img.shape[0] not in (1, 3):
            raise ValueError(f"image: expected (C, H, W) with C in 1 or 3, got shape {tuple(img.shape)}")
        img = img.permute(1, 2, 0)  # (H, W, C)
        if img.shape[-1] == 1:
            img = img[..., 0]
    elif img.ndim != 2:
        raise ValueError(f"image: expected (C, H, W) or (H, W), got shape {tuple(img.shape)}")
    heat = torch.as_tensor(heatmap).detach().cpu().float()
    if heat.ndim != 2:
        raise ValueError(f"heatmap: expected a 2-D map (h, w), got shape {tuple(heat.shape)}")
    size = tuple(img.shape[:2])
    heat = F.interpolate(heat[None, None], size=size, mode="bilinear", align_corners=False)[0, 0]  # (H, W)
    ax = _axes(ax)
    ax.imshow(img.clamp(0, 1).numpy(), cmap="gray" if img.ndim == 2 else None)
    ax.imshow(heat.numpy(), cmap=cmap, alpha=alpha, vmin=vmin, vmax=vmax)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=9)
    return ax


@torch.no_grad()
def collect_features(
    feature_fn: Callable[[torch.Tensor], torch.Tensor], data: Iterable, device: torch.device | str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Apply ``feature_fn`` to every batch ``(x, y)`` of ``data``; return features ``(N, D)`` and labels ``(N,)``.

    ``feature_fn`` is for example ``model.features`` of ``SmallCNN`` (the vector before the classifier)
    or ``lambda x: x.flatten(1)`` for raw pixels. Put the model in eval mode first (BatchNorm).
    """
    features, labels = [], []
    for x, y in data:
        if device is not None:
            x = x.to(device)
        f = feature_fn(x)
        if f.ndim != 2:
            raise ValueError(f"feature_fn: expected features of shape (B, D), got {tuple(f.shape)}")
        features.append(f.detach().cpu().float().numpy())
        labels.append(torch.as_tensor(y).cpu().numpy())
    if not features:
        raise ValueError("data: it yielded no batches")
    return np.concatenate(features), np.concatenate(labels)


def plot_embedding(
    points,
    labels,
    ax=None,
    class_names: Sequence[str] | None = None,
    title: str | None = None,
    size: float = 8.0,
    legend: bool = True,
):
    """Scatter a 2-D embedding ``(N, 2)`` coloured by integer class ``labels`` ``(N,)``; return the Axes.

    Axis ticks are hidden: t-SNE coordinates have no units, only neighbourhoods mean something.
    """
    pts = _to_numpy(points)
    lab = _to_numpy(labels).astype(int)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points: expected shape (N, 2), got {pts.shape}")
    if lab.shape != (len(pts),):
        raise ValueError(f"labels: expected shape ({len(pts)},), got {lab.shape}")
    classes = np.unique(lab)
    if class_names is not None and len(classes) and classes.max() >= len(class_names):
        raise ValueError(f"class_names: {len(class_names)} names given, but labels go up to {classes.max()}")
    ax = _axes(ax, figsize=(5, 5))
    cmap = plt.get_cmap("tab10" if len(classes) <= 10 else "tab20")
    for c in classes:
        sel = lab == c
        name = class_names[c] if class_names is not None else str(c)
        ax.scatter(pts[sel, 0], pts[sel, 1], s=size, color=cmap(c % cmap.N), label=name)
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(fontsize=7, markerscale=2, loc="best", frameon=True)
    return ax


def saliency_map(model: torch.nn.Module, image: torch.Tensor, target: int) -> torch.Tensor:
    """Gradient saliency ``max_c |d s_target / d x_c|`` of an image ``(C, H, W)``: a map ``(H, W)``.

    Simonyan, Vedaldi and Zisserman (2014): how much the class score ``s_target`` (the logit, not the
    softmax, which saturates) changes per unit change of each pixel, the largest over the channels.
    The model runs in eval mode and gets its mode back; its parameters' ``.grad`` are not touched.
    """
    was_training = model.training
    model.eval()
    try:
        x = image.detach().clone()[None].requires_grad_(True)  # (1, C, H, W)
        (grad,) = torch.autograd.grad(model(x)[0, target], x)  # (1, C, H, W)
    finally:
        model.train(was_training)
    return grad[0].abs().amax(dim=0)  # (H, W)


def grad_cam(model: torch.nn.Module, layer: torch.nn.Module, image: torch.Tensor, target: int) -> torch.Tensor:
    """Grad-CAM of class ``target`` at the output of ``layer`` for an image ``(C, H, W)``: a map ``(h, w)``.

    Selvaraju et al. (2017): with ``A`` the layer's output ``(K, h, w)`` and ``alpha_k`` the spatial mean
    of ``d s_target / d A_k``, the map is ``ReLU(sum_k alpha_k A_k)``. A forward hook on ``layer`` reads
    ``A`` and is removed afterwards; eval mode, the model's mode restored, parameter grads untouched.
    """
    store = {}
    handle = layer.register_forward_hook(lambda _module, _inputs, output: store.update(a=output))
    was_training = model.training
    model.eval()
    try:
        score = model(image.detach()[None])[0, target]
        if "a" not in store:
            raise ValueError("layer: it did not run in the model's forward pass")
        (grad,) = torch.autograd.grad(score, store["a"])  # (1, K, h, w)
    finally:
        handle.remove()
        model.train(was_training)
    activations = store["a"][0].detach()  # (K, h, w)
    alpha = grad[0].mean(dim=(1, 2))  # (K,): one weight per channel
    return F.relu((alpha[:, None, None] * activations).sum(dim=0))  # (h, w)
