"""Do the attention checks pass the reference and fail known-wrong attention code naming the mistake?"""

from __future__ import annotations

import math

import pytest
import torch
from conftest import solution_cell
from torch import nn

from adl4cv_utils.checks import attention
from adl4cv_utils.checks.attention import mha


def _reference():
    namespace: dict = {"math": math, "torch": torch, "nn": nn}
    exec(solution_cell("05_attention", "sdpa"), namespace)
    exec(solution_cell("05_attention", "mha"), namespace)
    return namespace["scaled_dot_product_attention"], namespace["MultiHeadAttention"]


sdpa, MultiHeadAttention = _reference()
SDPA_CHECKS = [attention.check_sdpa_output, attention.check_sdpa_weights, attention.check_sdpa_causal_mask]
SDPA_CHECKS += [attention.check_sdpa_padding_mask, attention.check_sdpa_batch_dims, attention.check_sdpa_gradients]
MHA_CHECKS = [attention.check_mha_interface, attention.check_mha_self_attention, attention.check_mha_cross_attention]
MHA_CHECKS += [attention.check_mha_mask, attention.check_mha_heads, attention.check_mha_gradients]


def test_reference_passes_every_check():
    """Does the notebook's reference solution pass every check?"""
    for check in SDPA_CHECKS:
        result = check(sdpa)
        assert result.passed, result.summary()
    for check in MHA_CHECKS:
        result = check(MultiHeadAttention)
        assert result.passed, result.summary()


def test_torch_reference_weights_are_the_masked_softmax():
    """Are the reference weights (torch's SDPA with identity values) the masked softmax of q k^T / sqrt(d)?"""
    q, k, v = torch.randn(2, 4, 8, dtype=torch.float64), torch.randn(2, 6, 8, dtype=torch.float64), torch.randn(2, 6, 3)
    mask = attention.padding_mask([6, 4], 6)[:, 0]  # (2, 1, 6)
    scores = (q @ k.transpose(-2, -1) / 8**0.5).masked_fill(~mask, float("-inf"))
    ref = attention.reference_attention(q, k, v.double(), mask)
    torch.testing.assert_close(ref.weights, torch.softmax(scores, dim=-1))
    torch.testing.assert_close(ref.output, ref.weights @ v.double())


def test_mistake_simulators_refuse_to_be_the_answer():
    """Do the mistake simulators refuse an empty mistake (so they cannot serve as the answer)?"""
    q = torch.randn(1, 3, 4, dtype=torch.float64)
    with pytest.raises(ValueError, match="variant"):
        attention.attention_variant(q, q, q, variant="")
    ref = mha.reference_mha(12, 3, seed=1)
    x = torch.randn(2, 4, 12, dtype=torch.float64)
    with pytest.raises(ValueError, match="variant"):
        mha.mha_variant(mha._ref_weights(ref), 3, x, x, x)
    with pytest.raises(TypeError):
        out, w = attention.reference_attention(q, q, q)


# ---------------------------------------------------------------------------------------------
# Wrong scaled_dot_product_attention implementations.
# ---------------------------------------------------------------------------------------------


def make_sdpa(mistake: str):
    """A scaled_dot_product_attention with one deliberate mistake."""

    def fn(q, k, v, mask=None):
        d_k = q.shape[-1]
        scale = {"no_scale": 1.0, "scale_dk": d_k}.get(mistake, math.sqrt(d_k))
        scores = q @ k.transpose(-2, -1) / scale
        if mask is not None and mistake == "mask_inverted":
            scores = scores.masked_fill(mask, float("-inf"))
        elif mask is not None and mistake not in ("mask_after_softmax", "mask_ignored"):
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-2 if mistake == "softmax_axis" else -1)
        if mask is not None and mistake == "mask_after_softmax":
            weights = weights.masked_fill(~mask, 0.0)
        return weights @ v, weights

    return fn


def test_mask_mistakes_keep_the_unmasked_points():
    """Does a mask mistake lose only the mask points (output and weights without a mask still pass)?"""
    for mistake in ("mask_inverted", "mask_after_softmax"):
        fn = make_sdpa(mistake)
        assert attention.check_sdpa_output(fn).passed and attention.check_sdpa_weights(fn).passed


def test_sdpa_only_for_last_two_dims_fails_batch_dims():
    """Does code that only works for 3-D inputs (k.permute(0, 2, 1)) fail the batch dimension check?"""

    def fn(q, k, v, mask=None):
        scores = q @ k.permute(0, 2, 1) / math.sqrt(q.shape[-1])
        if mask is not None:
            scores = scores.masked_fill(~mask, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        return weights @ v, weights

    assert attention.check_sdpa_causal_mask(fn).passed
    result = attention.check_sdpa_batch_dims(fn)
    assert not result.passed and "your code raised RuntimeError" in result.message


def test_sdpa_raising_wrong_type_and_shape():
    """Do raising code, a bare tensor instead of a tuple, and transposed weights give failed results?"""

    def raises(q, k, v, mask=None):
        raise ValueError("boom")

    def returns_output_only(q, k, v, mask=None):
        return sdpa(q, k, v, mask)[0]

    def transposed_weights(q, k, v, mask=None):
        out, w = sdpa(q, k, v, mask)
        return out, w.transpose(-2, -1)

    def detached(q, k, v, mask=None):
        out, w = sdpa(q.detach(), k.detach(), v.detach(), mask)
        return out, w

    result = attention.check_sdpa_output(raises)
    assert not result.passed and "ValueError: boom" in result.message
    result = attention.check_sdpa_output(returns_output_only)
    assert not result.passed and "should return a tuple (output, weights), got Tensor" in result.message
    result = attention.check_sdpa_weights(transposed_weights)
    assert not result.passed and "wrong shape, expected (3, 6, 4), got (3, 4, 6)" in result.message
    result = attention.check_sdpa_gradients(detached)
    assert not result.passed and "get no gradient" in result.message


def test_not_implemented_is_a_failed_result():
    """Does the release's stub give a failed 'not implemented' result for every check?"""

    def stub(q, k, v, mask=None):
        raise NotImplementedError()

    class Stub(nn.Module):
        def __init__(self, embed_dim, num_heads):
            super().__init__()
            raise NotImplementedError()

        def forward(self, query, key, value, mask=None):
            raise NotImplementedError()

    for check in SDPA_CHECKS:
        result = check(stub)
        assert not result.passed and "not implemented yet" in result.message, check.__name__
    for check in MHA_CHECKS:
        result = check(Stub)
        assert not result.passed and "not implemented yet" in result.message, check.__name__


# ---------------------------------------------------------------------------------------------
# Wrong MultiHeadAttention implementations.
# ---------------------------------------------------------------------------------------------


def make_mha(mistake: str = "", attend=None):
    """A MultiHeadAttention with one deliberate mistake (``attend``: the attention function it calls)."""
    attend = attend or sdpa

    class MHA(nn.Module):
        def __init__(self, embed_dim, num_heads):
            super().__init__()
            if embed_dim % num_heads and mistake != "no_value_error":
                raise ValueError("embed_dim must be divisible by num_heads")
            self.h, self.d = num_heads, embed_dim // num_heads
            self.q_proj = nn.Linear(embed_dim, embed_dim, bias=mistake != "no_bias")
            self.k_proj = nn.Linear(embed_dim, embed_dim)
            self.v_proj = nn.Linear(embed_dim, embed_dim)
            self.out_proj = nn.Linear(embed_dim, embed_dim)

        def split(self, x):
            b, length, _ = x.shape
            if mistake == "view_split":
                return x.view(b, self.h, length, self.d)
            return x.view(b, length, self.h, self.d).transpose(1, 2)

        def forward(self, query, key, value, mask=None):
            k_in, v_in = (query, query) if mistake == "from_query" else (key, value)
            k, v = self.k_proj(k_in), self.v_proj(v_in)
            if mistake == "kv_swapped":
                k, v = self.v_proj(key), self.k_proj(value)
            q = self.q_proj(query)
            if mistake == "scale_embed_dim":
                q = q * math.sqrt(self.d / (self.h * self.d))
            out, weights = attend(self.split(q), self.split(k), self.split(v), mask)
            b, lq = query.shape[:2]
            if mistake in ("view_split", "view_merge"):
                out = out.reshape(b, lq, self.h * self.d)
            else:
                out = out.transpose(1, 2).reshape(b, lq, self.h * self.d)
            if mistake == "averaged_weights":
                weights = weights.mean(dim=1)
            if mistake == "wrong_shape":
                out = out.transpose(0, 1)
            return (out if mistake == "no_out_proj" else self.out_proj(out)), weights

    return MHA


WRONG = [  # (the wrong code's factory, its mistake, the check that targets it, what the message must say)
    (make_sdpa, "no_scale", attention.check_sdpa_output, "scores are not scaled"),
    (make_sdpa, "no_scale", attention.check_sdpa_weights, "scores are not scaled"),
    (make_sdpa, "scale_dk", attention.check_sdpa_output, "divided by d_k instead of sqrt(d_k)"),
    (make_sdpa, "softmax_axis", attention.check_sdpa_weights, "softmax runs over the wrong axis"),
    (make_sdpa, "softmax_axis", attention.check_sdpa_output, "softmax runs over the wrong axis"),
    (make_sdpa, "mask_inverted", attention.check_sdpa_causal_mask, "mask is inverted"),
    (make_sdpa, "mask_inverted", attention.check_sdpa_padding_mask, "mask is inverted"),
    (make_sdpa, "mask_after_softmax", attention.check_sdpa_causal_mask, "mask is applied after the softmax"),
    (make_sdpa, "mask_after_softmax", attention.check_sdpa_padding_mask, "mask is applied after the softmax"),
    (make_sdpa, "mask_ignored", attention.check_sdpa_causal_mask, "the mask is ignored"),
    (make_sdpa, "mask_ignored", attention.check_sdpa_padding_mask, "the mask is ignored"),
    (make_mha, "view_split", attention.check_mha_self_attention, "heads are split (and merged) without transposing"),
    (make_mha, "view_merge", attention.check_mha_self_attention, "heads are merged without transposing back"),
    (make_mha, "no_out_proj", attention.check_mha_self_attention, "output projection is missing"),
    (make_mha, "kv_swapped", attention.check_mha_self_attention, "k and v projections are swapped"),
    (make_mha, "kv_swapped", attention.check_mha_cross_attention, "k and v projections are swapped"),
    (make_mha, "from_query", attention.check_mha_cross_attention, "keys and values are computed from the query"),
    (make_mha, "scale_embed_dim", attention.check_mha_self_attention, "scaled by sqrt(embed_dim)"),
    (make_mha, "averaged_weights", attention.check_mha_self_attention, "averaged over the heads"),
    (make_mha, "no_bias", attention.check_mha_interface, "q_proj has no bias"),
    (make_mha, "no_value_error", attention.check_mha_interface, "should raise ValueError"),
    (make_mha, "wrong_shape", attention.check_mha_cross_attention, "wrong shape, expected (2, 3, 12), got (3, 2, 12)"),
]


@pytest.mark.parametrize("make, mistake, check, text", WRONG, ids=[f"{m}-{c.__name__}" for _, m, c, _ in WRONG])
def test_wrong_code_fails_naming_the_mistake(make, mistake, check, text):
    """Does each known-wrong attention function or module fail the check that targets it, naming the mistake?"""
    result = check(make(mistake))
    assert not result.passed
    assert text in result.message, result.summary()


def test_correct_configurable_mha_passes():
    """Is the test's configurable module right with no mistake (so the failures above are real)?"""
    for check in MHA_CHECKS:
        assert check(make_mha()).passed, check.__name__


@pytest.mark.parametrize("mistake", ["no_scale", "scale_dk", "mask_inverted"])
def test_mha_names_mistakes_inside_the_attention(mistake):
    """Is a mistake in the student's attention function named from the multi-head checks too?"""
    check = attention.check_mha_mask if mistake.startswith("mask") else attention.check_mha_self_attention
    result = check(make_mha(attend=make_sdpa(mistake)))
    text = {"no_scale": "scores are not scaled", "scale_dk": "d_k instead", "mask_inverted": "mask is inverted"}
    assert not result.passed and "inside the attention" in result.message and text[mistake] in result.message


def test_mha_raising_and_missing_attribute():
    """Do a forward that raises and a module without out_proj give failed results, not exceptions?"""

    class Raises(MultiHeadAttention):
        def forward(self, query, key, value, mask=None):
            raise RuntimeError("boom")

    class NoOutProj(MultiHeadAttention):
        def __init__(self, embed_dim, num_heads):
            super().__init__(embed_dim, num_heads)
            del self.out_proj

    result = attention.check_mha_self_attention(Raises)
    assert not result.passed and "RuntimeError: boom" in result.message
    result = attention.check_mha_interface(NoOutProj)
    assert not result.passed and "self.out_proj should be an nn.Linear(12, 12)" in result.message


def test_wrong_argument_to_check_raises():
    """Does passing something that is not callable to a check raise ValueError?"""
    with pytest.raises(ValueError, match="fn"):
        attention.check_sdpa_output(3)
    with pytest.raises(ValueError, match="cls"):
        attention.check_mha_interface(None)
