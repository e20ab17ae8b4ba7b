"""Timings of the 01_basics checks on the reference solution (prints figures, asserts nothing)."""

from _timing import reference_namespace, time_checks

from adl4cv_utils.checks import basics as B

ns = reference_namespace("01_basics")
g = ns.__getitem__
time_checks(
    "01_basics",
    [
        ("check_softmax_loss", lambda: B.check_softmax_loss(g("softmax_loss"))),
        ("check_softmax_stability", lambda: B.check_softmax_stability(g("softmax_loss"))),
        ("check_hinge_loss", lambda: B.check_hinge_loss(g("hinge_loss"))),
        ("check_hinge_margin", lambda: B.check_hinge_margin(g("hinge_loss"))),
        *[
            (f"check_activation {k}", lambda k=k: B.check_activation(g(f"{k}_forward"), g(f"{k}_backward"), k))
            for k in ("sigmoid", "tanh", "relu")
        ],
        ("check_maxout", lambda: B.check_maxout(g("maxout_forward"), g("maxout_backward"))),
        ("check_gradient_check_correct", lambda: B.check_gradient_check_correct(g("gradient_check"))),
        ("check_gradient_check_wrong", lambda: B.check_gradient_check_wrong(g("gradient_check"))),
        ("check_gradient_check_eps", lambda: B.check_gradient_check_eps(g("gradient_check"))),
    ],
)
