"""Does real nbgrader grade every assignment end to end (reference, release, known-wrong answers)?

One table row per assignment: the wrong students' edits of the reference answers, the test cells each
must lose (every other cell keeps its points), their total, and phrases their feedback must show. Each
row runs the real ``adl4cv-grade`` (sandbox, judge, gradebook, feedback) once on all its students.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import nbformat
import pytest
from conftest import notebook_path, solution_cell, with_solutions

from adl4cv_utils.assignments import ASSIGNMENTS

pytestmark = pytest.mark.slow


@dataclass
class Row:
    """One assignment's round trip: ``wrong[student] = {answer cell: ((old, new), ...)}`` edits of the reference."""

    assignment: str
    total: float
    wrong: dict[str, dict[str, tuple[tuple[str, str], ...]]]
    lost: dict[str, set[str]]  # student -> the test cells that score 0 (all others: full points)
    feedback: dict[str, tuple[str, ...]]  # student -> phrases of its feedback page
    hidden: tuple[str, ...]  # hidden-test source that no feedback page may show
    extra: dict[str, object] = field(default_factory=dict)  # more students: answers or raw file text
    extra_scores: dict[str, float] = field(default_factory=dict)


POOL = ("max_pool_basic", "max_pool_default_stride", "max_pool_lecture", "max_pool_gradient", "max_pool_hidden")
INFO_NCE = ("values", "temperature", "stability", "hidden")
CONV = ("conv2d_basic", "conv2d_stride", "conv2d_padding", "conv2d_bias", "conv2d_gradients", "conv2d_no_builtin")
ROWS = [
    Row(
        "01_basics",
        18.0,
        {
            "wrong": {
                "hinge_loss": (("margins[rows, y] = 0  # the sum runs over k != y_i", ""),),
                "sigmoid": (("return out, out", "return out, x"),),
            }
        },
        {
            "wrong": {
                "hinge_loss_values",
                "hinge_loss_margin",
                "hinge_loss_hidden",
                "sigmoid_test",
                "activations_hidden",
            }
        },
        {"wrong": ("the correct class is counted", "uses the input x instead of the output")},
        ("BEGIN HIDDEN TESTS", "seed=1).assert_passed()", "basics.check_gradient_check_eps(gradient_check)"),
    ),
    Row(
        "02_optimizers",
        23.0,
        {"slide_adam": {"adam": (("m / (1 - beta1**t)", "m / (1 - beta1)"),)}},
        # The slide's (1 - beta1) equals (1 - beta1**t) at t = 1: only the interface and the single step pass.
        {"slide_adam": {"adam_many_steps", "adam_param_groups", "adam_eps", "adam_hidden"}},
        {"slide_adam": ("looks like the bias correction of m divides by (1 - beta1) as on the slide",)},
        ("BEGIN HIDDEN TESTS", "check_training_run"),
        extra={
            "noisy": {
                "sgd_momentum": (
                    (
                        "for group in self.param_groups:",
                        "warnings.warn('a harmless warning')\n        for group in self.param_groups:",
                    ),
                    ("class SGDMomentum", "import warnings\n\n\nclass SGDMomentum"),
                )
            },
            "broken": "{ this is not a notebook",
        },
        extra_scores={"noisy": 23.0, "broken": 0.0},  # a warning on stderr costs nothing
    ),
    Row(
        "03_convolution",
        17.0,
        {
            "flipped": {
                "conv2d": (
                    ("out = weight.reshape(c_out, -1) @ cols", "out = weight.flip(-2, -1).reshape(c_out, -1) @ cols"),
                )
            },
            "torch_pool": {"max_pool2d": None},  # replaced below by torch's own F.max_pool2d
        },
        {"flipped": {*CONV, "conv2d_hidden", "conv2d_module_forward", "conv2d_module_hidden"}, "torch_pool": set(POOL)},
        {
            "flipped": ("looks like the kernel is flipped",),
            "torch_pool": ("your code calls torch.nn.functional.max_pool2d", "are not allowed in this exercise"),
        },
        ("BEGIN HIDDEN TESTS", "check_conv2d_random", "check_max_pool_no_builtin"),
    ),
    Row(
        "04_resnet",
        10.0,
        {
            "relu_first": {
                "basic_block": (("return F.relu(out + self.shortcut(x))", "return F.relu(out) + self.shortcut(x)"),)
            }
        },
        {
            "relu_first": {
                "basic_block_forward_train",
                "basic_block_forward_eval",
                "basic_block_skip_gradient",
                "basic_block_hidden",
            }
        },
        {"relu_first": ("the ReLU is applied before the addition",)},
        ("BEGIN HIDDEN TESTS", "check_backward"),
    ),
    Row(
        "05_attention",
        13.0,
        {
            "wrong": {
                "sdpa": (("scores.masked_fill(~mask,", "scores.masked_fill(mask,"),),
                "mha": (("return self.out_proj(out), weights", "return out, weights"),),
            }
        },
        # sdpa_hidden: its batch-dimension test uses a mask
        {
            "wrong": {
                "sdpa_causal_mask",
                "sdpa_padding_mask",
                "sdpa_hidden",
                "mha_self_attention",
                "mha_cross_attention",
                "mha_mask",
                "mha_hidden",
            }
        },
        {"wrong": ("the mask is inverted", "the output projection is missing")},
        ("BEGIN HIDDEN TESTS", "check_mha_gradients"),
    ),
    Row(
        "06_training",
        21.0,
        {
            "wrong": {
                "train_one_epoch": (("        optimizer.zero_grad()\n", ""),),
                "evaluate": (("    model.train(was_training)\n", ""),),
            }
        },
        {"wrong": {"train_epoch", "train_zero_grad", "train_hidden", "evaluate_mode"}},
        {"wrong": ("call optimizer.zero_grad() before", "restore it")},
        ("BEGIN HIDDEN TESTS", "seed=1).assert_passed()", "shape=(8, 4, 10, 10)"),
    ),
    Row(
        "07_visualization",
        12.0,
        {
            "wrong": {
                "occlusion_map": (("left : left + patch_size] = fill", "left : left + patch_size] = 0"),),
                "top_activating_patches": (("        handle.remove()\n", "        pass\n"),),
            }
        },
        {"wrong": {"occlusion_fill", "top_hook"}},
        {"wrong": ("use the fill argument", "handle.remove()")},
        ("BEGIN HIDDEN TESTS", "seed=1"),
    ),
    Row(
        "08_similarity",
        17.0,
        {
            "wrong": {
                "triplet": (("+ margin)", "- margin)"),),
                "info_nce": (("/ temperature", "/ temperature**2"),),
            }
        },
        {"wrong": {"triplet_values", "triplet_margin", "triplet_hidden", *(f"info_nce_{t}" for t in INFO_NCE)}},
        {"wrong": ("the margin has the wrong sign", "the temperature is applied twice")},
        ("BEGIN HIDDEN TESTS", "check_info_nce(info_nce, seed=1)"),
    ),
    Row(
        "09_generative",
        12.0,
        {
            "wrong": {
                "reparameterize": (("torch.exp(0.5 * logvar)", "torch.exp(logvar)"),),
                "gan_losses": (("return -log_sigmoid(fake_logits).mean()", "return log_sigmoid(-fake_logits).mean()"),),
            }
        },
        {
            "wrong": {
                "reparameterize_values",
                "reparameterize_gradients",
                "reparameterize_hidden",
                "generator_loss_values",
                "generator_loss_stability",
                "gan_losses_hidden",
            }
        },
        {"wrong": ("exp(logvar) is the variance", "saturating loss mean log(1 - D(G(z)))")},
        ("BEGIN HIDDEN TESTS", "seed=1).assert_passed()", "check_reparameterize_gradients(reparameterize, seed=1)"),
    ),
    Row(
        "10_diffusion",
        19.0,
        {
            "wrong": {
                "q_sample": (("ab.sqrt() * x0", "ab * x0"),),
                "p_sample_step": (
                    ("var = (1 - alphas_cumprod_prev[t].reshape(shape)) / (1 - ab_t) * beta_t", "var = beta_t"),
                ),
            }
        },
        {"wrong": {"q_sample_values", "q_sample_hidden", "p_sample_variance", "p_sample_last_step", "p_sample_hidden"}},
        {"wrong": ("x0 is scaled by alpha_bar_t", "the variance is beta_t")},
        ("BEGIN HIDDEN TESTS", "seed=1).assert_passed()", "diffusion.check_p_sample_step(p_sample_step)"),
    ),
]


def _answers(assignment: str, edits: dict) -> dict[str, str]:
    """The reference answers with ``edits`` applied; every ``old`` must occur, so a row never tests the reference."""
    answers = {gid: solution_cell(assignment, gid) for gid in _answer_cells(assignment)}
    for cell, changes in edits.items():
        if changes is None:  # 03's torch_pool: the docstring kept, the body is torch's own pooling
            answers[cell] = (
                answers[cell].split('    """\n', 2)[0] + '    """\n    return F.max_pool2d(x, kernel_size, stride)\n'
            )
            continue
        for old, new in changes:
            assert old in answers[cell], f"{assignment}/{cell}: {old!r} is not in the reference"
            answers[cell] = answers[cell].replace(old, new)
    return answers


def _cells(assignment: str) -> list[dict]:
    nb = nbformat.read(notebook_path("solutions", assignment), as_version=4)
    return [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id")]


def _answer_cells(assignment: str) -> list[str]:
    return [md["grade_id"] for md in _cells(assignment) if md.get("solution")]


def _points(assignment: str) -> dict[str, float]:
    return {md["grade_id"]: float(md.get("points") or 0) for md in _cells(assignment) if md.get("grade")}


def test_every_assignment_has_a_row():
    """Is each assignment of the registry in the round-trip table?"""
    assert [r.assignment for r in ROWS] == list(ASSIGNMENTS)


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.assignment)
def test_reference_full_release_zero_wrong_partial(row, grade_batch, course):
    """Reference -> full marks, release -> 0, each wrong student -> exactly its lost cells, with named mistakes."""
    A = row.assignment
    subs = {"ref": with_solutions(A, _answers(A, {})), "release": with_solutions(A, {})}
    subs |= {name: with_solutions(A, _answers(A, edits)) for name, edits in row.wrong.items()}
    subs |= {n: e if isinstance(e, str) else with_solutions(A, _answers(A, e)) for n, e in row.extra.items()}
    proc, rows = grade_batch(A, subs)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert float(rows["ref"]["score"]) == pytest.approx(row.total) == float(rows["ref"]["max_score"])
    assert float(rows["release"]["score"]) == 0.0
    topic = ASSIGNMENTS[A]
    for name, lost in row.lost.items():
        scores = {k.split("/")[1]: float(v) for k, v in rows[name].items() if k.startswith(f"{topic}/")}
        assert {k for k, v in scores.items() if v == 0} == lost, (name, scores)
        points = _points(A)
        assert float(rows[name]["score"]) == pytest.approx(row.total - sum(points[c] for c in lost)), (name, scores)
    for name, score in row.extra_scores.items():
        assert float(rows[name]["score"]) == pytest.approx(score), name
    feedback = course / "feedback"
    for name, phrases in row.feedback.items():
        html = (feedback / name / A / f"{topic}.html").read_text()
        assert all(p in html for p in phrases), (name, [p for p in phrases if p not in html])
    for name in ("ref", "release", *row.wrong):
        page = (feedback / name / A / f"{topic}.html").read_text()
        assert not [h for h in row.hidden if h in page], f"hidden source in {name}"
    for name, text in row.extra.items():
        if isinstance(text, str):  # not a notebook: not graded, with the reason
            assert rows[name]["status"] == "not graded" and "not a readable notebook" in rows[name]["reason"]
            assert "not a readable notebook" in (feedback / name / A / "not_graded.html").read_text()
    assert f"{row.total:g}/{row.total:g}" in proc.stdout


def test_rerun_skips_unchanged(grade_batch):
    """Is a second run on the same folder fast, keeping the grades, and does --force regrade?"""
    A = "02_optimizers"
    subs = {"ref": with_solutions(A, _answers(A, {}))}
    proc, rows = grade_batch(A, subs)
    assert proc.returncode == 0 and rows["ref"]["status"] == "graded"
    proc, rows = grade_batch(A, subs)
    assert rows["ref"]["status"] == "unchanged" and float(rows["ref"]["score"]) == pytest.approx(23.0)
    proc, rows = grade_batch(A, subs, "--force")
    assert rows["ref"]["status"] == "graded"
