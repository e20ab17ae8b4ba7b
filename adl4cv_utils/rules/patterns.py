"""Prefix patterns of the judge's per-unit rules, shared by several assignments' tables (tables.py).

A pattern matches a qualified name that starts with it (``torch.nn.functional.conv`` matches
``torch.nn.functional.conv2d``); a pattern starting with ``.`` matches an attribute of that name
(``.softmax`` matches ``x.softmax``). They include the spellings that only the kernel's trace sees
(``torch._C._nn.*`` builtins, ``aten::`` operators).
"""

from __future__ import annotations

OPTIM = ("torch.optim.", "torch._fused_", "aten::_fused_")
OPTIM_OK = ("torch.optim.Optimizer", "torch.optim.optimizer")  # the base class the contract requires

CONV = (
    "torch.nn.functional.conv",  # conv1d/2d/3d, conv_transpose*
    "torch.nn.functional.max_pool",
    "torch.nn.functional.avg_pool",
    "torch.nn.functional.adaptive_max_pool",
    "torch.nn.functional.adaptive_avg_pool",
    "torch.nn.functional._max_pool",
    "torch.nn.Conv",
    "torch.nn.MaxPool",
    "torch.nn.AvgPool",
    "torch.nn.AdaptiveMaxPool",
    "torch.nn.AdaptiveAvgPool",
    "torch.nn.modules.conv.",
    "torch.nn.modules.pooling.",
    "torch.conv",
    "torch.max_pool",
    "torch.avg_pool",
    "torch.adaptive_max_pool",
    "torch.convolution",
    "torch._convolution",
    "torch._C._nn.",
    "torch.mkldnn_",
    "aten::convolution",
    "aten::_convolution",
    "aten::conv",
    "aten::max_pool",
    "aten::avg_pool",
    "aten::adaptive_",
    "aten::mkldnn_",
    "aten::_slow_conv",
    "aten::slow_conv",
    "aten::thnn_conv",
    "aten::_mkldnn",
)
CONV_OK = ("torch._C._nn.im2col", "torch._C._nn.col2im", "torch._C._nn.linear", "torch._C._nn.pad")

ATTENTION = (
    "torch.nn.functional.scaled_dot_product_attention",
    "torch.nn.functional.multi_head_attention_forward",
    "torch.nn.MultiheadAttention",
    "torch.nn.modules.activation.MultiheadAttention",
    "torch._C._nn.scaled_dot_product_attention",
    "torch.nn.attention",
    "torch.nn.Transformer",
    "torch.nn.modules.transformer.",
    "aten::scaled_dot_product",
    "aten::_scaled_dot_product",
    "aten::_fused_sdp",
    "aten::_native_multi_head_attention",
    "aten::_transformer_encoder",
)

DROPOUT = (
    "torch.nn.functional.dropout",
    "torch.nn.functional.alpha_dropout",
    "torch.nn.functional.feature_alpha_dropout",
    "torch.nn.Dropout",
    "torch.nn.AlphaDropout",
    "torch.nn.modules.dropout.",
    "torch.dropout",
    "torch.alpha_dropout",
    "torch.feature_dropout",
    "torch.native_dropout",
    "torch._VariableFunctionsClass.dropout",
    "torch._VariableFunctionsClass.native_dropout",
    "aten::dropout",
    "aten::native_dropout",
    "aten::feature_dropout",
    "aten::alpha_dropout",
)

AUTOGRAD = (
    "torch.autograd.grad",
    "torch.autograd.backward",
    "torch.autograd.functional",
    "torch.func.",  # torch.func.grad, vjp...; not torch.functional (einsum, unravel_index)
    "torch._tensor.Tensor.backward",
    "torch.Tensor.backward",
    ".backward",
)
LOSSES = (
    "torch.nn.functional.cross_entropy",
    "torch.nn.functional.nll_loss",
    "torch.nn.functional.log_softmax",
    "torch.nn.functional.softmax",
    "torch.nn.functional.multi_margin_loss",
    "torch.nn.functional.multilabel_margin_loss",
    "torch.nn.CrossEntropyLoss",
    "torch.nn.NLLLoss",
    "torch.nn.MultiMarginLoss",
    "torch.nn.modules.loss.",
    "torch.log_softmax",
    "torch.softmax",
    "torch.special.log_softmax",
    "torch.special.softmax",
    "torch._C._nn.",
    ".log_softmax",
    ".softmax",
    "aten::_log_softmax",
    "aten::_softmax",
    "aten::log_softmax",
    "aten::softmax",
    "aten::nll_loss",
    "aten::cross_entropy",
    "aten::multi_margin_loss",
    *AUTOGRAD,
)


def activation(name: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
    return (
        f"torch.nn.functional.{name}",
        f"torch.{name}",
        f"torch.special.{name}",
        "torch.special.expit" if name == "sigmoid" else f"torch.{name}_",
        f".{name}",
        f"aten::{name}",
        f"aten::{name}_backward",
        "torch.nn.modules.activation.",
        *extra,
        *AUTOGRAD,
    )


# The student package's checks hold references (torchvision's block, torch's attention, a reference
# attention with its known mistakes): a graded unit has no reason to call them.
CHECKS = ("adl4cv_utils.checks",)
# A graded function of 01, 06 or 07 may not call into the course package (which ships a training loop
# and an evaluate): the exercise is to write it.
PACKAGE = ("adl4cv_utils.",)
SIGMOID = activation("sigmoid", ("torch.nn.Sigmoid", "aten::sigmoid_"))
TANH = ("aten::tanh_backward", "torch.nn.Tanh", "torch.nn.modules.activation.", *AUTOGRAD)
RELU = activation("relu", ("torch.nn.ReLU", "aten::relu_", "aten::threshold_backward", "torch.nn.functional.threshold"))
# 08_similarity: torch's metric-learning losses, cross-entropy and every ready-made softmax / log-sum-exp
# (the exercise is to write them, stably); no autograd patterns: the probes run backward on the loss.
SIMILARITY = (
    "torch.nn.functional.triplet_margin",
    "torch.nn.functional.cosine_embedding_loss",
    "torch.nn.functional.hinge_embedding_loss",
    "torch.nn.functional.margin_ranking_loss",
    "torch.nn.functional.cross_entropy",
    "torch.nn.functional.nll_loss",
    "torch.nn.functional.log_softmax",
    "torch.nn.functional.softmax",
    "torch.nn.modules.loss.",
    "torch.nn.TripletMargin",
    "torch.nn.CosineEmbeddingLoss",
    "torch.nn.HingeEmbeddingLoss",
    "torch.nn.MarginRankingLoss",
    "torch.nn.CrossEntropyLoss",
    "torch.nn.NLLLoss",
    "torch.triplet_margin_loss",
    "torch.cosine_embedding_loss",
    "torch.hinge_embedding_loss",
    "torch.margin_ranking_loss",
    "torch.log_softmax",
    "torch.softmax",
    "torch.logsumexp",
    "torch.special.logsumexp",
    "torch.special.softmax",
    "torch.special.log_softmax",
    "torch._C._nn.cross_entropy_loss",
    "torch._C._nn.nll_loss",
    ".log_softmax",
    ".softmax",
    ".logsumexp",
    "aten::_log_softmax",
    "aten::_softmax",
    "aten::log_softmax",
    "aten::softmax",
    "aten::logsumexp",
    "aten::nll_loss",
    "aten::cross_entropy",
    "aten::triplet_margin",
    "aten::cosine_embedding",
    "aten::hinge_embedding",
    "aten::margin_ranking",
)
# 10_diffusion's ddpm_loss is the mean squared error written out: no ready-made regression loss.
REGRESSION_LOSSES = (
    "torch.nn.functional.mse_loss",
    "torch.nn.functional.l1_loss",
    "torch.nn.functional.smooth_l1_loss",
    "torch.nn.functional.huber_loss",
    "torch.nn.MSELoss",
    "torch.nn.L1Loss",
    "torch.nn.SmoothL1Loss",
    "torch.nn.HuberLoss",
    "torch.nn.modules.loss.",
    "torch._C._nn.mse_loss",
    "torch._C._nn.l1_loss",
    "torch._C._nn.smooth_l1_loss",
    "torch._C._nn.huber_loss",
    "aten::mse_loss",
    "aten::l1_loss",
    "aten::smooth_l1_loss",
    "aten::huber_loss",
)

# 09_generative: ready-made losses, stable log-sigmoid / softplus / log-sum-exp and torch.distributions, in every
# spelling a trace shows (F.softplus and F.logsigmoid are torch._C._nn builtins)
GENERATIVE = (
    "torch.nn.functional.binary_cross_entropy",
    "torch.nn.functional.mse_loss",
    "torch.nn.functional.kl_div",
    "torch.nn.functional.gaussian_nll_loss",
    "torch.nn.functional.softplus",
    "torch.nn.functional.logsigmoid",
    "torch.nn.BCE",
    "torch.nn.MSELoss",
    "torch.nn.KLDivLoss",
    "torch.nn.GaussianNLLLoss",
    "torch.nn.Softplus",
    "torch.nn.LogSigmoid",
    "torch.nn.modules.loss.",
    "torch.nn.modules.activation.",
    "torch.binary_cross_entropy",
    "torch.logaddexp",
    "torch.logsumexp",
    ".logaddexp",
    ".logsumexp",
    "torch.special.",
    "torch.distributions",
    "torch._C._nn.",
    "aten::binary_cross_entropy",
    "aten::softplus",
    "aten::log_sigmoid",
    "aten::logaddexp",
    "aten::logsumexp",
    "aten::mse_loss",
    "aten::kl_div",
    "aten::special_",
)
