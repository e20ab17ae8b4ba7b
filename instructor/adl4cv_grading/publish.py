"""Write the student-facing repository: ``make publish DEST=...`` or ``python -m adl4cv_grading.publish DEST``.

The course repository is the instructor's: it holds the solutions, the hidden tests, the judge and
its references. Students get a separate tree (the repository that ``_config.yml``'s
``repository.url`` names, which the Colab buttons and install cells point at) with only:

* the book (``book/``, ``_config.yml``, ``_toc.yml``) and the release notebooks (``exercises/``);
* the student package ``adl4cv_utils`` (the grader, ``instructor/adl4cv_grading``, is another distribution);
* ``docs/contract.md`` without its instructor-only parts (between ``<!-- instructor -->`` and
  ``<!-- /instructor -->``);
* the student package's ``pyproject.toml`` without the dev extra and the test and lint settings, ``constraints.txt``,
  a student README, a small Makefile, LICENSE and ``.gitignore``.

Nothing else is copied: no ``solutions/``, ``tests/``, ``instructor/``, ``benchmarks/``, ``.ci/``.
``tests/grading/test_publish.py`` checks the result holds no solution or hidden-test source and no
importable answer.
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TREES = ("book", "exercises", "adl4cv_utils")
FILES = ("_config.yml", "_toc.yml", "constraints.txt", "LICENSE")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "_build", ".DS_Store")
INSTRUCTOR_ONLY = re.compile(r"<!-- instructor -->.*?<!-- /instructor -->\n?", re.S)
STUDENT_DOCS = REPO / "docs" / "student"

MAKEFILE = """\
# make env   -- create .venv with the course package and the tested versions (constraints.txt)
# make lab   -- open JupyterLab on the exercises
# make book  -- build the website into _build/html

PYTHON ?= python3
BIN := .venv/bin
export OMP_NUM_THREADS ?= 1

.PHONY: env lab book

env: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml constraints.txt
\ttest -x $(BIN)/python || $(PYTHON) -m venv .venv
\t$(BIN)/python -m pip install -q --upgrade pip
\t$(BIN)/python -m pip install -q -c constraints.txt -e ".[book]" jupyterlab
\ttouch $@

lab: env
\t$(BIN)/jupyter lab exercises

book: env
\tPATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jupyter-book build . -n --keep-going
"""

GITIGNORE = ".venv\n_build/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n"


def student_pyproject(text: str) -> str:
    """The student package's pyproject.toml without the dev extra (and the grader's note) and the pytest settings."""
    text = re.sub(r"^(?:# [^\n]*\n)*dev = \[\n.*?^\]\n", "", text, flags=re.M | re.S)
    text = re.sub(r"^\[tool\.pytest\.ini_options\]\n(?:[^\[].*\n|\n)*", "", text, flags=re.M)
    return text.rstrip() + "\n"


def publish(dest: Path, repo: Path = REPO) -> list[Path]:
    """Write the student tree into ``dest`` (which must be empty or missing); return the files written."""
    dest = Path(dest)
    if dest.exists() and any(dest.iterdir()):
        raise ValueError(f"dest: expected an empty or missing folder, got {dest} (not empty)")
    if dest.resolve() == repo.resolve() or repo.resolve() in dest.resolve().parents:
        raise ValueError(f"dest: must lie outside the course repository {repo}, got {dest}")
    dest.mkdir(parents=True, exist_ok=True)
    for tree in TREES:
        shutil.copytree(repo / tree, dest / tree, ignore=IGNORED)
    for name in FILES:
        if (repo / name).exists():
            shutil.copy2(repo / name, dest / name)
    (dest / "docs").mkdir()
    contract = (repo / "docs" / "contract.md").read_text()
    (dest / "docs" / "contract.md").write_text(INSTRUCTOR_ONLY.sub("", contract))
    shutil.copy2(repo / "docs" / "student" / "README.md", dest / "README.md")
    (dest / "pyproject.toml").write_text(student_pyproject((repo / "pyproject.toml").read_text()))
    (dest / "Makefile").write_text(MAKEFILE)
    (dest / ".gitignore").write_text(GITIGNORE)
    return sorted(p for p in dest.rglob("*") if p.is_file())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, help="an empty or missing folder outside this repository")
    args = parser.parse_args(argv)
    files = publish(args.dest)
    print(f"published {len(files)} files into {args.dest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
