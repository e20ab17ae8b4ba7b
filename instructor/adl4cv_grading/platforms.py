"""Which student handed in which file, when a course platform packed the submissions?

Moodle's and Canvas's "download all submissions" zips (or the folders they unpack to) name every
file after its student and carry the platform's ids; this module maps each file to its student,
keeps those ids (``Entry``) and hands on ordinary ``Submission`` objects. The name schemes are the
platforms' own code:

* Moodle (``mod/assign/locallib.php``, ``assign::download_submissions``): each file is prefixed
  with ``<Full name>_<participant id>_assignsubmission_file_``, either as a folder holding the
  student's files ("Download submissions in folders", the default) or as a prefix of each file
  name. ``Participant_<id>`` replaces the name under blind marking. The participant id is what
  Moodle's grading worksheet calls ``Participant <id>`` (its ``Identifier`` column).
* Canvas (``lib/content_zipper.rb``, ``get_filename`` and ``add_upload_submission``): each file is
  ``<sortable name, lower case, non-word characters removed>[_LATE]_<user id>_<file id>_<file name>``;
  ``_LATE`` marks a submission Canvas counts as late.

A zip is unpacked (member names checked: nothing outside the target folder) into the course's state
folder; the submitted zip itself is only read. Other layouts go to ``submissions.discover``.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from dataclasses import asdict, dataclass
from pathlib import Path

from adl4cv_grading.submissions import Submission, discover, read_problem, student_id

MOODLE = re.compile(r"^(?P<name>.+?)_(?P<id>\d+)_assignsubmission_file_(?P<file>.*)$")
CANVAS = re.compile(r"^(?P<name>.+?)(?P<late>_LATE)?_(?P<id>\d+)_(?P<file_id>\d+)_(?P<file>.+)$")
MAX_MEMBER_MB = 50  # a notebook is a few MB at most; a larger member is skipped, not unpacked


@dataclass
class Entry:
    """A student as the platform knows them: its ids, the name it gave, whether it said "late"."""

    platform: str  # "moodle" or "canvas"
    platform_id: str  # Moodle's participant id, Canvas's user id
    name: str  # the name in the file name (Moodle: the full name; Canvas: the sortable name, squashed)
    late: bool = False  # Canvas's _LATE marker (Moodle's file names do not say)
    file_id: str = ""  # Canvas's attachment id


def _parse(path_name: str) -> tuple[Entry, str] | None:
    """(Entry, the student's own file name) for a top-level name in a platform's zip, or None."""
    if m := MOODLE.match(path_name):
        return Entry("moodle", m["id"], m["name"].replace("_", " ")), m["file"]
    if m := CANVAS.match(path_name):
        return Entry("canvas", m["id"], m["name"], bool(m["late"]), m["file_id"]), m["file"]
    return None


def _files(folder: Path) -> list[tuple[Entry, str, Path]]:
    """Every notebook in a platform folder as (Entry, its own file name, path)."""
    found = []
    for top in sorted(p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))):
        parsed = _parse(top.name)
        if parsed is None:
            continue
        entry, own = parsed
        if top.is_dir():  # Moodle's folder per student
            found += [(entry, p.name, p) for p in sorted(top.rglob("*.ipynb")) if p.is_file()]
        elif top.suffix == ".ipynb":
            found.append((entry, own, top))
    return found


def platform_of(folder: Path) -> str | None:
    """'moodle' or 'canvas' when the folder's names follow that platform's scheme, else None."""
    kinds = {entry.platform for entry, _, _ in _files(folder)}
    if len(kinds) > 1:
        raise ValueError(f"submissions: {folder} mixes Moodle and Canvas file names; grade each export on its own")
    return kinds.pop() if kinds else None


def unpack(archive: Path, target: Path) -> Path:
    """Unpack a platform's zip into ``target`` (emptied first); refuse members that leave it."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts
            if info.is_dir() or not parts or info.filename.startswith("/") or ".." in parts:
                continue
            if info.file_size > MAX_MEMBER_MB * 2**20:
                continue
            out = target.joinpath(*parts)
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
    return target


def _pick(files: list[tuple[str, Path]], notebook_names: list[str]) -> tuple[dict[str, Path], str | None]:
    """Which of a student's files is which notebook of the assignment; (mapping, problem or None)."""
    by_name = {own: path for own, path in files}
    if len(notebook_names) == 1:
        name = notebook_names[0]
        if name in by_name:
            return {name: by_name[name]}, None
        if len(files) == 1:  # one notebook under the student's own file name ("optimizers (1).ipynb")
            return {name: files[0][1]}, None
        return {}, f"{len(files)} notebooks handed in, none named {name}: {', '.join(sorted(by_name))}"
    found = {n: by_name[n] for n in notebook_names if n in by_name}
    missing = [n for n in notebook_names if n not in by_name]
    return found, f"missing notebook(s): {', '.join(missing)}" if missing else None


def _submissions(folder: Path, notebook_names: list[str]) -> tuple[list[Submission], dict[str, Entry]]:
    """One Submission per platform id, its student id made from the name (the id added on a clash)."""
    grouped: dict[tuple[str, str], tuple[Entry, list[tuple[str, Path]]]] = {}
    for entry, own, path in _files(folder):
        key = (entry.platform, entry.platform_id)
        old = grouped.setdefault(key, (entry, []))
        old[0].late |= entry.late
        old[1].append((own, path))
    ids = [student_id(entry.name) for entry, _ in grouped.values()]
    subs, roster = [], {}
    for (entry, files), sid in zip(grouped.values(), ids):
        if ids.count(sid) > 1:  # two students of one name, or Moodle's blind marking ("Participant")
            sid = f"{sid}-{entry.platform_id}"
        notebooks, problem = _pick(files, notebook_names)
        sub = Submission(sid, notebooks, problem, name=entry.name)
        for path in notebooks.values():
            sub.problem = sub.problem or read_problem(path)
        subs.append(sub)
        roster[sid] = entry
    return sorted(subs, key=lambda s: s.student), roster


def discover_any(
    source: Path, assignment: str, notebook_names: list[str], state: Path
) -> tuple[list[Submission], dict[str, Entry]]:
    """Submissions from a platform's zip or folder, or from the flat and nbgrader layouts.

    ``state`` is the assignment's state folder (a zip is unpacked under it). The roster maps student
    ids to their platform entries (empty for the other layouts).
    """
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        source = unpack(source, state / "unpacked" / source.stem)
    elif source.is_file():
        raise ValueError(f"submissions: {source} is neither a folder nor a zip file")
    if not source.is_dir():
        raise ValueError(f"submissions: {source} is not a folder")
    if not notebook_names:
        raise ValueError(f"assignment: {assignment!r} has no notebooks")
    inner = [p for p in source.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    if platform_of(source) is None and len(inner) == 1 and inner[0].is_dir() and platform_of(inner[0]):
        source = inner[0]  # the zip unpacked into a folder of its own name
    if platform_of(source) is None:
        return discover(source, assignment, notebook_names), {}
    return _submissions(source, notebook_names)


def roster_file(state: Path) -> Path:
    return state / "platform.json"


def remember(state: Path, roster: dict[str, Entry]) -> dict[str, Entry]:
    """Merge this batch's platform entries into the assignment's roster on disk; return all of them."""
    path = roster_file(state)
    known = load_roster(state)
    known.update(roster)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({k: asdict(v) for k, v in sorted(known.items())}, indent=1))
    return known


def load_roster(state: Path) -> dict[str, Entry]:
    """The platform entries of every student graded so far (an unreadable file counts as none)."""
    try:
        return {k: Entry(**v) for k, v in json.loads(roster_file(state).read_text()).items()}
    except (OSError, ValueError, TypeError):
        return {}
