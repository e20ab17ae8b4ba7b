"""Does the judge give 08_similarity's points for what the losses compute on its secret inputs, and only then?

One mistake table (WRONG) serves the self-checks (tests/checks/test_similarity.py) and the judge: each wrong
answer is the reference cell with one known mistake edited in, and names the test cells it must lose with
a phrase of the message (``""``: any message, ``None``: it may pass). One kernel judges them all.
"""

from __future__ import annotations

import pytest

from tests.judge import harness
from tests.judge.harness import assert_group, edited, groups

A = "08_similarity"
CELLS = {
    "contrastive": ("contrastive_values", "contrastive_margin", "contrastive_hidden"),
    "triplet": ("triplet_values", "triplet_margin", "triplet_hidden"),
    "batch_hard": ("batch_hard_values", "batch_hard_gradients", "batch_hard_hidden"),
    "info_nce": ("info_nce_values", "info_nce_temperature", "info_nce_stability", "info_nce_hidden"),
}
YOURSELF = "the exercise is to write it yourself"


def _x(cell, *edits):
    return cell, edited(A, cell, *edits)


def _all(cell: str, text: str) -> dict:
    return dict.fromkeys(CELLS[cell], text)


BATCH_ALL = """def batch_hard_triplet_loss(embeddings, labels, margin=0.2):
    d = torch.cdist(embeddings, embeddings)  # (B, B)
    same = labels[:, None] == labels[None, :]
    eye = torch.eye(len(labels), dtype=torch.bool)
    inner = d[:, :, None] - d[:, None, :] + margin  # (B, B, B): every (anchor, positive, negative)
    valid = (same & ~eye)[:, :, None] & ~same[:, None, :]
    return inner.clamp_min(0)[valid].mean()
"""
TRIPLET_TORCH = """def triplet_loss(anchor, positive, negative, margin=0.2):
    return F.triplet_margin_loss(anchor, positive, negative, margin=margin, eps=0.0)
"""
NT_XENT_CE = """def info_nce(z1, z2, temperature=0.5):
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    return F.cross_entropy(logits, torch.cat([torch.arange(n, 2 * n), torch.arange(n)]))
"""
PACKAGE_DISTANCES = """from adl4cv_utils.similarity import pairwise_distances


def contrastive_loss(z1, z2, same, margin=1.0):
    d = pairwise_distances(z1, z2).diagonal()
    y = same.to(z1.dtype)
    return 0.5 * (y * d**2 + (1 - y) * (margin - d).clamp_min(0) ** 2).mean()
"""
LSE = "top[:, 0] + torch.log(torch.exp(logits - top).sum(dim=1))"
POSITIVE = "    positive = logits[torch.arange(2 * n), partner]  # (2N,)\n"
TOP = "    top = logits.amax(dim=1, keepdim=True)"
EXCLUDE = "    positive = logits[torch.arange(2 * n), partner]\n    logits = logits.clone()\n"
EXCLUDE += '    logits[torch.arange(2 * n), partner] = float("-inf")\n'
SELF_MASK = '    logits = logits.masked_fill(eye, float("-inf"))'
HARD_POS = 'd.masked_fill(~same | eye, float("-inf")).amax(dim=1)'
HARD_NEG = 'd.masked_fill(same, float("inf")).amin(dim=1)'

WRONG = {
    # contrastive_loss
    "contrastive without the hinge": (_x("contrastive", ("(margin - d).clamp_min(0)", "(margin - d)")),
                                      _all("contrastive", "the hinge is missing")),
    "contrastive with the hinge reversed": (_x("contrastive", ("(margin - d)", "(d - margin)")),
                                            _all("contrastive", "the hinge is reversed")),
    "contrastive margin hard-coded": (_x("contrastive", ("(margin - d)", "(1.0 - d)")),
                                      {"contrastive_margin": "the margin is hard-coded to 1"}),
    "contrastive squared distance in the hinge": (_x("contrastive", ("(margin - d)", "(margin - d2)")),
                                                  _all("contrastive", "squared distance is used inside the hinge")),
    "contrastive terms not squared": (_x("contrastive", ("y * d2 + (1 - y) * hinge**2", "y * d + (1 - y) * hinge")),
                                      _all("contrastive", "the terms are not squared")),
    "contrastive same/different swapped": (_x("contrastive", ("y = same.to(z1.dtype)", "y = (~same).to(z1.dtype)")),
                                           _all("contrastive", "same and different are swapped")),
    "contrastive summed": (_x("contrastive", (").mean()", ").sum()")), _all("contrastive", "summed over the pairs")),
    "contrastive without the 1/2": (_x("contrastive", ("return 0.5 * (", "return (")),
                                    _all("contrastive", "the factor 1/2 of Hadsell et al. is missing")),
    "contrastive detached": (_x("contrastive", ("** 2).sum(dim=1)", "** 2).sum(dim=1).detach()")),
                             _all("contrastive", "not connected to the embeddings")),
    "contrastive from the course package": (("contrastive", PACKAGE_DISTANCES), _all("contrastive", YOURSELF)),
    # triplet_loss
    "triplet without the hinge": (_x("triplet", (".clamp_min(0).mean()", ".mean()")),
                                  _all("triplet", "the hinge is missing")),
    "triplet margin with the wrong sign": (_x("triplet", ("+ margin)", "- margin)")),
                                           _all("triplet", "the margin has the wrong sign")),
    "triplet positive and negative swapped": (_x("triplet", ("(d_ap - d_an", "(d_an - d_ap")),
                                              _all("triplet", "positive and negative are swapped")),
    "triplet squared distances": (_x("triplet", (".norm(dim=1)", ".pow(2).sum(dim=1)")),
                                  _all("triplet", "squared distances are used")),
    "triplet margin hard-coded": (_x("triplet", ("+ margin)", "+ 0.2)")),
                                  {"triplet_margin": "the margin is hard-coded to 0.2"}),
    "triplet summed": (_x("triplet", (".mean()", ".sum()")), _all("triplet", "summed over the triplets")),
    "triplet by F.triplet_margin_loss": (("triplet", TRIPLET_TORCH), _all("triplet", YOURSELF)),
    # batch_hard_triplet_loss
    "batch-hard with min and max swapped": (
        _x("batch_hard", (HARD_POS, 'd.masked_fill(~same | eye, float("inf")).amin(dim=1)'),
           (HARD_NEG, 'd.masked_fill(same, float("-inf")).amax(dim=1)')),
        {"batch_hard_values": "swapped (min vs max)", "batch_hard_gradients": "swapped (min vs max)",
         "batch_hard_hidden": "swapped (min vs max)"}),
    "batch-all instead of batch-hard": (("batch_hard", BATCH_ALL), _all("batch_hard", "there is no hard mining")),
    "batch-hard negatives among the positives": (
        _x("batch_hard", ("d.masked_fill(same, float", "d.masked_fill(eye, float")),
        _all("batch_hard", "positives included")),
    "batch-hard anchor as its own negative": (
        _x("batch_hard", ("d.masked_fill(same, float", "d.masked_fill(same & ~eye, float")),
        _all("batch_hard", "the anchor is its own hardest negative")),
    "batch-hard NaN gradient at sqrt(0)": (_x("batch_hard", (".clamp_min(1e-12).sqrt()", ".sqrt()")),
                                           {"batch_hard_gradients": "sqrt(0)"}),
    "batch-hard squared distances": (_x("batch_hard", (".sum(dim=2).clamp_min(1e-12).sqrt()", ".sum(dim=2)")),
                                     _all("batch_hard", "squared distances are used")),
    "batch-hard without the hinge": (_x("batch_hard", (".clamp_min(0).mean()", ".mean()")),
                                     _all("batch_hard", "the hinge is missing")),
    "batch-hard summed": (_x("batch_hard", (".clamp_min(0).mean()", ".clamp_min(0).sum()")),
                          _all("batch_hard", "summed over the anchors")),
    "batch-hard margin hard-coded": (_x("batch_hard", ("+ margin)", "+ 0.2)")),
                                     _all("batch_hard", "the margin is hard-coded to 0.2")),
    # info_nce
    "InfoNCE without the self mask": (_x("info_nce", (SELF_MASK, "    pass")),
                                      _all("info_nce", "the self-similarity is not masked")),
    "InfoNCE self mask of 0": (_x("info_nce", ('float("-inf"))  # a view', "0.0)  # a view")),
                               {**_all("info_nce", "set to 0 instead of -inf"), "info_nce_stability": None}),
    "InfoNCE positive left out of the denominator": (_x("info_nce", (POSITIVE, ""), (TOP, EXCLUDE + TOP)),
                                                     _all("info_nce", "the positive is left out")),
    "InfoNCE temperature twice": (_x("info_nce", ("/ temperature", "/ temperature**2")),
                                  _all("info_nce", "the temperature is applied twice")),
    "InfoNCE without the temperature": (_x("info_nce", (" / temperature", "")),
                                        _all("info_nce", "the temperature is not applied")),
    "InfoNCE multiplied by the temperature": (_x("info_nce", ("/ temperature", "* temperature")),
                                              _all("info_nce", "multiplied by the temperature")),
    "InfoNCE on unnormalised embeddings": (
        _x("info_nce", ("    z = z / z.norm(dim=1, keepdim=True)", "    pass")),
        _all("info_nce", "the embeddings are not normalised")),
    "InfoNCE without the max subtraction": (_x("info_nce", (TOP, "    top = torch.zeros_like(logits[:, :1])  #")),
                                            {"info_nce_stability": "exp overflows"}),
    "InfoNCE in one direction": (_x("info_nce", ("(log_denominator - positive).mean()",
                                                 "(log_denominator - positive)[:n].mean()")),
                                 _all("info_nce", "only the first view's N anchors")),
    "InfoNCE summed": (_x("info_nce", ("(log_denominator - positive).mean()", "(log_denominator - positive).sum()")),
                       _all("info_nce", "summed over the 2N anchors")),
    "InfoNCE detached": (_x("info_nce", ("z = torch.cat([z1, z2])", "z = torch.cat([z1, z2]).detach()")),
                         _all("info_nce", "not connected to the embeddings")),
    "InfoNCE by F.cross_entropy": (("info_nce", NT_XENT_CE), _all("info_nce", YOURSELF)),
    "InfoNCE with torch.logsumexp": (_x("info_nce", (LSE, "torch.logsumexp(logits, dim=1)")),
                                     _all("info_nce", YOURSELF)),
}  # fmt: skip
GROUPS = groups(WRONG)
DELEGATIONS = {name for name, (_, expect) in WRONG.items() if YOURSELF in expect.values()}

BATCH_HARD_LOOP = """def batch_hard_triplet_loss(embeddings, labels, margin=0.2):
    d = torch.cdist(embeddings, embeddings)  # (B, B)
    index = torch.arange(len(labels))
    losses = []
    for a in range(len(labels)):
        positive = (labels == labels[a]) & (index != a)
        negative = labels != labels[a]
        losses.append(F.relu(d[a][positive].max() - d[a][negative].min() + margin))
    return torch.stack(losses).mean()
"""
NT_XENT_LOOP = """def info_nce(z1, z2, temperature=0.5):
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    sim = z @ z.T / temperature  # (2N, 2N)
    losses = []
    for k in range(2 * n):
        others = torch.cat([sim[k, :k], sim[k, k + 1 :]])  # the 2N - 1 candidates of view k
        top = others.max()
        losses.append(top + (others - top).exp().sum().log() - sim[k, (k + n) % (2 * n)])
    return torch.stack(losses).mean()
"""
RIGHT = {  # valid answers written differently, with allowed building blocks: full marks
    "contrastive with vector_norm and F.relu": _x(
        "contrastive",
        ("d2 = ((z1 - z2) ** 2).sum(dim=1)", "d2 = torch.linalg.vector_norm(z1 - z2, dim=1) ** 2"),
        ("(margin - d).clamp_min(0)", "F.relu(margin - d)"),
    ),
    "triplet with F.pairwise_distance and where": _x(
        "triplet",
        ("(anchor - positive).norm(dim=1)", "F.pairwise_distance(anchor, positive, eps=0.0)"),
        ("(anchor - negative).norm(dim=1)", "F.pairwise_distance(anchor, negative, eps=0.0)"),
        (
            "(d_ap - d_an + margin).clamp_min(0).mean()",
            "torch.where(d_ap - d_an + margin > 0, d_ap - d_an + margin, 0.0).mean()",
        ),
    ),
    "batch-hard with torch.cdist and a loop over anchors": ("batch_hard", BATCH_HARD_LOOP),
    "InfoNCE with F.normalize and a loop over views": ("info_nce", NT_XENT_LOOP),
}
BROKEN = {  # raising or mistyped code: failed verdicts, not a crash
    "contrastive": "def contrastive_loss(z1, z2, same, margin=1.0):\n    raise RuntimeError('boom')\n",
    "triplet": "def triplet_loss(anchor, positive, negative, margin=0.2):\n    return anchor.norm(dim=1)\n",
    "batch_hard": "def batch_hard_triplet_loss(embeddings, labels, margin=0.2):\n    return 0.5\n",
    "info_nce": "def info_nce(z1, z2, temperature=0.5):\n    return None\n",
}
BROKEN_EXPECTED = {  # failing test cell -> text its message must hold
    "contrastive_values": "raised RuntimeError: boom",
    "triplet_values": "must return a 0-dim tensor",
    "batch_hard_values": "expected a tensor",
    "info_nce_values": "expected a tensor",
}

judged = harness.session_fixture(A)


def test_every_test_cell_has_a_judge_test(judged):
    """Does every graded cell of the notebook have a judge test, and no judge test lack a cell?"""
    harness.assert_every_test_cell_judged(judged, A, [c for cells in CELLS.values() for c in cells])


def test_release_notebook_gets_zero():
    """Does the release notebook (stubs) get zero on every cell, each saying it is not implemented?"""
    harness.assert_release_zero(A)


@pytest.mark.slow
def test_reference_notebook_gets_full_marks():
    """Does the solution notebook, run whole, get every point from the judge (two secret seeds)?"""
    harness.assert_reference_full_marks(A, (0, 12345), [c for cells in CELLS.values() for c in cells])


def test_submitted_reference_gets_full_marks_in_a_session(judged):
    """Does the reference, submitted into the release, pass every cell for 20 secret seeds (no chance failures)?"""
    harness.assert_session_full_marks(judged)


@pytest.mark.parametrize("names", GROUPS, ids=[" | ".join(g) for g in GROUPS])
def test_wrong_answers_lose_the_right_cells(judged, names):
    """Does each known mistake or delegation lose the points of the cells that test it, with a message naming it?"""
    assert_group(A, WRONG, CELLS, names, session=judged)


def test_delegation_is_caught_by_the_trace_alone(judged):
    """Without the static analysis, does the kernel's trace still catch torch's losses and logsumexp?"""
    answers = {"triplet": WRONG["triplet by F.triplet_margin_loss"][0][1], "info_nce": NT_XENT_CE}
    got = judged.verdicts(answers, static_analysis=False)
    for cell in CELLS["triplet"] + CELLS["info_nce"]:
        assert not got[cell].passed and YOURSELF in got[cell].message, (cell, got[cell].message)


def test_valid_variants_keep_full_marks(judged):
    """Do losses written differently with allowed building blocks (cdist, loops, F.normalize) get every point?"""
    for seed in (3, 4):
        got = judged.verdicts(dict(RIGHT.values()), seed=seed)
        assert all(v.passed and v.score == v.points for v in got.values()), {
            k: v.message for k, v in got.items() if not v.passed
        }


def test_broken_code_gets_failed_verdicts(judged):
    """Do raising code, a per-sample vector, a float and None give failed verdicts with a message, not a crash?"""
    got = judged.verdicts(BROKEN, seed=5)
    for cell, text in BROKEN_EXPECTED.items():
        assert not got[cell].passed and got[cell].score == 0 and text in got[cell].message, (cell, got[cell].message)
    assert all(not v.passed for v in got.values())
