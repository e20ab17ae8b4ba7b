"""Does adl4cv-grade refuse to grade unsandboxed, regrade when grading code or limits change, and finish
every batch (full CSV and feedback, exit 1) when the grader itself fails for some students?"""

from __future__ import annotations

import csv

import pytest

from adl4cv_grading import autograde as autograde_module
from adl4cv_grading import cli, sandbox
from adl4cv_grading.limits import Limits

from .tiny import FULL, A, make_course, submission, write


def test_refuses_without_sandbox_unless_isolation_off(tmp_path, monkeypatch, capsys):
    """Without a working sandbox, does the command refuse (exit 2, saying why and how to override)?"""
    course = make_course(tmp_path / "course")
    write(tmp_path / "subs" / "alice.ipynb", submission())
    monkeypatch.setattr(sandbox, "why_unavailable", lambda: "bwrap is not installed")
    monkeypatch.setattr(sandbox, "available", lambda: False)
    assert cli.main([A, str(tmp_path / "subs"), "--course-dir", str(course), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "bwrap is not installed" in err and "--isolation off" in err
    assert not (course / "autograded").exists()


def test_fingerprint_covers_grading_code_and_limits(tmp_path, monkeypatch):
    """Does the regrade fingerprint change with the checks/grading code, a judge package and the limits?"""
    course = make_course(tmp_path / "course")
    base = cli.source_fingerprint(course, A, Limits())
    assert cli.source_fingerprint(course, A, Limits()) == base
    assert cli.source_fingerprint(course, A, Limits(cell_seconds=7)) != base
    assert cli.source_fingerprint(course, A, Limits(threads=4)) == base  # follows --jobs, decides nothing
    assert any(p.parent.name == "checks" for p in cli.grading_code())
    assert any(p.name == "autograde.py" for p in cli.grading_code())
    fake = tmp_path / "adl4cv_grading" / "judge.py"
    write(fake, "JUDGE = 1")
    monkeypatch.setattr(cli, "grading_code", lambda: [fake])
    changed = cli.source_fingerprint(course, A, Limits())
    write(fake, "JUDGE = 2")
    assert changed != base and cli.source_fingerprint(course, A, Limits()) != changed


def test_bad_arguments_exit_2(tmp_path, capsys):
    """Are a folder without nbgrader_config.py and an unknown assignment refused with exit 2?"""
    assert cli.main([A, str(tmp_path), "--course-dir", str(tmp_path)]) == 2
    course = make_course(tmp_path / "course")
    assert cli.main(["99_nothing", str(tmp_path), "--course-dir", str(course)]) == 2
    assert "unknown assignment" in capsys.readouterr().err


@pytest.mark.slow
def test_internal_errors_still_give_a_full_report(tmp_path, monkeypatch, capsys):
    """When one chunk and one store() raise, do all students get a CSV row and feedback, and the exit code 1?"""
    course = make_course(tmp_path / "course")
    for student in ("alice", "bob", "carl", "dave"):
        write(tmp_path / "subs" / f"{student}.ipynb", submission())
    worker, store = autograde_module._worker, autograde_module.store

    def failing_worker(chunk, batch):
        if any(s.student == "carl" for s in chunk):
            raise RuntimeError("injected failure in a chunk")
        return worker(chunk, batch)

    def failing_store(outcome, autograded, sub, assignment, course_dir):
        if sub.student == "bob":
            raise RuntimeError("database is locked")
        return store(outcome, autograded, sub, assignment, course_dir)

    monkeypatch.setattr(autograde_module, "_worker", failing_worker)
    monkeypatch.setattr(autograde_module, "store", failing_store)
    csv_path = tmp_path / "grades.csv"
    args = [A, str(tmp_path / "subs"), "--course-dir", str(course), "--jobs", "2", "--quiet", "--csv", str(csv_path)]
    if not sandbox.available():
        args += ["--isolation", "off"]
    assert cli.main(args) == 1
    err = capsys.readouterr().err
    assert "internal errors while grading 2 submission(s)" in err
    with open(csv_path) as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"alice", "bob", "carl", "dave"}
    for student in ("alice", "dave"):
        assert float(rows[student]["score"]) == FULL and rows[student]["status"] == "graded"
        assert (course / "feedback" / student / A / "tiny.html").exists()
    log = autograde_module.error_log(course, A)
    for student, words in (("bob", "database is locked"), ("carl", "injected failure")):
        assert rows[student]["status"] == "not graded" and rows[student]["reason"].startswith("internal error")
        assert str(log) in rows[student]["reason"] and words in log.read_text()
        assert "internal error" in (course / "feedback" / student / A / "not_graded.html").read_text()
