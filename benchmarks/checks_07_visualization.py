"""Timings of the 07_visualization checks on the reference solution (prints figures, asserts nothing)."""

from _timing import reference_namespace, time_checks

from adl4cv_utils.checks import visualization as V

ns = reference_namespace("07_visualization")
occ, top = ns["occlusion_map"], ns["top_activating_patches"]
time_checks(
    "07_visualization",
    [
        ("check_occlusion_shape", lambda: V.check_occlusion_shape(occ)),
        ("check_occlusion_values", lambda: V.check_occlusion_values(occ)),
        ("check_occlusion_fill", lambda: V.check_occlusion_fill(occ)),
        ("check_occlusion_eval", lambda: V.check_occlusion_eval(occ)),
        ("check_top_values", lambda: V.check_top_values(top)),
        ("check_top_indices", lambda: V.check_top_indices(top)),
        ("check_top_patches", lambda: V.check_top_patches(top)),
        ("check_top_hook", lambda: V.check_top_hook(top)),
    ],
)
