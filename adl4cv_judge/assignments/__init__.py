"""One module per assignment folder name's topic; importing it registers its judge tests."""

from __future__ import annotations

import importlib

from adl4cv_judge.registry import TESTS, JudgeTest

TOPICS = {
    "01_basics": "basics",
    "02_optimizers": "optimizers",
    "03_convolution": "convolution",
    "04_resnet": "resnet",
    "05_attention": "attention",
    "06_training": "training",
    "07_visualization": "visualization",
}


def tests_for(assignment: str) -> dict[str, JudgeTest]:
    """The judge tests of ``assignment`` by grade_id (ValueError naming an unknown assignment)."""
    if assignment not in TOPICS:
        raise ValueError(f"assignment: unknown {assignment!r}; known: {', '.join(TOPICS)}")
    topic = TOPICS[assignment]
    importlib.import_module(f"{__name__}.{topic}")
    return TESTS.get(topic, {})
