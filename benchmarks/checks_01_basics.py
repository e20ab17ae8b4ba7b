"""Timings of the 01_basics checks on the reference solution (prints figures, asserts nothing)."""

from _timing import named_calls, reference_namespace, time_checks

from adl4cv_utils.checks import basics as B

ns = reference_namespace("01_basics")
ACTIVATIONS = [
    (f"check_activation {k}", lambda k=k: B.check_activation(ns[f"{k}_forward"], ns[f"{k}_backward"], k))
    for k in ("sigmoid", "tanh", "relu")
]
TABLE = {  # argument names -> check names
    ("maxout_forward", "maxout_backward"): ("check_maxout",),
    ("gradient_check",): ("check_gradient_check_correct", "check_gradient_check_wrong", "check_gradient_check_eps"),
}
LOSSES = {("softmax_loss",): ("check_softmax_loss", "check_softmax_stability"),
          ("hinge_loss",): ("check_hinge_loss", "check_hinge_margin")}  # fmt: skip
time_checks("01_basics", [*named_calls(B, ns, LOSSES), *ACTIVATIONS, *named_calls(B, ns, TABLE)])
