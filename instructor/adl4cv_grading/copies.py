"""Is this code a copy of a library's own source? Plagiarism flagged for review, never a lost point.

A notebook may paste torchvision's ``resnet.py`` into a cell, write it out as a file (``%%writefile``, a
string written with ``open``) or copy the installed file at run time and import it. Its values are the
copied code's and earn their points (issue 19: plagiarism is not delegation); the instructor is told.
Two sources of text, both judged here, in the judge's process:

* the notebook's cells and the long string constants in them (``texts_of_cells``);
* the modules the grading kernel compiled from files outside the libraries (the guard records them in
  its signed evidence, hook.py: a copy made at run time has no text in the notebook).

A text is a copy of a library file when at least ``MIN_LINES`` of its distinct substantive lines, and
at least ``SHARE`` of them, are lines of that file. Candidate files are those that define the same
function or class names, found through one index of the installed libraries' definitions (built once
per process, about 2 s for torch, torchvision, numpy and scipy).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path

LIBRARIES = ("torch", "torchvision", "numpy", "scipy")
MIN_LINES = 12  # matched distinct lines (a copied class of torchvision's has 20 to 40)
SHARE = 0.5  # of the text's distinct substantive lines
COMMON = 50  # a name defined in more library files than this points to none of them
MIN_LENGTH = 16  # shorter lines (`return x`, `else:`, `)`) say nothing about where code comes from
_DEF = re.compile(r"^[ \t]*(?:async[ \t]+)?(?:def|class)[ \t]+(\w+)", re.M)


@dataclass(frozen=True)
class Copy:
    library_file: str  # e.g. "torchvision/models/resnet.py"
    matched: int
    lines: int

    @property
    def why(self) -> str:
        return f"a copy of the library's source: {self.matched} of {self.lines} distinct lines match"


def _normal(line: str) -> str | None:
    """One line as compared: blanks collapsed; comments, blank and short lines ignored."""
    text = " ".join(line.split())
    return text if len(text) >= MIN_LENGTH and not text.startswith("#") else None


def substantive_lines(text: str) -> frozenset[str]:
    return frozenset(n for n in map(_normal, text.splitlines()) if n is not None)


@functools.lru_cache(maxsize=1)
def _library_definitions() -> tuple[dict[str, list[Path]], dict[Path, str]]:
    """name -> the library files defining it, and each file's name as shown (``torchvision/models/resnet.py``)."""
    index: dict[str, list[Path]] = {}
    shown: dict[Path, str] = {}
    for library in LIBRARIES:
        spec = importlib.util.find_spec(library)
        if spec is None or not spec.origin:
            continue
        root = Path(spec.origin).parent
        for path in sorted(root.rglob("*.py")):
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except OSError:
                continue
            shown[path] = f"{library}/{path.relative_to(root).as_posix()}"
            for name in set(_DEF.findall(text)):
                index.setdefault(name, []).append(path)
    return index, shown


@functools.lru_cache(maxsize=64)
def _file_lines(path: Path) -> frozenset[str]:
    return substantive_lines(path.read_text(encoding="utf-8", errors="replace"))


def copied_from(text: str) -> Copy | None:
    """The library file ``text`` is a copy of, or None."""
    mine = substantive_lines(text)
    names = set(_DEF.findall(text))
    if len(mine) < MIN_LINES or not names:
        return None
    index, shown = _library_definitions()
    votes: dict[Path, int] = {}
    for name in names:
        files = index.get(name, ())
        if len(files) <= COMMON:  # `forward` or `__init__` is defined in thousands of files: it decides nothing
            for path in files:
                votes[path] = votes.get(path, 0) + 1
    best: Copy | None = None
    for path in sorted(votes, key=lambda p: (-votes[p], str(p)))[:8]:
        matched = len(mine & _file_lines(path))
        if matched >= MIN_LINES and matched >= SHARE * len(mine) and (best is None or matched > best.matched):
            best = Copy(shown[path], matched, len(mine))
    return best


def texts_of_cell(source: str) -> list[tuple[str, int]]:
    """The texts of one cell that may be code: the cell itself and its long string constants, with their lines."""
    found = [(source, 1)]
    try:
        tree = ast.parse(source)
    except SyntaxError:  # a %%writefile cell's body, or IPython syntax: the cell's text is what counts
        return found
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.count("\n") >= MIN_LINES:
            found.append((node.value, node.lineno))
    return found


@functools.lru_cache(maxsize=256)
def _cached(text: str) -> Copy | None:
    return copied_from(text)


def compiled_copies(modules: list) -> list[str]:
    """Review notes for the modules the guard saw compiled (``[filename, source]`` pairs from its evidence)."""
    notes = []
    for entry in modules or ():
        if not (isinstance(entry, (list, tuple)) and len(entry) == 2 and all(isinstance(e, str) for e in entry)):
            continue
        found = _cached(entry[1])
        if found is not None:
            notes.append(f"`{Path(entry[0]).name}`, imported by the notebook (of `{found.library_file}`: {found.why})")
    return notes
