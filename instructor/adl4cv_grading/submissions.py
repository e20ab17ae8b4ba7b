"""Which submissions are in a folder, and which of them can be graded at all?

Two layouts are accepted:

* nbgrader's ``<folder>/<student>/<assignment>/<notebook>.ipynb`` (the folder may be a course's
  ``submitted/`` itself), and
* a flat folder of ``<student>.ipynb`` files as a course platform exports them (only for
  assignments with a single notebook; the file is renamed to the assignment's notebook name).

Any file or folder name is a student: the name is made a safe nbgrader id (accents transliterated,
other characters replaced; a name with no ASCII letter or digit becomes ``student-<hash>``, stable
across runs), and two names that map to one id are both graded, the later one (in sorted order)
under ``<id>-<hash>``, with a note. ``Submission.name`` keeps the original name for the report.

The submitted files are only ever read.

A notebook that is not valid JSON / nbformat is not passed on to nbgrader: it is reported with the
reason and scores zero, and the rest of the batch goes on.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
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
    name: str = ""  # the file or folder name it came from (the student id is made from it)
    note: str = ""  # something the report must say about it (e.g. the id was changed to be unique)

    def fingerprint(self) -> str:
        """A hash of the submitted files, used to skip regrading unchanged submissions."""
        digest = hashlib.sha256()
        for name, path in sorted(self.notebooks.items()):
            digest.update(name.encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()


def _short_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogateescape")).hexdigest()[:8]


def student_id(raw: str) -> str:
    """A safe nbgrader student id from any file or folder name.

    'Jane Doe (2)' -> 'Jane_Doe_2', 'José' -> 'Jose', '山田太郎' -> 'student-<8 hex digits>' (stable).
    """
    if not isinstance(raw, str) or not raw:
        raise ValueError(f"student: expected a non-empty name, got {raw!r}")
    ascii_name = unicodedata.normalize("NFKD", raw).encode("ascii", "ignore").decode()
    cleaned = _STUDENT_ID.sub("_", ascii_name).strip("_.-@")
    if not re.search(r"[A-Za-z0-9]", cleaned):
        return f"student-{_short_hash(raw)}"
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
    named: list[Submission] = []  # one per file or folder, student id still to be made unique
    flat = sorted(p for p in folder.glob("*.ipynb") if p.is_file())
    if flat:
        if len(notebook_names) != 1:
            raise ValueError(
                f"submissions: a flat folder of <student>.ipynb files works only for assignments "
                f"with one notebook; {assignment} has {len(notebook_names)}"
            )
        named += [Submission("", {notebook_names[0]: path}, name=path.stem) for path in flat]
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        assignment_dir = student_dir / assignment
        if not assignment_dir.is_dir():
            continue
        files = {p.name: p for p in assignment_dir.glob("*.ipynb")}
        sub = Submission("", {n: files[n] for n in notebook_names if n in files}, name=student_dir.name)
        missing = [n for n in notebook_names if n not in files]
        if missing:
            sub.problem = f"missing notebook(s): {', '.join(missing)}"
        named.append(sub)
    found = _unique_ids(named)
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


def _unique_ids(subs: list[Submission]) -> dict[str, Submission]:
    """Give every submission its own id: on a clash, the later name (sorted) gets ``<id>-<hash>``."""
    found: dict[str, Submission] = {}
    for sub in sorted(subs, key=lambda s: (student_id(s.name) != s.name, s.name)):  # exact ids first
        sid = student_id(sub.name)
        if sid in found:
            first = found[sid].name
            sid = f"{sid}-{_short_hash(sub.name)}"
            while sid in found:  # (a name that already looks like an id-plus-hash)
                sid = f"{sid}-{_short_hash(sid)}"
            sub.note = f"the name {sub.name!r} gives the same student id as {first!r}; graded as {sid!r}"
        sub.student = sid
        found[sid] = sub
    return found
