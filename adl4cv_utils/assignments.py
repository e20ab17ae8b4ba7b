"""Which assignments are there? The one registry: an assignment's folder name and its exercise's topic.

``02_optimizers`` is the folder under ``solutions/`` and ``exercises/``; ``optimizers`` is the
exercise's one name, the folder of its self-checks and probes (``adl4cv_utils/checks/optimizers/``)
and of its judge and references on the instructor's side. Everything that lists assignments (the
probes, the judge, the rules, the release, the tests) reads this table.
"""

from __future__ import annotations

ASSIGNMENTS: dict[str, str] = {
    "01_basics": "basics",
    "02_optimizers": "optimizers",
    "03_convolution": "convolution",
    "04_resnet": "resnet",
    "05_attention": "attention",
    "06_training": "training",
    "07_visualization": "visualization",
    "08_similarity": "similarity",
    "09_generative": "generative",
    "10_diffusion": "diffusion",
}
# The grader's self-test (tests/grading/tiny.py): graded like the others, never released to students.
SELF_TEST = {"00_tiny": "tiny"}


def topic(assignment: str) -> str:
    """The exercise's name of ``assignment`` (ValueError naming the argument when it is unknown)."""
    known = {**SELF_TEST, **ASSIGNMENTS}
    if assignment not in known:
        raise ValueError(f"assignment: unknown {assignment!r}; known: {', '.join(known)}")
    return known[assignment]


def topics() -> tuple[str, ...]:
    """The exercises' names, in course order."""
    return tuple(ASSIGNMENTS.values())
