"""Reference losses of 08_similarity, with switchable known mistakes (``mistake="..."``).

Instructor only, never published: this IS the answer. All four are computed in float64 from the
definitions the notebook states: Hadsell et al. (2006) for the contrastive loss, FaceNet's hinge on
plain Euclidean distances for the triplet loss, Hermans et al. (2017) for batch-hard mining and
SimCLR's NT-Xent (Chen et al. 2020) for InfoNCE. ``outcome`` adds the gradients (autograd) and the value
of every known mistake, so the judge and the stored self-check values name the same mistakes.
"""

from __future__ import annotations

import torch

from adl4cv_utils.checks.similarity.cases import MISTAKES


def _distance(x, y, squared: bool = False):
    d2 = ((x - y) ** 2).sum(dim=-1)
    return d2 if squared else d2.clamp_min(1e-300).sqrt()  # the clamp keeps the gradient finite at 0


def contrastive(z1, z2, same, margin=1.0, mistake=""):
    """mean_i [ y d^2 / 2 + (1 - y) max(0, m - d)^2 / 2 ], d = ||z1_i - z2_i||_2 (Hadsell et al. 2006, eq. 4)."""
    m = 1.0 if mistake == "margin_fixed" else margin
    y = (~same if mistake == "labels_swapped" else same).to(z1.dtype)
    d = _distance(z1, z2)
    inner = m - d**2 if mistake == "squared_in_hinge" else (d - m if mistake == "reversed_hinge" else m - d)
    hinge = inner if mistake == "no_clamp" else inner.clamp_min(0)
    power = 1 if mistake == "not_squared" else 2
    per_pair = (y * d**power + (1 - y) * hinge**power) * (1.0 if mistake == "no_half" else 0.5)
    return per_pair.sum() if mistake == "sum" else per_pair.mean()


def triplet(anchor, positive, negative, margin=0.2, mistake=""):
    """mean_i max(0, d(a_i, p_i) - d(a_i, n_i) + m) with Euclidean d (FaceNet's hinge, unsquared distances)."""
    m = 0.2 if mistake == "margin_fixed" else margin
    squared = mistake == "squared"
    d_ap, d_an = _distance(anchor, positive, squared), _distance(anchor, negative, squared)
    if mistake == "swapped":
        d_ap, d_an = d_an, d_ap
    inner = d_ap - d_an + (-m if mistake == "margin_sign" else m)
    per_triplet = inner if mistake == "no_clamp" else inner.clamp_min(0)
    return per_triplet.sum() if mistake == "sum" else per_triplet.mean()


def batch_hard(embeddings, labels, margin=0.2, mistake=""):
    """Hermans et al. (2017): mean over anchors of max(0, max_p d(a, p) - min_n d(a, n) + m) in the batch."""
    m = 0.2 if mistake == "margin_fixed" else margin
    d = _distance(embeddings[:, None], embeddings[None], mistake == "squared")  # (B, B)
    same = labels[:, None] == labels[None, :]  # (B, B)
    eye = torch.eye(len(labels), dtype=torch.bool)
    positive, negative = same & ~eye, ~same
    if mistake == "negatives_include_positives":
        negative = ~eye
    elif mistake == "anchor_is_negative":
        negative = ~same | eye
    if mistake == "batch_all":  # every (a, p, n) triplet of the batch, averaged
        inner = d[:, :, None] - d[:, None, :] + m  # (B, P, N)
        valid = positive[:, :, None] & negative[:, None, :]
        return inner.clamp_min(0)[valid].mean()
    if mistake == "swapped_minmax":
        hard_pos = d.masked_fill(~positive, float("inf")).amin(dim=1)
        hard_neg = d.masked_fill(~negative, float("-inf")).amax(dim=1)
    else:
        hard_pos = d.masked_fill(~positive, float("-inf")).amax(dim=1)  # (B,): the farthest positive
        hard_neg = d.masked_fill(~negative, float("inf")).amin(dim=1)  # (B,): the closest negative
    inner = hard_pos - hard_neg + m
    per_anchor = inner if mistake == "no_clamp" else inner.clamp_min(0)
    return per_anchor.sum() if mistake == "sum" else per_anchor.mean()


def info_nce(z1, z2, temperature=0.5, mistake=""):
    """SimCLR's NT-Xent: mean over the 2N views of -log softmax over the 2N - 1 others at the partner."""
    n = len(z1)
    z = torch.cat([z1, z2]).double()  # (2N, D)
    if mistake != "unnormalised":
        z = z / z.norm(dim=1, keepdim=True)
    scale = {"tau_twice": temperature**2, "no_tau": 1.0, "tau_times": 1 / temperature}.get(mistake, temperature)
    logits = z @ z.T / scale  # (2N, 2N)
    eye = torch.eye(2 * n, dtype=torch.bool)
    if mistake == "self_zero":
        logits = logits.masked_fill(eye, 0.0)
    elif mistake != "no_self_mask":
        logits = logits.masked_fill(eye, float("-inf"))
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])  # (2N,): the index of each view's positive
    positive = logits[torch.arange(2 * n), partner]
    if mistake == "positive_excluded":
        logits = logits.masked_fill(torch.nn.functional.one_hot(partner, 2 * n).bool(), float("-inf"))
    top = logits.amax(dim=1, keepdim=True)
    lse = top[:, 0] + (logits - top).exp().sum(dim=1).log()  # log-sum-exp, stable
    per_view = lse - positive
    if mistake == "one_direction":
        per_view = per_view[:n]
    return per_view.sum() if mistake == "sum" else per_view.mean()


REFERENCES = {
    "contrastive_loss": contrastive,
    "triplet_loss": triplet,
    "batch_hard_triplet_loss": batch_hard,
    "info_nce": info_nce,
}


def outcome(name: str, inputs: tuple, kwargs: dict) -> dict:
    """The reference's loss and gradients on ``inputs`` (float64), and the loss of each known mistake."""
    leaves = [t.detach().double().clone().requires_grad_() if t.is_floating_point() else t for t in inputs]
    loss = REFERENCES[name](*leaves, **kwargs)
    loss.backward()
    grads = [t.grad for t in leaves if t.is_floating_point()]
    with torch.no_grad():
        plain = [t.detach() for t in leaves]
        mistakes = {key: REFERENCES[name](*plain, **kwargs, mistake=key) for key in MISTAKES[name]}
    finite = {key: value for key, value in mistakes.items() if torch.isfinite(value)}
    return {"loss": loss.detach(), "grads": grads, "mistakes": finite}


def expected_values() -> dict[str, dict]:
    """The stored table of the self-checks: every case they declare, with its reference outcome."""
    from adl4cv_utils.checks.similarity import CASES

    return {key: outcome(name, inputs, kwargs) for key, (name, inputs, kwargs) in CASES.items()}
