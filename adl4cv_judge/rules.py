"""What may each graded unit not use? The delegation rules the judge enforces from outside the worker.

``FORBIDDEN[assignment][unit]`` lists qualified names (a name or any attribute below it) that the
unit's code may not reach, statically (static.py, aliases resolved) or at run time (the worker's
trace: Python functions, torch builtins and aten operators). ``ESCAPES`` are constructs that hide
what code does (dynamic code, reflection, patching other modules, other processes): the judge
cannot certify code that uses them, so every unit of the submission loses the points that depend
on it. The notebooks state the rules in words from ``adl4cv_utils.rules`` (public: the sentence,
names, aten ops and modules per assignment), which ``forbidden`` enforces too; the table here adds
the judge's own, finer per-unit patterns (trace spellings such as ``torch._C._nn.*`` builtins).
"""

from __future__ import annotations

from adl4cv_utils.rules import RULES

OPTIM = ("torch.optim.", "torch._fused_", "aten::_fused_")
OPTIM_OK = ("torch.optim.Optimizer", "torch.optim.optimizer")  # the base class the contract requires

_CONV = (
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
_CONV_OK = ("torch._C._nn.im2col", "torch._C._nn.col2im", "torch._C._nn.linear", "torch._C._nn.pad")

_ATTENTION = (
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

_DROPOUT = (
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

_AUTOGRAD = (
    "torch.autograd.grad",
    "torch.autograd.backward",
    "torch.autograd.functional",
    "torch.func.",  # torch.func.grad, vjp...; not torch.functional (einsum, unravel_index)
    "torch._tensor.Tensor.backward",
    "torch.Tensor.backward",
    ".backward",
)
_LOSSES = (
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
    *_AUTOGRAD,
)


def _activation(name: str, extra: tuple[str, ...] = ()) -> tuple[str, ...]:
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
        *_AUTOGRAD,
    )


# The student package's checks hold references (torchvision's block, torch's attention, a reference
# attention with its known mistakes): a graded unit has no reason to call them.
_CHECKS = ("adl4cv_utils.checks",)
# A graded function of 01, 06 or 07 may not call into the course package (which ships a training loop,
# an evaluate and, for now, the self-checks' references): the exercise is to write it.
_PACKAGE = ("adl4cv_utils.",)
_SIGMOID = _activation("sigmoid", ("torch.nn.Sigmoid", "aten::sigmoid_"))
_TANH = ("aten::tanh_backward", "torch.nn.Tanh", "torch.nn.modules.activation.", *_AUTOGRAD)
_RELU = _activation(
    "relu", ("torch.nn.ReLU", "aten::relu_", "aten::threshold_backward", "torch.nn.functional.threshold")
)

FORBIDDEN: dict[str, dict[str, tuple[str, ...]]] = {
    "01_basics": {
        "softmax_loss": _LOSSES + _PACKAGE,
        "hinge_loss": _LOSSES + _PACKAGE,
        **dict.fromkeys(("sigmoid_forward", "sigmoid_backward"), _SIGMOID + _PACKAGE),
        **dict.fromkeys(("tanh_forward", "tanh_backward"), _TANH + _PACKAGE),  # the notebook allows torch.tanh
        **dict.fromkeys(("relu_forward", "relu_backward"), _RELU + _PACKAGE),
        "maxout_forward": _AUTOGRAD + _PACKAGE,
        "maxout_backward": _AUTOGRAD + _PACKAGE,
        "gradient_check": _AUTOGRAD + _PACKAGE,
    },
    "02_optimizers": {unit: OPTIM for unit in ("SGDMomentum", "RMSProp", "Adam")},
    "03_convolution": {unit: _CONV + _CHECKS for unit in ("conv2d", "max_pool2d", "Conv2d")},
    "04_resnet": {"BasicBlock": ("torchvision.models", "torchvision.ops.misc", *_CHECKS)},
    "05_attention": {unit: _ATTENTION + _CHECKS for unit in ("scaled_dot_product_attention", "MultiHeadAttention")},
    "06_training": {
        "Dropout": _DROPOUT + _PACKAGE,
        "overfit_one_batch": _PACKAGE,
        "train_one_epoch": _PACKAGE,
        "evaluate": _PACKAGE,  # adl4cv_utils.training.evaluate has this very signature
    },
    "07_visualization": {"occlusion_map": _PACKAGE, "top_activating_patches": _PACKAGE},
}


def matches(name: str, rule: str) -> bool:
    """Does the qualified name ``name`` fall under ``rule``? (".x" rules match an attribute named x.)"""
    if rule.startswith("."):
        last = name.rsplit(".", 1)[-1]
        return last in (rule[1:], rule[1:] + "_")
    return name.startswith(rule)


def normalise(name: str) -> str:
    """One spelling for names seen in traces (torch's builtins live on ``_VariableFunctionsClass``)."""
    return name.replace("torch._VariableFunctionsClass.", "torch.").replace("torch._C._VariableFunctions.", "torch.")


def forbidden(assignment: str, unit: str, name: str) -> str:
    """The rule that forbids ``name`` to ``unit`` of ``assignment``, or ''."""
    name = normalise(name)
    if any(name.startswith(ok) for ok in ALLOWED.get(assignment, ())):
        return ""
    for rule in FORBIDDEN.get(assignment, {}).get(unit, ()):
        if matches(name, rule):
            return rule
    return _public_rule(assignment, unit, name)


def _public_rule(assignment: str, unit: str, name: str) -> str:
    """The notebooks' own table (adl4cv_utils.rules) for the assignment's graded names."""
    public = RULES.get(assignment)
    if public is None or unit not in public.graded:
        return ""
    if name.startswith("aten::"):
        return name if public.forbids_op(name) else ""
    code = (*public.modules, *public.functions)
    if public.forbids_name(name) or any(name == c or name.startswith(c + ".") for c in code):
        return name
    return ""


ALLOWED: dict[str, tuple[str, ...]] = {
    "01_basics": ("torch.autograd.grad_mode",),  # no_grad/enable_grad are not autograd.grad
    "02_optimizers": OPTIM_OK,
    "03_convolution": _CONV_OK,
}

# Constructs that hide what code does; any use, anywhere in the student's cells, voids the judge's
# ability to certify the submission. Matched against resolved qualified names and attribute names.
ESCAPES: dict[str, str] = {
    "exec": "runs code built at run time",
    "eval": "runs code built at run time",
    "compile": "runs code built at run time",
    "__import__": "imports modules by computed names",
    "importlib": "imports modules by computed names",
    "builtins": "changes Python's builtins",
    "__builtins__": "changes Python's builtins",
    "globals": "reaches the notebook's globals by name",
    "vars": "reaches objects' attributes by name",
    "sys.modules": "reaches modules by name",
    "sys.setprofile": "changes the tracer",
    "sys.settrace": "changes the tracer",
    "sys.monitoring": "changes the tracer",
    "sys._getframe": "inspects frames",
    "threading": "runs code in other threads",
    "_thread": "runs code in other threads",
    "concurrent": "runs code in other threads",
    "multiprocessing": "runs code in other processes",
    "subprocess": "runs other programs",
    "os.system": "runs other programs",
    "os.popen": "runs other programs",
    "os.fork": "runs other processes",
    "os.exec": "runs other programs",
    "os.spawn": "runs other programs",
    "os.posix_spawn": "runs other programs",
    "os.write": "writes to file descriptors",
    "os.dup": "writes to file descriptors",
    "pty": "runs other programs",
    "gc": "reaches objects through the garbage collector",
    "inspect": "inspects code objects",
    "ctypes": "touches memory directly",
    "cffi": "touches memory directly",
    "marshal": "loads code objects",
    "pickle": "loads objects that run code",
    "dill": "loads objects that run code",
    "types.FunctionType": "builds functions from code objects",
    "types.CodeType": "builds code objects",
    "__code__": "edits function code",
    "__globals__": "reaches a function's globals",
    "__closure__": "edits closures",
    "__subclasses__": "reaches library classes through reflection",
    "__bases__": "changes class hierarchies",
    "__mro__": "reaches library classes through reflection",
    "__dict__": "reaches attributes by name",
    "__class__": "changes object types",
    "__getattribute__": "reaches attributes by name",
    "torch._C": "calls torch's internals",
    "torch.ops": "calls aten operators by name",
    "torch._ops": "calls aten operators by name",
    "torch.library": "registers operators",
    "torch.utils._python_dispatch": "intercepts torch's dispatcher",
    "torch.overrides": "intercepts torch functions",
    "torch.hub": "loads code",
    "torch.jit": "loads compiled code",
    "torch.compile": "compiles code",
    "adl4cv_utils.worker": "touches the grading worker",
    "adl4cv_utils.grading": "touches the grader",
    "IPython": "changes the notebook machinery",
    "get_ipython": "changes the notebook machinery",
    "signal": "changes signal handling",
    "atexit": "runs code at exit",
    "socket": "opens network connections",
}
# getattr/setattr/delattr are allowed only with a literal attribute name (and set/del only on self).
DYNAMIC_ATTRIBUTE = ("getattr", "setattr", "delattr", "hasattr")
