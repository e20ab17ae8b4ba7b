"""Does the report keep one row per student with the original name, and a readable summary table?"""

from __future__ import annotations

import csv

from adl4cv_grading.report import StudentGrade, table, write_csv


def rows() -> list[StudentGrade]:
    return [
        StudentGrade("student-1a2b3c4d", 5.0, 5.0, "graded", "", 1.25, {"tiny/test_add": 2.0}, name="山田太郎"),
        StudentGrade("bob", 2.0, 5.0, "partly graded", "time limit: cell 3", 2.0, {"tiny/test_mul": 0.0}),
    ]


def test_csv_keeps_the_original_name(tmp_path):
    """Does the CSV have the id, the original name (or the id), the status and a column per test?"""
    path = write_csv(rows(), tmp_path / "out" / "grades.csv")
    with open(path, encoding="utf-8") as f:
        lines = list(csv.DictReader(f))
    assert [r["student"] for r in lines] == ["student-1a2b3c4d", "bob"]
    assert [r["name"] for r in lines] == ["山田太郎", "bob"]
    assert lines[0]["tiny/test_add"] == "2" and lines[0]["tiny/test_mul"] == "0"
    assert lines[1]["status"] == "partly graded" and lines[1]["reason"] == "time limit: cell 3"


def test_table_counts_problems():
    """Does the table list every student and count those not (fully) graded?"""
    text = table(rows())
    assert "student-1a2b3c4d" in text and "bob" in text
    assert text.splitlines()[-1] == "2 submissions, mean score 3.50/5, 1 with problems"
