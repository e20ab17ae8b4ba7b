"""The cheat and benign suites' notebooks: what a student who wants points without the work would write,
and what honest students write with harmless habits. One table each; test_cheats.py and test_benign.py
grade them, one real ``adl4cv-grade`` batch per assignment (``grade_suites``, shared by both).

A cheat replaces one answer cell (``TARGET``) of the reference; it must score no more than the
baseline, the reference with that cell replaced by ``BASELINE`` (code that earns the cell nothing).
A habit is the reference with answer cells replaced and/or cells added; it must keep full marks.
"""

from __future__ import annotations

TARGET = {"02_optimizers": "adam", "03_convolution": "conv2d", "04_resnet": "basic_block"}
TARGET |= {"05_attention": "sdpa", "06_training": "dropout", "09_generative": "gan_losses"}

BASELINE = {
    "02_optimizers": """
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        pass
""",
    "03_convolution": """
def conv2d(x, weight, bias=None, stride=1, padding=0):
    raise NotImplementedError
""",
    "04_resnet": """
class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, out_channels, 1, stride=stride)

    def forward(self, x):
        return self.proj(x)
""",
    "05_attention": """
def scaled_dot_product_attention(q, k, v, mask=None):
    raise NotImplementedError
""",
    "06_training": """
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        return x
""",
    "09_generative": """
def log_sigmoid(x):
    raise NotImplementedError


def gan_discriminator_loss(real_logits, fake_logits):
    raise NotImplementedError


def gan_generator_loss(fake_logits):
    raise NotImplementedError
""",
}


def _adam_around(get_class: str, step: str = "return self._inner.step()") -> str:
    """An Adam whose work is done by the class ``get_class`` evaluates to (torch's Adam, reached somehow)."""
    return f"""
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        params = list(params)
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))
        self._inner = ({get_class})(params, lr=lr, betas=betas, eps=eps)

    def step(self, closure=None):
        {step}
"""


def _gan_around(log_sigmoid: str, prelude: str = "", before: str = "") -> str:
    """09's GAN losses as the reference writes them, on a ``log_sigmoid`` returning ``log_sigmoid`` (an expression
    in ``x``: torch's own stable function reached somehow); ``prelude`` runs first, ``before`` opens the body."""
    return f"""{prelude}
def log_sigmoid(x):
    {before}return {log_sigmoid}


def gan_discriminator_loss(real_logits, fake_logits):
    return -log_sigmoid(real_logits).mean() - log_sigmoid(-fake_logits).mean()


def gan_generator_loss(fake_logits):
    return -log_sigmoid(fake_logits).mean()
"""


_NO_OP = BASELINE["02_optimizers"]
_FORGE = """
import base64
_shell = get_ipython()
_publish = _shell.display_pub.publish
def _forged(data, *args, **kwargs):
    key = "application/x-adl4cv-judge-frame"
    if key in data:  # keep the guard's nonce, rewrite the rest: an empty trace and a reply that passes
        raw = base64.b64decode(data[key])
        data = {key: base64.b64encode(raw[:16] + bytes(32) + raw[48:]).decode()}
    return _publish(data, *args, **kwargs)
_shell.display_pub.publish = _forged
"""
_SERVER = r'''
import subprocess, sys, pickle
_server = subprocess.Popen([sys.executable, "-c", """
import pickle, sys, torch
opt = None
while True:
    params, grads, lr = pickle.load(sys.stdin.buffer)
    if opt is None:
        ps = [torch.nn.Parameter(p) for p in params]
        opt = torch.optim.Adam(ps, lr=lr)
    for p, q, g in zip(ps, params, grads):
        p.data.copy_(q); p.grad = g
    opt.step()
    pickle.dump([p.detach() for p in ps], sys.stdout.buffer); sys.stdout.flush()
"""], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        ps = [p for g in self.param_groups for p in g["params"] if p.grad is not None]
        pickle.dump(([p.detach() for p in ps], [p.grad for p in ps], self.defaults["lr"]), _server.stdin)
        _server.stdin.flush()
        for p, new in zip(ps, pickle.load(_server.stdout)):
            p.copy_(new)
'''
_FUNCTIONAL_COPY = """
import types
_adam = types.FunctionType(torch.optim.adam.adam.__code__, torch.optim.adam.__dict__, "adam", None,
                           torch.optim.adam.adam.__closure__)
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            ps = [p for p in group["params"] if p.grad is not None]
            st = [self.state[p] for p in ps]
            for s, p in zip(st, ps):
                if not s:
                    s["step"], s["m"], s["v"] = torch.tensor(0.0), torch.zeros_like(p), torch.zeros_like(p)
            b1, b2 = group["betas"]
            _adam(ps, [p.grad for p in ps], [s["m"] for s in st], [s["v"] for s in st], [], [s["step"] for s in st],
                  foreach=False, amsgrad=False, beta1=b1, beta2=b2, lr=group["lr"], weight_decay=0.0,
                  eps=group["eps"], maximize=False)
"""
_FRESH_MODULE = """
import importlib, itertools, sys
_count = itertools.count()
class Adam(torch.optim.Optimizer):
    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        super().__init__(params, dict(lr=lr, betas=betas, eps=eps))

    def step(self, closure=None):
        name = f"_fresh_{next(_count)}"
        with open(f"{name}.py", "w") as f:
            f.write("import builtins, torch\\n_o = builtins._adam_self\\n")
            f.write("torch.optim.Adam(_o.param_groups[0]['params'], lr=_o.defaults['lr']).step()\\n")
        import builtins
        builtins._adam_self = self
        sys.path.insert(0, ".")
        importlib.import_module(name)
"""

CHEATS: dict[str, tuple[str, str]] = {
    # names the static analysis cannot resolve; the runtime sees torch's Adam run (or refuses it)
    "for_target_module": ("02_optimizers", "for _m in (torch.optim,):\n    _A = _m.Adam\n" + _adam_around("_A")),
    "pkgutil_resolve_name": (
        "02_optimizers",
        "import pkgutil\n" + _adam_around('pkgutil.resolve_name("torch.optim.Adam")'),
    ),
    "operator_attrgetter": (
        "02_optimizers",
        "import operator\n" + _adam_around('operator.attrgetter("optim.Adam")(torch)'),
    ),
    "attribute_chain": ("02_optimizers", "import torch.nn.functional as F\n" + _adam_around("F.torch.optim.Adam")),
    "computed_name": ("02_optimizers", _adam_around('getattr(getattr(torch, "op" + "tim"), "Ad" + "am")')),
    "subclass_torch_adam": ("02_optimizers", "class Adam(torch.optim.Adam):\n    pass\n"),
    # a cell the analysis could not parse used to count as empty
    "ipython_line_hides_cell": ("02_optimizers", "_ = %pwd\n" + _adam_around("torch.optim.Adam")),
    # code that is never analysed: a module written by the notebook and imported
    "module_written_to_file": (
        "02_optimizers",
        "with open('einops_tools.py', 'w') as f:\n    f.write('from torch.optim import Adam as Impl\\n')\n"
        "import sys\nsys.path.insert(0, '.')\nimport einops_tools\n" + _adam_around("einops_tools.Impl"),
    ),
    "fresh_module_per_call": ("02_optimizers", _FRESH_MODULE),
    # the recorder switched off or bypassed from inside
    "setprofile_off": (
        "02_optimizers",
        "import sys\n_s = sys\n"
        + _adam_around(
            "torch.optim.Optimizer", "_s.setprofile(None); torch.optim.Adam(self.param_groups[0]['params']).step()"
        ),
    ),
    "dispatch_mode_popped": (
        "02_optimizers",
        "from torch.utils._python_dispatch import _disable_current_modes\n"
        + _adam_around(
            "torch.optim.Optimizer",
            "with _disable_current_modes(): torch.optim.Adam(self.param_groups[0]['params']).step()",
        ),
    ),
    "functional_code_copy": ("02_optimizers", _FUNCTIONAL_COPY),
    "reload_torch_module": (
        "02_optimizers",
        "import importlib\n"
        + _adam_around(
            "torch.optim.Optimizer",
            "return importlib.reload(torch.optim.adam).Adam(self.param_groups[0]['params']).step()",
        ),
    ),
    "thread": (
        "02_optimizers",
        "import threading\n"
        + _adam_around(
            "torch.optim.Optimizer",
            "t = threading.Thread(target=lambda: torch.optim.Adam(self.param_groups[0]['params']).step())\n"
            "        t.start()\n        t.join()",
        ),
    ),
    "subprocess_server": ("02_optimizers", _SERVER),
    # the reply forged: the display machinery rewritten, the probe handler replaced
    "forged_reply": ("02_optimizers", _NO_OP + _FORGE),
    "probe_handler_replaced": (
        "02_optimizers",
        _NO_OP
        + "import adl4cv_utils.probing.channel as _ch\n_real = _ch.handle_probe\n"
        + "def _handle(ns, request):\n    ns = dict(ns, Adam=torch.optim.Adam)\n    return _real(ns, request)\n"
        + "_ch.handle_probe = _handle\n",
    ),
    "frames_and_memory": (
        "02_optimizers",
        _NO_OP
        + "import sys, gc, ctypes\n_found = []\ntry:\n    _found += gc.get_objects()\nexcept RuntimeError:\n    pass\n"
        + "try:\n    ctypes.string_at(id(_found), 64)\nexcept RuntimeError:\n    pass\n",
    ),
    # 03: ready-made convolutions outside torch.nn.functional
    "scipy_correlate": (
        "03_convolution",
        """
import numpy as np
from scipy import signal
def conv2d(x, weight, bias=None, stride=1, padding=0):
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    xp = F.pad(x, (pw, pw, ph, ph)).double().numpy()
    w = weight.double().numpy()
    out = np.stack([np.stack([sum(signal.correlate(xp[n, c], w[o, c], mode="valid") for c in range(w.shape[1]))
                              for o in range(w.shape[0])]) for n in range(xp.shape[0])])
    out = torch.from_numpy(out[:, :, ::sh, ::sw].copy()).to(x.dtype)
    return out if bias is None else out + bias.reshape(1, -1, 1, 1)
""",
    ),
    "nnpack_private_op": (
        "03_convolution",
        """
def conv2d(x, weight, bias=None, stride=1, padding=0):
    (sh, sw), (ph, pw) = pair(stride), pair(padding)
    out = torch._nnpack_spatial_convolution(x, weight, bias, [ph, pw])
    return out[:, :, ::sh, ::sw]
""",
    ),
    "torch_ops_aten": (
        "03_convolution",
        """
def conv2d(x, weight, bias=None, stride=1, padding=0):
    return torch.ops.aten.convolution.default(x, weight, bias, list(pair(stride)), list(pair(padding)), [1, 1],
                                              False, [0, 0], 1)
""",
    ),
    "map_with_dispatch_disabled": (
        "03_convolution",
        """
def conv2d(x, weight, bias=None, stride=1, padding=0):
    with torch._C._DisableTorchDispatch():
        return list(map(torch.conv2d, [x], [weight], [bias], [stride], [padding]))[0]
""",
    ),
    # 04: torchvision's block
    "torchvision_block": (
        "04_resnet",
        """
import torchvision
class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        down = None
        if stride != 1 or in_channels != out_channels:
            down = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False),
                                 nn.BatchNorm2d(out_channels))
        self.block = torchvision.models.resnet.BasicBlock(in_channels, out_channels, stride, down)
        self.conv1, self.bn1 = self.block.conv1, self.block.bn1
        self.conv2, self.bn2 = self.block.conv2, self.block.bn2
        self.shortcut = down if down is not None else nn.Identity()

    def forward(self, x):
        return self.block(x)
""",
    ),
    # 05: torch's attention, reached around the names
    "sdpa_attrgetter": (
        "05_attention",
        """
import operator
def scaled_dot_product_attention(q, k, v, mask=None):
    fn = operator.attrgetter("nn.functional.scaled_dot_product_attention")(torch)
    out = fn(q, k, v, attn_mask=mask)
    d = q.shape[-1]
    scores = (q @ k.transpose(-2, -1)) / math.sqrt(d)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return out, torch.softmax(scores, dim=-1)
""",
    ),
    "mha_forward_functional": (
        "05_attention",
        """
def scaled_dot_product_attention(q, k, v, mask=None):
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    out = torch._C._nn.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    return out, weights
""",
    ),
    # 06: torch's dropout under other names
    "dropout_alias": (
        "06_training",
        """
_drop = torch.dropout
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        return _drop(x, self.p, self.training)
""",
    ),
    "native_dropout_op": (
        "06_training",
        """
class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        if not self.training:
            return x
        return torch.ops.aten.native_dropout(x, self.p, True)[0]
""",
    ),
    # 09: torch's stable log-sigmoid / BCE-with-logits behind the GAN losses, reached around the names
    "gan_getattr_strings": (
        "09_generative",
        _gan_around(
            "_ls(x)", '_ls = getattr(getattr(getattr(torch, "n" + "n"), "func" + "tional"), "log" + "sigmoid")'
        ),
    ),
    "gan_importlib_bce": (
        "09_generative",
        _gan_around(
            "-_bce(-x, torch.zeros_like(x), reduction='none')",
            "import importlib\n"
            "_bce = importlib.import_module('torch.nn.' + 'functional').binary_cross_entropy_with_logits",
        ),
    ),
    "gan_module_written_to_file": (
        "09_generative",
        _gan_around(
            "gan_tools.stable(x)",
            "with open('gan_tools.py', 'w') as f:\n"
            "    f.write('import torch.nn.functional as F\\n\\n\\ndef stable(x):\\n    return -F.softplus(-x)\\n')\n"
            "import sys\nsys.path.insert(0, '.')\nimport gan_tools",
        ),
    ),
    "gan_torch_ops_aten": ("09_generative", _gan_around("torch.ops.aten.log_sigmoid_forward.default(x)[0]")),
    "gan_subclass_bce_module": (
        "09_generative",
        _gan_around(
            "-_Loss()(x, torch.ones_like(x))",
            "class _Loss(torch.nn.BCEWithLogitsLoss):\n"
            "    def __init__(self):\n        super().__init__(reduction='none')",
        ),
    ),
    "gan_distributions": (
        "09_generative",
        _gan_around("torch.distributions.Bernoulli(logits=x).log_prob(torch.ones_like(x))"),
    ),
    "gan_map_dispatch_disabled": (
        "09_generative",
        _gan_around(
            "_hidden(x)",
            "def _hidden(x):\n    with torch._C._DisableTorchDispatch():\n"
            "        return list(map(torch.nn.functional.logsigmoid, [x]))[0]",
        ),
    ),
    # the value computed unseen (called from C, the Python dispatch key off), the gradient by a surrogate
    "gan_hidden_value_surrogate_gradient": (
        "09_generative",
        _gan_around(
            "value.detach() + (slope * x - (slope * x).detach())",
            "def _hidden(x):\n    with torch._C._DisableTorchDispatch(), torch.no_grad():\n"
            "        return list(map(torch.nn.functional.logsigmoid, [x.detach()]))[0]",
            "value, slope = _hidden(x), torch.sigmoid(-x).detach()  # d/dx log sigmoid(x) = sigmoid(-x)\n    ",
        ),
    ),
    # rules gaps: ready-made stable log-sum-exps the table did not list (log_softmax over (0, x), logcumsumexp)
    "gan_log_softmax_two_classes": (
        "09_generative",
        _gan_around("torch.log_softmax(torch.stack([torch.zeros_like(x), x]), dim=0)[1]"),
    ),
    "gan_logcumsumexp": (
        "09_generative",
        _gan_around("-torch.logcumsumexp(torch.stack([torch.zeros_like(x), -x]), dim=0)[-1]"),
    ),
    "gan_cross_entropy_two_classes": (
        "09_generative",
        _gan_around(
            "-torch.nn.functional.cross_entropy(torch.stack([torch.zeros_like(x), x], dim=-1).reshape(-1, 2), "
            "torch.ones(x.numel(), dtype=torch.long), reduction='none').reshape(x.shape)"
        ),
    ),
    "gan_stored_value": (
        "09_generative",
        _gan_around("x * 0 - 0.6931471805599453  # log(1/2): the value at zero logits, stored"),
    ),
    "gan_forged_reply": ("09_generative", BASELINE["09_generative"] + _FORGE),
    "gan_probe_handler_replaced": (
        "09_generative",
        BASELINE["09_generative"]
        + "import adl4cv_utils.probing.channel as _ch\nimport torch.nn.functional as _F\n_real = _ch.handle_probe\n"
        + "def _handle(ns, request):\n"
        + "    ns = dict(ns, gan_generator_loss=lambda f: _F.softplus(-f).mean(),\n"
        + "              gan_discriminator_loss=lambda r, f: _F.softplus(-r).mean() + _F.softplus(f).mean())\n"
        + "    return _real(ns, request)\n_ch.handle_probe = _handle\n",
    ),
}


_INFO_NCE_LSE = """
def info_nce(z1, z2, temperature=0.5):
    n = z1.shape[0]
    z = torch.cat([z1, z2])
    z = z / z.norm(dim=1, keepdim=True)
    logits = (z @ z.T / temperature).masked_fill(torch.eye(2 * n, dtype=torch.bool), {fill})
    partner = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    log_denominator = {lse}
    return (log_denominator - logits[torch.arange(2 * n), partner]).mean()
"""
# 08, judged in one kernel session (tests/judge/test_cheats.py): name -> (answer cell, source); the cell's stub
# (the release's) earns nothing, so each must score 0 on its cell's tests
SESSION_CHEATS: dict[str, tuple[str, str]] = {
    # torch's own triplet loss called from C: no trace sees a builtin that map calls, and the composite op
    # decomposes into allowed ones before the dispatch mode sees it
    "triplet_by_map": (
        "triplet",
        "def triplet_loss(anchor, positive, negative, margin=0.2):\n"
        "    args = [anchor], [positive], [negative], [margin], [2.0], [0.0], [False], [1]\n"
        "    return list(map(torch.triplet_margin_loss, *args))[0]\n",
    ),
    # another torch loss with the same hinge: max(0, margin - x[y] + x[i]) / C over the classes i != y
    "triplet_by_multi_margin_loss": (
        "triplet",
        "import torch.nn.functional as F\n\n\ndef triplet_loss(anchor, positive, negative, margin=0.2):\n"
        "    d_ap, d_an = (anchor - positive).norm(dim=1), (anchor - negative).norm(dim=1)\n"
        "    scores = torch.stack([-d_ap, -d_an], dim=1)\n"
        "    return 2 * F.multi_margin_loss(scores, torch.zeros(len(anchor), dtype=torch.long), margin=margin)\n",
    ),
    # ready-made log-sum-exps the table did not list
    "info_nce_by_logcumsumexp": (
        "info_nce",
        _INFO_NCE_LSE.format(fill='float("-inf")', lse="torch.logcumsumexp(logits, dim=1)[:, -1]"),
    ),
    "info_nce_by_logaddexp_reduce": (
        "info_nce",
        "import functools\n"
        + _INFO_NCE_LSE.format(fill='float("-inf")', lse="functools.reduce(torch.logaddexp, logits.unbind(dim=1))"),
    ),
    "info_nce_by_softplus_reduce": (
        "info_nce",
        "import functools\nimport torch.nn.functional as F\n"
        + _INFO_NCE_LSE.format(
            fill="-1e4", lse="functools.reduce(lambda a, b: a + F.softplus(b - a), logits.unbind(dim=1))"
        ),
    ),
}


def _setattr_block(ref) -> str:
    return """
class BasicBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        for i, (cin, s) in enumerate(((in_channels, stride), (out_channels, 1)), start=1):
            setattr(self, f"conv{i}", nn.Conv2d(cin, out_channels, 3, stride=s, padding=1, bias=False))
            setattr(self, f"bn{i}", nn.BatchNorm2d(out_channels))
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False), nn.BatchNorm2d(out_channels)
            )
        else:
            self.shortcut = nn.Identity()

    def forward(self, x):
        out = x
        for i in (1, 2):
            out = getattr(self, f"bn{i}")(getattr(self, f"conv{i}")(out))
            if i == 1:
                out = F.relu(out)
        return F.relu(out + self.shortcut(x))
"""


def _loop_projections(ref) -> str:
    return ref("mha").replace(
        "q, k, v = split(self.q_proj(query)), split(self.k_proj(key)), split(self.v_proj(value))",
        'q, k, v = (split(getattr(self, f"{n}_proj")(t)) for n, t in zip("qkv", (query, key, value)))',
    )


def _tqdm_epoch(ref) -> str:
    return "from tqdm.auto import tqdm\n" + ref("train_one_epoch").replace(
        "for x, y in loader:", "for x, y in tqdm(loader, leave=False, desc='epoch'):"
    )


def _adam_repr(ref) -> str:
    return ref("adam") + (
        "\n    def __repr__(self):\n        return f\"{self.__class__.__name__}(lr={self.defaults['lr']})\"\n"
    )


def _logging_evaluate(ref) -> str:
    return "import logging\n" + ref("evaluate").replace(
        "    was_training = model.training",
        "    logging.getLogger('me').debug('evaluating')\n"
        "    print('evaluating', end=' ')\n    was_training = model.training",
    )


_COMPARE_ADAM = """
# an experiment: our Adam against torch's on the same problem (not graded)
w1, w2 = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(3))
ours, theirs = Adam([w1], lr=0.1), torch.optim.Adam([w2], lr=0.1)
for _ in range(5):
    for w, opt in ((w1, ours), (w2, theirs)):
        opt.zero_grad()
        (w ** 2).sum().backward()
        opt.step()
print(ours, (w1 - w2).abs().max().item())
"""
_WRITEFILE = """%%writefile dropout_mask.py
import torch


def keep_mask(shape, p, device=None):
    return (torch.rand(shape, device=device) >= p).float()
"""
_DROPOUT_FROM_FILE = """
import sys
sys.path.insert(0, ".")
from dropout_mask import keep_mask


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p < 1.0:
            raise ValueError(f"p: expected a probability in [0, 1), got {p!r}")
        self.p = p

    def forward(self, x):
        if not self.training or self.p == 0.0:
            return x
        return x * keep_mask(x.shape, self.p, x.device).to(x.dtype) / (1.0 - self.p)
"""

# name -> (assignment, {answer cell: function of the reference lookup -> source}, cells before, cells after)
HABITS: dict[str, tuple[str, dict, tuple[str, ...], tuple[str, ...]]] = {
    "shell_lines": ("02_optimizers", {}, ("!pip list 2>/dev/null | head -n 3\n!nvidia-smi || echo 'no GPU'",), ()),
    "class_name_in_repr": ("02_optimizers", {"adam": _adam_repr}, (), ()),
    "compare_with_torch_adam": ("02_optimizers", {}, (), (_COMPARE_ADAM,)),
    "ipython_line_in_answer": ("02_optimizers", {"adam": lambda ref: "_ = %pwd\n" + ref("adam")}, (), ()),
    "cudnn_benchmark": ("03_convolution", {}, ("torch.backends.cudnn.benchmark = True",), ()),
    "warnings_filter": ("03_convolution", {}, ("import warnings\nwarnings.filterwarnings('ignore')",), ()),
    "timeit_magic": (
        "03_convolution",
        {},
        (),
        ("%timeit -n 2 -r 1 conv2d(torch.randn(1, 2, 6, 6), torch.randn(3, 2, 3, 3))",),
    ),
    "compare_with_f_conv2d": (
        "03_convolution",
        {},
        (),
        (
            "x, w = torch.randn(1, 2, 6, 6), torch.randn(3, 2, 3, 3)\n"
            "print((conv2d(x, w) - F.conv2d(x, w)).abs().max())",
        ),
    ),
    "setattr_getattr_layers": ("04_resnet", {"basic_block": _setattr_block}, (), ()),
    "plot_settings": (
        "04_resnet",
        {},
        (
            "%matplotlib inline\nimport matplotlib.pyplot as plt\n"
            "plt.rcParams['figure.dpi'] = 120\nplt.style.use('default')",
        ),
        (),
    ),
    "projections_by_name": ("05_attention", {"mha": _loop_projections}, (), ()),
    "sys_path_edit": ("05_attention", {}, ("import sys\nsys.path.insert(0, '/tmp')",), ()),
    "seeding": (
        "06_training",
        {},
        ("import random\nimport numpy as np\nrandom.seed(0)\nnp.random.seed(0)\ntorch.manual_seed(0)",),
        (),
    ),
    "progress_bar_in_training": ("06_training", {"train_one_epoch": _tqdm_epoch}, (), ()),
    "helper_module_written_by_the_notebook": (
        "06_training",
        {"dropout": lambda ref: _DROPOUT_FROM_FILE},
        (_WRITEFILE,),
        (),
    ),
    "print_and_logging_in_graded_code": (
        "06_training",
        {"evaluate": _logging_evaluate},
        (),
        (),
    ),
}


def answer_cells(assignment: str) -> list[str]:
    """The grade_ids of the answer cells of ``assignment``."""
    import nbformat
    from conftest import notebook_path

    nb = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    return [c.metadata["nbgrader"]["grade_id"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")]


def build(assignment: str, replacements: dict[str, str], before=(), after=()):
    """The reference submission of ``assignment`` with ``replacements`` and extra code cells added."""
    import nbformat
    from conftest import solution_cell, with_solutions

    answers = {g: solution_cell(assignment, g) for g in answer_cells(assignment)} | replacements
    nb = with_solutions(assignment, answers)
    first = next(i for i, c in enumerate(nb.cells) if c.metadata.get("nbgrader", {}).get("grade_id") in answers)
    nb.cells[first:first] = [nbformat.v4.new_code_cell(src) for src in before]
    nb.cells += [nbformat.v4.new_code_cell(src) for src in after]
    return nb


def suite(assignment: str) -> dict:
    """{student: notebook} of the assignment's batch: reference, baseline, its cheats and its habits."""
    from conftest import solution_cell

    def ref(grade_id):
        return solution_cell(assignment, grade_id)

    out = {"reference": build(assignment, {})}
    if assignment in TARGET:
        out["baseline"] = build(assignment, {TARGET[assignment]: BASELINE[assignment]})
    for name, (a, source) in CHEATS.items():
        if a == assignment:
            out[f"cheat-{name}"] = build(assignment, {TARGET[a]: source})
    for name, (a, cells, before, after) in HABITS.items():
        if a == assignment:
            out[f"habit-{name}"] = build(assignment, {g: f(ref) for g, f in cells.items()}, before, after)
    return out
