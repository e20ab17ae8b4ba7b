"""Write the stored expected values of the self-checks: ``python -m adl4cv_grading.expected``.

Runs the references of each topic on the cases its self-checks declare and saves the tables as
``adl4cv_utils/checks/expected/<topic>.pt`` (loaded with ``torch.load(weights_only=True)``).
Only values cross into the student package, never code.
"""

from __future__ import annotations

import torch

from adl4cv_grading.exercises.diffusion import reference as diffusion
from adl4cv_grading.exercises.similarity import reference as similarity
from adl4cv_grading.exercises.training import reference as training
from adl4cv_grading.exercises.visualization import reference as visualization
from adl4cv_utils.checks.fixtures import EXPECTED_DIR

TOPICS = {
    "training": training.expected_values,
    "visualization": visualization.expected_values,
    "similarity": similarity.expected_values,
    "diffusion": diffusion.expected_values,
}


def tables() -> dict[str, dict]:
    """{topic: table} computed now, with one CPU thread and the global RNG left as it was."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng():
            return {topic: make() for topic, make in TOPICS.items()}
    finally:
        torch.set_num_threads(before)


def main() -> None:
    EXPECTED_DIR.mkdir(exist_ok=True)
    for topic, table in tables().items():
        path = EXPECTED_DIR / f"{topic}.pt"
        torch.save(table, path)
        print(f"wrote {path} ({len(table)} cases, {path.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
