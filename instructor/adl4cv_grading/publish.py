"""Write the student-facing repository: ``make publish DEST=...`` or ``python -m adl4cv_grading.publish DEST``.

The course repository is the instructor's: it holds the solutions, the hidden tests, the judge and
its references. Students get a separate tree (the repository that ``_config.yml``'s
``repository.url`` names, which the Colab buttons and install cells point at) with only:

* the book (``book/``, ``_config.yml``, ``_toc.yml``) and the release notebooks (``exercises/``);
* the student package ``adl4cv_utils`` (the grader, ``instructor/adl4cv_grading``, is another distribution);
* ``docs/contract.md``, the student contract: ``docs/student/contract.md`` with the tables it names
  taken from the course's ``docs/contract.md`` (without its parts between ``<!-- instructor -->`` and
  ``<!-- /instructor -->``, its "checked by" column and any row naming the grader's own files);
* the vendored MathJax (``_vendor/mathjax``, which ``_config.yml`` serves so that math renders offline)
  when it is here, and a Makefile whose ``make book`` fetches it from npm when it is not;
* the student package's ``pyproject.toml`` without the dev extra and the test and lint settings, ``constraints.txt``,
  a student README, a small Makefile, LICENSE and ``.gitignore``.

It needs only Python's standard library (``make publish`` runs it with the system's ``python3``, before
any environment exists): keep its imports so.

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
MATHJAX = Path("_vendor") / "mathjax"
TREES = ("book", "exercises", "adl4cv_utils")
FILES = ("_config.yml", "_toc.yml", "constraints.txt", "LICENSE")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "_build", ".DS_Store")
INSTRUCTOR_ONLY = re.compile(r"<!-- instructor -->.*?<!-- /instructor -->\n?", re.S)
STUDENT_DOCS = Path("docs") / "student"
# A line of docs/student/contract.md replaced by the first table under the course contract's heading.
TABLE = re.compile(r"^<!-- table: (.+?) -->$", re.M)
# Words that point at the grader's own files: a table row holding one is left out of the student contract.
INSTRUCTOR_WORDS = re.compile(r"adl4cv_grading|instructor/|judge|reference\.py|solutions/|tests/")
CELL = re.compile(r"(?<!\\)\|")

MAKEFILE = """\
# make env   -- create .venv with the course package and the tested versions (constraints.txt)
# make lab   -- open JupyterLab on the exercises
# make book  -- build the website into _build/html (MathJax is served from _vendor/, fetched from npm if missing)

PYTHON ?= python3
BIN := .venv/bin
export OMP_NUM_THREADS ?= 1

.PHONY: env lab book mathjax

env: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml constraints.txt
\ttest -x $(BIN)/python || $(PYTHON) -m venv .venv
\t$(BIN)/python -m pip install -q --upgrade pip
\t$(BIN)/python -m pip install -q -c constraints.txt -e ".[book]" jupyterlab
\ttouch $@

{mathjax}
lab: env
\t$(BIN)/jupyter lab exercises

book: env mathjax
\tPATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/jupyter-book build . -n --keep-going
"""

GITIGNORE = ".venv\n_build/\n_vendor/\n__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n"


def student_pyproject(text: str) -> str:
    """The student package's pyproject.toml without the dev extra (and the grader's note) and the pytest settings."""
    text = re.sub(r"^(?:# [^\n]*\n)*dev = \[\n.*?^\]\n", "", text, flags=re.M | re.S)
    text = re.sub(r"^\[tool\.pytest\.ini_options\]\n(?:[^\[].*\n|\n)*", "", text, flags=re.M)
    return text.rstrip() + "\n"


def mathjax_rules(makefile: str) -> str:
    """The course Makefile's MathJax variables, ``mathjax`` target and the rule that fetches it from npm."""
    lines = [line for line in makefile.splitlines() if line.startswith(("MATHJAX_VERSION :=", "MATHJAX :="))]
    rule = re.search(r"^# MathJax [^\n]*\n\$\(MATHJAX\):\n(?:\t[^\n]*\n)+", makefile, flags=re.M)
    if len(lines) != 2 or rule is None:
        raise ValueError("makefile: the course Makefile has no MATHJAX_VERSION, MATHJAX and $(MATHJAX) rule")
    return "\n".join(lines) + "\nmathjax: $(MATHJAX)\n\n" + rule.group(0)


def _first_table(contract: str, heading: str) -> list[str]:
    match = re.search(rf"^#+ {re.escape(heading)}[^\n]*\n", contract, flags=re.M)
    if match is None:
        raise ValueError(f"contract: docs/contract.md has no heading starting with {heading!r}")
    table = re.search(r"^\|.*\n(?:\|.*\n?)*", contract[match.end() :], flags=re.M)
    if table is None:
        raise ValueError(f"contract: no table under the heading {heading!r} of docs/contract.md")
    return table.group(0).rstrip("\n").split("\n")


def student_table(rows: list[str]) -> str:
    """A contract table without its "checked by" column and without rows that name the grader's files."""
    cells = [[c.strip() for c in CELL.split(row.strip())[1:-1]] for row in rows]
    keep = [i for i, name in enumerate(cells[0]) if name.lower() != "checked by"]
    out = []
    for row in cells:
        text = "| " + " | ".join(row[i] for i in keep) + " |"
        if not INSTRUCTOR_WORDS.search(text):
            out.append(text)
    return "\n".join(out)


def student_contract(template: str, contract: str) -> str:
    """``docs/student/contract.md`` with each ``<!-- table: heading -->`` line replaced by that table."""
    contract = INSTRUCTOR_ONLY.sub("", contract)
    return TABLE.sub(lambda m: student_table(_first_table(contract, m.group(1))), template)


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
    if (repo / MATHJAX).is_dir():
        shutil.copytree(repo / MATHJAX, dest / MATHJAX)
    (dest / "docs").mkdir()
    contract = (repo / "docs" / "contract.md").read_text()
    template = (repo / STUDENT_DOCS / "contract.md").read_text()
    (dest / "docs" / "contract.md").write_text(student_contract(template, contract))
    shutil.copy2(repo / STUDENT_DOCS / "README.md", dest / "README.md")
    (dest / "pyproject.toml").write_text(student_pyproject((repo / "pyproject.toml").read_text()))
    (dest / "Makefile").write_text(MAKEFILE.format(mathjax=mathjax_rules((repo / "Makefile").read_text())))
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
