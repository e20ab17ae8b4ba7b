"""Does the judge of 05_attention give the reference full marks, the release zero, and wrong or delegating
attention code exactly the points it earns, with messages naming the mistake?"""

from __future__ import annotations

import pytest
from conftest import solution_cell, with_solutions

from . import harness
from .harness import edit, judge

A = "05_attention"
SDPA_IDS = ["sdpa_output", "sdpa_weights", "sdpa_causal_mask", "sdpa_padding_mask", "sdpa_hidden"]
MHA_IDS = ["mha_interface", "mha_self_attention", "mha_cross_attention", "mha_mask", "mha_hidden"]
SDPA = solution_cell(A, "sdpa")
MHA = solution_cell(A, "mha")


judged = harness.session_fixture(A)


def test_every_test_cell_has_a_judge_test(judged):
    """Does every graded cell of the notebook have a judge test, and no judge test lack a cell?"""
    harness.assert_every_test_cell_judged(judged, A, SDPA_IDS + MHA_IDS)


@pytest.mark.slow
def test_reference_notebook_gets_full_marks():
    """Does the solution notebook, run whole, get every point from the judge (two secret seeds)?"""
    harness.assert_reference_full_marks(A, (0, 12345), SDPA_IDS + MHA_IDS)


def test_release_notebook_gets_zero():
    """Does the release notebook (stubs) get zero on every cell, each saying it is not implemented?"""
    harness.assert_release_zero(A)


def test_submitted_reference_gets_full_marks_in_a_session(judged):
    """Does the reference, submitted into the release, pass every cell for 20 secret seeds (no chance failures)?"""
    harness.assert_session_full_marks(judged)


def test_submission_through_with_solutions():
    """Does a submission made of the release plus the reference's answer cells get full marks?"""
    nb = with_solutions(A, {"sdpa": SDPA, "mha": MHA})
    verdicts = judge(A, nb, seed=99)
    assert all(v.passed for v in verdicts.values()), {k: v.message for k, v in verdicts.items()}


# ---------------------------------------------------------------------------------------------
# Wrong attention (the self-checks' mistakes): the cells that test the property lose their points.
# ---------------------------------------------------------------------------------------------

SCALE = "/ math.sqrt(d_k)"
MASK = 'scores = scores.masked_fill(~mask, float("-inf"))'
SDPA_WRONG = {
    "no_scale": (edit(SDPA, (SCALE, "")), {"sdpa_output", "sdpa_weights"}, "scores are not scaled"),
    "scale_dk": (edit(SDPA, (SCALE, "/ d_k")), {"sdpa_output", "sdpa_causal_mask"}, "divided by d_k instead"),
    "softmax_axis": (edit(SDPA, ("dim=-1", "dim=-2")), {"sdpa_weights", "sdpa_output"}, "wrong axis"),
    "mask_inverted": (
        edit(SDPA, ("masked_fill(~mask", "masked_fill(mask")),
        {"sdpa_causal_mask", "sdpa_padding_mask"},
        "mask is inverted",
    ),
    "mask_after_softmax": (
        edit(
            edit(SDPA, (MASK, "pass")),
            (
                "return weights @ v, weights",
                "weights = weights if mask is None else weights * mask\n    return weights @ v, weights",
            ),
        ),
        {"sdpa_causal_mask", "sdpa_padding_mask"},
        "mask is applied after the softmax",
    ),
    "mask_zero": (edit(SDPA, ('float("-inf")', "0.0")), {"sdpa_causal_mask", "sdpa_padding_mask"}, "set to 0 instead"),
    "mask_ignored": (edit(SDPA, (MASK, "pass")), {"sdpa_causal_mask", "sdpa_padding_mask"}, "the mask is ignored"),
    "only_3d": (edit(SDPA, ("k.transpose(-2, -1)", "k.permute(0, 2, 1)")), {"sdpa_hidden"}, "RuntimeError"),
    "detached": (
        edit(SDPA, ("return weights @ v, weights", "return (weights @ v).detach(), weights.detach()")),
        {"sdpa_hidden"},
        "get no gradient",
    ),
}


MHA_WRONG = {
    "view_split": (
        edit(
            MHA,
            (
                "x.reshape(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2)",
                "x.reshape(x.shape[0], self.num_heads, x.shape[1], self.head_dim)",
            ),
        ),  # fmt: skip
        {"mha_self_attention", "mha_cross_attention", "mha_mask"},
        "without transposing",
    ),
    "view_merge": (
        edit(MHA, ("out.transpose(1, 2).reshape(", "out.reshape(")),
        {"mha_self_attention", "mha_cross_attention"},
        "merged without transposing back",
    ),
    "no_out_proj": (
        edit(MHA, ("return self.out_proj(out), weights", "return out, weights")),
        {"mha_self_attention", "mha_hidden"},
        "output projection is missing",
    ),
    "kv_swapped": (
        edit(
            MHA,
            (
                "split(self.k_proj(key)), split(self.v_proj(value))",
                "split(self.v_proj(key)), split(self.k_proj(value))",
            ),
        ),
        {"mha_self_attention", "mha_cross_attention"},
        "k and v projections are swapped",
    ),
    "from_query": (
        edit(MHA, ("self.k_proj(key)), split(self.v_proj(value))", "self.k_proj(query)), split(self.v_proj(query))")),
        {"mha_cross_attention"},
        "computed from the query",
    ),
    "scale_embed_dim": (
        edit(
            MHA,
            (
                "out, weights = scaled",
                "q = q * math.sqrt(self.head_dim / self.embed_dim)\n        out, weights = scaled",
            ),
        ),
        {"mha_self_attention", "mha_cross_attention"},
        "scaled by sqrt(embed_dim)",
    ),
    "averaged_weights": (
        edit(MHA, ("return self.out_proj(out), weights", "return self.out_proj(out), weights.mean(dim=1)")),
        {"mha_self_attention", "mha_mask"},
        "averaged over the heads",
    ),
    "no_bias": (
        edit(
            MHA,
            (
                "self.q_proj = nn.Linear(embed_dim, embed_dim)",
                "self.q_proj = nn.Linear(embed_dim, embed_dim, bias=False)",
            ),
        ),
        set(MHA_IDS),
        "q_proj has no bias",
    ),
    "no_value_error": (
        edit(MHA, ("raise ValueError(", "print(")),
        {"mha_interface"},
        "should raise ValueError",
    ),
    "extra_parameter": (
        edit(
            MHA,
            (
                "self.out_proj = nn.Linear(embed_dim, embed_dim)",
                "self.out_proj = nn.Linear(embed_dim, embed_dim)\n        self.gain = nn.Parameter(torch.ones(1))",
            ),
        ),  # fmt: skip
        {"mha_interface"},
        "unexpected parameters ['gain']",
    ),
    "wrong_shape": (
        edit(MHA, ("return self.out_proj(out), weights", "return self.out_proj(out).transpose(0, 1), weights")),
        {"mha_cross_attention"},
        "wrong shape",
    ),
    "detached": (
        edit(MHA, ("return self.out_proj(out), weights", "return self.out_proj(out).detach(), weights")),
        {"mha_hidden"},
        "no gradient",
    ),
}


# One judge run per wrong answer: (the cells it runs (None: all), seed) of each answer cell.
RUNS = {"sdpa": (SDPA_IDS, 5), "mha": (None, 6)}
WRONG = {(cell, m): row for cell, table in (("sdpa", SDPA_WRONG), ("mha", MHA_WRONG)) for m, row in table.items()}


def _kept(cell: str, mistake: str) -> list[str]:
    """The cells a wrong answer must not cost: a mask mistake keeps the sdpa points without a mask, and a
    wrong MultiHeadAttention keeps every attention point (sdpa cells only: MHA uses it too)."""
    if cell == "mha":
        return SDPA_IDS
    return ["sdpa_output", "sdpa_weights"] if mistake.startswith("mask") else []


@pytest.mark.parametrize("cell, mistake", list(WRONG), ids=[f"{c}-{m}" for c, m in WRONG])
def test_wrong_answer_loses_the_cells_it_fails(judged, cell, mistake):
    """Does each known-wrong attention or multi-head attention fail the cells that test its mistake, with a
    message naming it, and keep the points of the cells it does not touch?"""
    source, failing, text = WRONG[cell, mistake]
    ids, seed = RUNS[cell]
    verdicts = judged.verdicts({cell: source}, ids, seed=seed)
    harness.assert_lost(verdicts, failing, text)
    kept = _kept(cell, mistake)
    assert all(verdicts[gid].passed for gid in kept), {g: verdicts[g].message for g in kept}


def test_mistake_inside_the_attention_is_named_by_the_mha_cells(judged):
    """Is a mistake in the student's attention function named from the multi-head cells too?"""
    verdicts = judged.verdicts({"sdpa": SDPA_WRONG["no_scale"][0]}, ["mha_self_attention"], seed=7)
    message = verdicts["mha_self_attention"].message
    assert "inside the attention" in message and "scores are not scaled" in message


# ---------------------------------------------------------------------------------------------
# Code that raises or returns the wrong type: failed verdicts, not a crash of the judge.
# ---------------------------------------------------------------------------------------------

BROKEN = {
    "sdpa raises": (
        {"sdpa": "def scaled_dot_product_attention(q, k, v, mask=None):\n    raise ValueError('boom')"},
        SDPA_IDS,
        "your code raised ValueError: boom",
    ),  # fmt: skip
    "sdpa returns the output only": (
        {"sdpa": edit(SDPA, ("return weights @ v, weights", "return weights @ v"))},
        SDPA_IDS,
        "should return a tuple (output, weights), got Tensor",
    ),
    "sdpa returns an object": (
        {"sdpa": "def scaled_dot_product_attention(q, k, v, mask=None):\n    return object()"},
        SDPA_IDS,
        "got object",
    ),
    "sdpa returns strings": (
        {"sdpa": "def scaled_dot_product_attention(q, k, v, mask=None):\n    return 'a', 'b'"},
        SDPA_IDS[:-1],
        "expected a tensor, got str",
    ),
    "sdpa is not a function": ({"sdpa": "scaled_dot_product_attention = 3"}, SDPA_IDS, "not callable"),
    "transposed weights": (
        {"sdpa": edit(SDPA, ("return weights @ v, weights", "return weights @ v, weights.transpose(-2, -1)"))},
        ["sdpa_weights"],
        "wrong shape",
    ),
    "mha forward raises": (
        {"mha": edit(MHA, ("def split(x):", "raise RuntimeError('boom')\n\n        def split(x):"))},
        MHA_IDS[1:],
        "your code raised RuntimeError: boom",
    ),
    "mha without out_proj": (
        {
            "mha": edit(
                MHA, ("self.out_proj = nn.Linear(embed_dim, embed_dim)", "self.out = nn.Linear(embed_dim, embed_dim)")
            )
        },
        MHA_IDS,
        "self.out_proj should be an nn.Linear",
    ),
    "mha is a function": (
        {"mha": "def MultiHeadAttention(embed_dim, num_heads):\n    return None"},
        MHA_IDS,
        "must be",
    ),
    "mha projection of the wrong size": (
        {
            "mha": edit(
                MHA,
                ("self.v_proj = nn.Linear(embed_dim, embed_dim)", "self.v_proj = nn.Linear(embed_dim, 2 * embed_dim)"),
            )
        },
        MHA_IDS,
        "self.v_proj should map embed_dim -> embed_dim",
    ),
    "mha forward without mask": (
        {
            "mha": edit(
                MHA, ("def forward(self, query, key, value, mask=None):", "def forward(self, query, key, value):")
            )
        },
        ["mha_interface", "mha_mask", "mha_hidden"],
        "",
    ),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_code_gets_failed_verdicts(judged, case):
    """Does code that raises, returns the wrong type or shape, or lacks an attribute fail its cells with a
    message saying what it did (and does the judge go on)?"""
    replacements, failing, text = BROKEN[case]
    verdicts = judged.verdicts(replacements, seed=8)
    harness.assert_lost(verdicts, failing, text)


# ---------------------------------------------------------------------------------------------
# Delegation: torch's attention loses the points it delegates; allowed building blocks keep them.
# ---------------------------------------------------------------------------------------------

SDPA_DELEGATES = """
import torch.nn.functional as F


def scaled_dot_product_attention(q, k, v, mask=None):
    out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return out, torch.softmax(scores, dim=-1)
"""

SDPA_HIDDEN_DELEGATION = """
from torch.nn import functional as G

attend = getattr(G, "scaled_dot_product_attention")


def scaled_dot_product_attention(q, k, v, mask=None):
    out = attend(q, k, v, attn_mask=mask)
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return out, torch.softmax(scores, dim=-1)
"""

MHA_DELEGATES = edit(
    MHA,
    (
        "out, weights = scaled_dot_product_attention(q, k, v, mask)",
        "out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=mask)\n"
        "        weights = scaled_dot_product_attention(q, k, v, mask)[1]",
    ),
)

SDPA_EINSUM = """
def scaled_dot_product_attention(q, k, v, mask=None):
    scores = torch.einsum("...qd,...kd->...qk", q, k) / q.shape[-1] ** 0.5
    if mask is not None:
        scores = torch.where(mask, scores, torch.tensor(float("-inf"), dtype=scores.dtype))
    weights = torch.nn.functional.softmax(scores, dim=-1)
    return torch.einsum("...qk,...kd->...qd", weights, v), weights
"""


def test_sdpa_delegation_loses_every_attention_point(judged):
    """Does an attention that calls F.scaled_dot_product_attention lose its cells, and the multi-head cells
    that rely on it, naming the forbidden call? (The interface cell, which never runs it, keeps its point and
    is flagged for review.)"""
    verdicts = judged.verdicts({"sdpa": SDPA_DELEGATES}, seed=9)
    for gid, v in verdicts.items():
        if gid == "mha_interface":
            assert any("scaled_dot_product_attention" in r for r in v.review), v.review
            continue
        assert not v.passed and v.score == 0, gid
        assert "torch.nn.functional.scaled_dot_product_attention" in v.message, (gid, v.message)
        assert "write it yourself" in v.message


def test_sdpa_delegation_is_caught_by_the_trace_alone(judged):
    """Without the static analysis, does the kernel's trace of torch calls still catch the delegation?"""
    verdicts = judged.verdicts({"sdpa": SDPA_DELEGATES}, ["sdpa_output", "mha_cross_attention"], static_analysis=False)
    for v in verdicts.values():
        assert not v.passed and "scaled_dot_product" in v.message and "while it was tested" in v.message, v.message


def test_hidden_delegation_is_caught(judged):
    """Does a delegation behind an alias and a literal getattr lose the points too?"""
    verdicts = judged.verdicts({"sdpa": SDPA_HIDDEN_DELEGATION}, SDPA_IDS, seed=10)
    assert all(not v.passed and "scaled_dot_product" in v.message for v in verdicts.values()), verdicts


def test_mha_delegation_loses_only_the_mha_points(judged):
    """Does a multi-head attention that calls torch's attention lose its cells while the student's own
    attention keeps its points?"""
    verdicts = judged.verdicts({"mha": MHA_DELEGATES}, seed=11)
    for gid in set(MHA_IDS) - {"mha_interface"}:  # the constructor is the student's own: flagged, not lost
        assert not verdicts[gid].passed and "MultiHeadAttention" in verdicts[gid].message, verdicts[gid].message
    assert verdicts["mha_interface"].review
    assert all(verdicts[gid].passed for gid in SDPA_IDS)


def test_mha_that_wraps_torch_mha_is_caught(judged):
    """Does a multi-head attention built around nn.MultiheadAttention lose its points?"""
    source = edit(
        MHA,
        (
            "q, k, v = split(",
            "torch_mha = nn.MultiheadAttention(self.embed_dim, self.num_heads, batch_first=True)\n"
            "        q, k, v = split(",
        ),
    )
    verdicts = judged.verdicts({"mha": source}, ["mha_self_attention"], seed=12)
    assert not verdicts["mha_self_attention"].passed
    assert "MultiheadAttention" in verdicts["mha_self_attention"].message


def test_allowed_building_blocks_keep_full_marks(judged):
    """Does an attention written with torch.einsum, torch.where and F.softmax (and the reference's
    nn.Linear projections) keep every point?"""
    verdicts = judged.verdicts({"sdpa": SDPA_EINSUM}, seed=13)
    assert all(v.passed and v.score == v.points for v in verdicts.values()), {
        k: v.message for k, v in verdicts.items() if not v.passed
    }


def test_answer_from_the_checks_module_loses_the_points(judged):
    """Does an attention that calls the self-check module's own attention (``attention.attention_variant``)
    lose its points (the judge forbids the checks in graded code)?"""
    source = (
        "def scaled_dot_product_attention(q, k, v, mask=None):\n    return attention.attention_variant(q, k, v, mask)\n"
    )
    verdicts = judged.verdicts({"sdpa": source}, SDPA_IDS, seed=14)
    # attention_variant now refuses to run without a mistake; either way no point is earned
    assert all(not v.passed for v in verdicts.values()), verdicts


MHA_FUNCTIONAL = edit(
    MHA,
    (
        "q, k, v = split(",
        "return nn.functional.multi_head_attention_forward(\n"
        "            query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1),\n"
        "            self.embed_dim, self.num_heads,\n"
        "            torch.cat([self.q_proj.weight, self.k_proj.weight, self.v_proj.weight]),\n"
        "            torch.cat([self.q_proj.bias, self.k_proj.bias, self.v_proj.bias]),\n"
        "            None, None, False, 0.0, self.out_proj.weight, self.out_proj.bias, average_attn_weights=False,\n"
        "        )\n"
        "        q, k, v = split(",
    ),
)


def test_functional_mha_delegation_loses_every_mha_point(judged):
    """Does a multi-head attention that calls F.multi_head_attention_forward lose every multi-head cell that runs
    it (the interface cell, which does not, is flagged for review) and keep the attention cells?"""
    verdicts = judged.verdicts({"mha": MHA_FUNCTIONAL}, seed=15)
    behaviour = set(MHA_IDS) - {"mha_interface"}
    assert all(verdicts[gid].score == 0 for gid in behaviour), {g: verdicts[g].message for g in behaviour}
    assert any("multi_head_attention_forward" in r for r in verdicts["mha_interface"].review)
    assert all(verdicts[gid].passed for gid in SDPA_IDS)
