"""Which submissions are in a folder, and which of them can be graded at all?

Two layouts are accepted:

* nbgrader's ``<folder>/<student>/<assignment>/<notebook>.ipynb`` (the folder may be a course's
  ``submitted/`` itself), and
* a flat folder of ``<student>.ipynb`` files as a course platform exports them (only for
  assignments with a single notebook; the file is renamed to the assignment's notebook name).

A notebook that is not valid JSON / nbformat is not passed on to nbgrader: it is reported with the
reason and scores zero, and the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

_STUDENT_ID = re.compile(r"[^A-Za-z0-9_.@-]+")


@dataclass
class Submission:
    """One student's files for one assignment, and why it cannot be graded (if it cannot)."""

    student: str
    notebooks: dict[str, Path] = field(default_factory=dict)  # assignment notebook name -> file
    problem: str | None = None

    def fingerprint(self) -> str:
        """A hash of the submitted files, used to skip regrading unchanged submissions."""
        digest = hashlib.sha256()
        for name, path in sorted(self.notebooks.items()):
            digest.update(name.encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()


def student_id(raw: str) -> str:
    """A safe nbgrader student id from a file or folder name ('Jane Doe (2).ipynb' -> 'Jane_Doe_2')."""
    cleaned = _STUDENT_ID.sub("_", raw).strip("_.")
    if not cleaned:
        raise ValueError(f"student: cannot make a student id from {raw!r}")
    return cleaned


def read_problem(path: Path) -> str | None:
    """Why the notebook at ``path`` cannot be graded, or None if it reads as a valid notebook."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as error:  # noqa: BLE001 - any unreadable file is a reason, not a crash
        return f"not a readable notebook ({type(error).__name__}: {str(error)[:200]})"
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        return f"invalid notebook format: {str(error).splitlines()[0][:200]}"
    return None


def discover(folder: Path, assignment: str, notebook_names: list[str]) -> list[Submission]:
    """Find the submissions for ``assignment`` in ``folder`` (either layout), sorted by student."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"submissions: {folder} is not a folder")
    if not notebook_names:
        raise ValueError(f"assignment: {assignment!r} has no notebooks")
    found: dict[str, Submission] = {}
    flat = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if flat:
        if len(notebook_names) != 1:
            raise ValueError(
                f"submissions: a flat folder of <student>.ipynb files works only for assignments "
                f"with one notebook; {assignment} has {len(notebook_names)}"
            )
        for path in flat:
            sid = student_id(path.stem)
            if sid in found:
                found[sid].problem = f"two files map to the student id {sid!r}; rename one"
                continue
            found[sid] = Submission(sid, {notebook_names[0]: path})
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        assignment_dir = student_dir / assignment
        if not assignment_dir.is_dir():
            continue
        sid = student_id(student_dir.name)
        files = {p.name: p for p in assignment_dir.glob("*.ipynb")}
        sub = Submission(sid, {n: files[n] for n in notebook_names if n in files})
        missing = [n for n in notebook_names if n not in files]
        if missing:
            sub.problem = f"missing notebook(s): {', '.join(missing)}"
        found.setdefault(sid, sub)
    for sub in found.values():
        if sub.problem is None:
            for path in sub.notebooks.values():
                sub.problem = read_problem(path)
                if sub.problem:
                    break
    if not found:
        raise ValueError(
            f"submissions: no notebooks for {assignment!r} in {folder} (expected <student>.ipynb "
            f"files or <student>/{assignment}/<notebook>.ipynb)"
        )
    return [found[k] for k in sorted(found)]
