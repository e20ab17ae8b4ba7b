"""Are Moodle's and Canvas's submission zips read with their students and ids, do the grade files they
import come out (and read back), and are late submissions flagged and penalised as configured?

The zips are built from the member names in ``tests/files/platforms/`` (each platform's own file-name
scheme, sources cited there) with the tiny course's notebook as every notebook's content.
"""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import nbformat
import pytest
from conftest import FILES, run_grader

from adl4cv_grading import gradefiles, late, platforms
from adl4cv_grading.report import StudentGrade
from adl4cv_grading.submissions import Submission

from .tiny import FULL, MUL, A, make_course, submission

NOTEBOOKS = ["tiny.ipynb"]


def names(platform: str) -> list[str]:
    text = (FILES / "platforms" / f"{platform}_names.txt").read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line and not line.startswith("#")]


def make_zip(path: Path, platform: str, contents: dict[str, nbformat.NotebookNode] | None = None) -> Path:
    """A platform zip with the fixture's member names; notebooks are ``contents[name]`` or a full answer."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:
        for name in names(platform):
            nb = (contents or {}).get(name, submission())
            zf.writestr(name, json.dumps(nb) if name.endswith(".ipynb") else "<p>not a notebook</p>")
    return path


def test_moodle_names_give_students_and_participant_ids(tmp_path):
    """Are Moodle's folder and prefix forms read, with the participant ids kept and blind marking unique?"""
    subs, roster = platforms.discover_any(make_zip(tmp_path / "m.zip", "moodle"), A, NOTEBOOKS, tmp_path / "state")
    by_id = {s.student: s for s in subs}
    assert set(by_id) == {"Jane_Doe", "Jose_Muller", "Participant-1234569", "Participant-1234570"}
    assert {k: v.platform_id for k, v in roster.items()} == {
        "Jane_Doe": "1234567",
        "Jose_Muller": "1234568",
        "Participant-1234569": "1234569",
        "Participant-1234570": "1234570",
    }
    assert (
        by_id["Jose_Muller"].name == "José Müller"
        and by_id["Jose_Muller"].notebooks["tiny.ipynb"].name == "tiny (1).ipynb"
    )
    assert all(s.problem is None for s in subs) and {e.platform for e in roster.values()} == {"moodle"}


def test_canvas_names_give_user_ids_and_the_late_marker(tmp_path):
    """Are Canvas's user ids, attachment ids and _LATE read, other files ignored?"""
    subs, roster = platforms.discover_any(make_zip(tmp_path / "c.zip", "canvas"), A, NOTEBOOKS, tmp_path / "state")
    assert [s.student for s in subs] == ["smithbob", "wellslane"]
    assert roster["smithbob"].platform_id == "340934" and roster["smithbob"].file_id == "208490284"
    assert not roster["smithbob"].late and roster["wellslane"].late


def test_zip_members_cannot_leave_the_target(tmp_path):
    """Is a member named ../x or /x skipped when a zip is unpacked?"""
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("../escaped.ipynb", "{}")
        zf.writestr("/abs.ipynb", "{}")
        zf.writestr("smithbob_1_2_tiny.ipynb", "{}")
    out = platforms.unpack(archive, tmp_path / "out" / "x")
    assert [p.name for p in out.iterdir()] == ["smithbob_1_2_tiny.ipynb"]
    assert not (tmp_path / "out" / "escaped.ipynb").exists()


def test_other_layouts_still_go_to_discover(tmp_path):
    """Is a flat folder of <student>.ipynb still read as before (no roster)?"""
    (tmp_path / "subs").mkdir()
    (tmp_path / "subs" / "alice.ipynb").write_text(json.dumps(submission()))
    subs, roster = platforms.discover_any(tmp_path / "subs", A, NOTEBOOKS, tmp_path / "state")
    assert [s.student for s in subs] == ["alice"] and roster == {}


def rows() -> list[StudentGrade]:
    return [
        StudentGrade("Jane_Doe", 4.0, 5.0, "graded", "syntax error in cell 2 (add): invalid syntax", 1.0),
        StudentGrade("smithbob", 3.0, 5.0, "graded", "", 1.0, penalty=2.0),
        StudentGrade("alice", 5.0, 5.0, "graded", "", 1.0),
    ]


def test_grade_files_are_written_and_read_back(tmp_path):
    """Do the Moodle worksheet and the Canvas CSV hold each platform's students, grades and ids, and read back?"""
    roster = {
        "Jane_Doe": platforms.Entry("moodle", "1234567", "Jane Doe"),
        "smithbob": platforms.Entry("canvas", "340934", "smithbob"),
    }
    paths = gradefiles.write_grade_files(rows(), roster, tmp_path, A, canvas_column="Tiny (777)", max_grade=10)
    assert [p.name for p in paths] == [f"{A}_moodle_worksheet.csv", f"{A}_canvas_gradebook.csv"]
    assert gradefiles.read_moodle(paths[0]) == {"1234567": 8.0}
    assert gradefiles.read_canvas(paths[1]) == {"340934": {"Tiny (777)": 6.0}}
    with open(paths[0], newline="", encoding="utf-8") as f:
        sheet = list(csv.DictReader(f))
    assert list(sheet[0]) == gradefiles.MOODLE_COLUMNS and sheet[0]["Identifier"] == "Participant 1234567"
    assert sheet[0]["Maximum Grade"] == "10.00" and sheet[0]["Last modified (grade)"]
    assert "syntax error in cell 2" in paths[0].read_text(encoding="utf-8")
    with pytest.raises(ValueError, match="not a Canvas gradebook"):
        gradefiles.read_canvas(paths[0])


def test_penalty_methods():
    """Do none, zero and per_day cost nothing, everything, and a share per started day?"""
    day = late.DAY
    assert late.CoursePenalty(penalty_method="none").late_submission_penalty("s", 5.0, day) is None
    assert late.CoursePenalty(penalty_method="zero").late_submission_penalty("s", 5.0, 60) == 5.0
    per_day = late.CoursePenalty(penalty_method="per_day", percent_per_day=20)
    assert per_day.late_submission_penalty("s", 5.0, 60) == pytest.approx(1.0)
    assert per_day.late_submission_penalty("s", 5.0, 1.5 * day) == pytest.approx(2.0)
    assert per_day.late_submission_penalty("s", 5.0, 9 * day) == pytest.approx(5.0)


def test_lateness_from_timestamp_and_marker(tmp_path):
    """Is a timestamp.txt after the due date late (with seconds), before it not, and Canvas's _LATE late?"""
    path = tmp_path / "carol" / A / "tiny.ipynb"
    path.parent.mkdir(parents=True)
    path.write_text("{}")
    (path.parent / "timestamp.txt").write_text("2026-12-02 01:00:00 UTC")
    sub = Submission("carol", {"tiny.ipynb": path})
    due = late.parse_due("2026-12-01 23:00 UTC")
    found = late.lateness(sub, None, due)
    assert found.late and found.seconds_late == 7200
    assert not late.lateness(sub, None, late.parse_due("2026-12-03T00:00+01:00")).late
    marked = late.lateness(
        Submission("w", {"tiny.ipynb": tmp_path / "x.ipynb"}), platforms.Entry("canvas", "1", "w", True), None
    )
    assert marked.late and marked.seconds_late is None
    with pytest.raises(ValueError, match="--due"):
        late.parse_due("not a date")


def graded(course: Path, source: Path, *args: str):
    proc, found = run_grader(course, A, source, "--jobs", "2", *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return found


@pytest.mark.slow
def test_moodle_zip_graded_end_to_end(tmp_path):
    """Is a Moodle zip graded with the participant ids kept, and its worksheet written with the grades?"""
    course = make_course(tmp_path / "course")
    wrong = submission(mul="def mul(a, b):\n    return a + b")
    archive = make_zip(
        tmp_path / "moodle.zip", "moodle", {"Participant_1234569_assignsubmission_file_/tiny.ipynb": wrong}
    )
    found = graded(course, archive)
    assert set(found) == {"Jane_Doe", "Jose_Muller", "Participant-1234569", "Participant-1234570"}
    assert found["Jose_Muller"]["platform_id"] == "moodle:1234568"
    assert float(found["Participant-1234569"]["score"]) == 2.0 and float(found["Jane_Doe"]["score"]) == FULL
    worksheet = gradefiles.read_moodle(course / f"{A}_moodle_worksheet.csv")
    assert worksheet == {"1234567": FULL, "1234568": FULL, "1234569": 2.0, "1234570": FULL}


@pytest.mark.slow
def test_canvas_zip_late_submission_is_penalised(tmp_path):
    """Is Canvas's _LATE submission flagged and lose the configured share, in the CSV and the Canvas file?"""
    course = make_course(tmp_path / "course")
    archive = make_zip(tmp_path / "canvas.zip", "canvas")
    found = graded(
        course, archive, "--late-penalty", "per_day", "--late-percent-per-day", "20", "--canvas-column", "Tiny (777)"
    )
    assert found["wellslane"]["late"] == "yes (time unknown)" and float(found["wellslane"]["late_penalty"]) == 1.0
    assert float(found["wellslane"]["score"]) == FULL - 1.0 and float(found["smithbob"]["score"]) == FULL
    assert found["smithbob"]["late"] == "" and found["smithbob"]["platform_id"] == "canvas:340934"
    imported = gradefiles.read_canvas(course / f"{A}_canvas_gradebook.csv")
    assert imported == {"340934": {"Tiny (777)": FULL}, "334244": {"Tiny (777)": FULL - 1.0}}
    feedback = (course / "feedback" / "wellslane" / A / "tiny.html").read_text()
    assert "Late submission penalty (Score: -1.0)" in feedback  # nbgrader's feedback template shows it


SYNTAX_ADD = "def add(a, b):\n    return a +"


@pytest.mark.slow
def test_csv_after_two_batches_holds_everyone(tmp_path):
    """After a second batch of two late submissions, does the CSV still hold the first batch, with each
    student's own seconds, test columns in notebook order, a syntax-error reason and the late penalties?"""
    course = make_course(tmp_path / "course")
    first = {
        "alice": submission(),
        "bob": submission(add=SYNTAX_ADD),
        "amy": submission(mul=f"import time\ntime.sleep(4)\n{MUL}"),
    }
    for student, nb in first.items():
        (tmp_path / "one" / f"{student}.ipynb").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "one" / f"{student}.ipynb").write_text(json.dumps(nb))
    graded(course, tmp_path / "one", "--due", "2026-12-01 23:00 UTC", "--jobs", "1")  # chunks: [alice, amy], [bob]
    for student, stamp in (("carol", "2026-12-02 01:00:00 UTC"), ("dave", "2026-12-04 22:00:00 UTC")):
        folder = tmp_path / "two" / student / A
        folder.mkdir(parents=True)
        (folder / "tiny.ipynb").write_text(json.dumps(submission()))
        (folder / "timestamp.txt").write_text(stamp)
    found = graded(course, tmp_path / "two", "--due", "2026-12-01 23:00 UTC", "--late-penalty", "per_day")
    assert set(found) == {"alice", "amy", "bob", "carol", "dave"}
    assert float(found["alice"]["score"]) == FULL and found["alice"]["late"] == ""
    assert float(found["carol"]["late_penalty"]) == pytest.approx(0.5) and float(found["carol"]["score"]) == 4.5
    assert float(found["dave"]["late_penalty"]) == pytest.approx(1.5) and found["dave"]["late"] == "yes"
    assert float(found["bob"]["score"]) < FULL and "syntax error in cell 2 (add)" in found["bob"]["reason"]
    # alice and amy share a chunk: a per-chunk average would give both the same seconds
    assert (
        float(found["amy"]["seconds"]) >= 4.0 and float(found["amy"]["seconds"]) >= float(found["alice"]["seconds"]) + 2
    )
    header = (course / "grades.csv").read_text().splitlines()[0].split(",")
    assert header[-2:] == ["tiny/test_add", "tiny/test_mul"]


def test_an_unpacked_folder_one_level_down_is_found(tmp_path):
    """Is a platform export unpacked into a folder of its own (submissions/<zip name>/...) still read?"""
    platforms.unpack(make_zip(tmp_path / "c.zip", "canvas"), tmp_path / "downloads" / "c")
    subs, roster = platforms.discover_any(tmp_path / "downloads", A, NOTEBOOKS, tmp_path / "state")
    assert [s.student for s in subs] == ["smithbob", "wellslane"] and roster["wellslane"].late
