"""Runs survive bad input: one Moodle download full of awkward uploads, ingested and graded as
``python -m autograder grade`` does, in ONE sandboxed run (two workers), ends with one row per
student and assignment, each saying what happened, and the honest students keep exactly their
points.

In the zip: a sub-folder inside one student's upload named like another student's folder, two
notebooks of one assignment from one student, a damaged member, a lone surrogate, a cell that
would break the set-up, and a display name that a spreadsheet would run as a formula.
"""
import csv
import json
import zipfile

import nbformat
import pytest

from autograder.course import grade_ids
from autograder.examples import answered, load_pair
from autograder.examples import test_points as points_of
from autograder.executors import LocalExecutor
from autograder.grade import Grader
from autograder.ingest import find_submissions, latest_per_assignment
from autograder.report import write_csv

A = "01_backprop"
SOLUTION, STUDENT = load_pair(A)
POINTS = points_of(SOLUTION)
TOTAL = sum(POINTS.values())
EVEN = sorted(POINTS)[::2]


def moodle(name, student_id, path=f"{A}.ipynb"):
    return f"{name}_{student_id}_assignsubmission_file_/{path}"


def with_cell_before_imports(notebook, source):
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    imports = next(i for i, c in enumerate(copy.cells) if c.metadata.get("nbgrader", {}).get("grade_id", "")
                   .endswith("-imports"))
    copy.cells.insert(imports, nbformat.v4.new_code_cell(source))
    return copy


def with_lone_surrogate(notebook):
    """Notebook JSON whose markdown spells U+D800 with a JSON escape: valid JSON, not encodable text."""
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    copy.cells.insert(1, nbformat.v4.new_markdown_cell("SURROGATE"))
    return nbformat.writes(copy).replace("SURROGATE", "\\ud800")


def damaged(data):
    """A zip member whose stored bytes are corrupted (its CRC no longer matches)."""
    middle = len(data) // 2
    return data[:middle] + bytes([data[middle] ^ 0xFF]) + data[middle + 1:]


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_copy):
    root = tmp_path_factory.mktemp("bad-input")
    archive = root / "moodle.zip"
    members = [  # (member path, text, date: the LMS's upload time)
        (moodle("Ada Lovelace", 101), nbformat.writes(answered(STUDENT, SOLUTION)), (2026, 1, 2, 0, 0, 0)),
        # inside Ada's upload: a folder named like Alan's. It is Ada's (older) file, not Alan's.
        (moodle("Ada Lovelace", 101, f"{moodle('Alan Turing', 102)}"), nbformat.writes(STUDENT), (2026, 1, 1, 0, 0, 0)),
        (moodle("Alan Turing", 102), nbformat.writes(answered(STUDENT, SOLUTION, EVEN)), (2026, 1, 1, 0, 0, 0)),
        # two notebooks of one assignment: the later upload is graded, the other named
        (moodle("Grace Hopper", 103), nbformat.writes(STUDENT), (2026, 1, 1, 0, 0, 0)),
        (moodle("Grace Hopper", 103, "final/my backprop.ipynb"), nbformat.writes(answered(STUDENT, SOLUTION)),
         (2026, 1, 3, 0, 0, 0)),
        (moodle("Dan Damaged", 104), "DAMAGED", (2026, 1, 1, 0, 0, 0)),
        (moodle("Sue Rogate", 105), with_lone_surrogate(answered(STUDENT, SOLUTION)), (2026, 1, 1, 0, 0, 0)),
        (moodle("Ivy Imports", 106), nbformat.writes(with_cell_before_imports(
            answered(STUDENT, SOLUTION), "import sys\nsys.modules['matplotlib.pyplot'] = None")), (2026, 1, 1, 0, 0, 0)),
        (moodle("=HYPERLINK(0)", 107), nbformat.writes(STUDENT), (2026, 1, 1, 0, 0, 0)),
    ]
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zipped:
        for path, text, date in members:
            zipped.writestr(zipfile.ZipInfo(path, date), "x" * 4096 if text == "DAMAGED" else text)
    raw = archive.read_bytes()
    start = raw.index(b"x" * 4096)
    archive.write_bytes(raw[:start] + damaged(raw[start:start + 4096]) + raw[start + 4096:])

    executor = LocalExecutor(2)
    try:
        grader = Grader(course_copy([A], root / "course"), [A], executor=executor, feedback_dir=root / "feedback",
                        journal_dir=root / "journal")
        submissions = latest_per_assignment(find_submissions(archive, root / "incoming"), grade_ids([A]))
        results = grader.grade_many(submissions)  # as `python -m autograder grade` does
    finally:
        executor.close()
    return {"results": results, "rows": {r.student: r for r in results}, "csv": write_csv(results, root / "grades.csv")}


pytestmark = [pytest.mark.notebook, pytest.mark.sandbox]


def test_one_row_per_student_and_assignment(graded):
    assert sorted((r.student, r.assignment) for r in graded["results"]) == [(str(s), A) for s in range(101, 108)]


def test_a_folder_inside_an_upload_never_names_the_student(graded):
    ada, alan = graded["rows"]["101"], graded["rows"]["102"]
    assert (ada.status, ada.score, ada.name) == ("graded", TOTAL, "Ada Lovelace"), ada
    assert "latest of 2 uploads" in ada.reason and "Alan Turing_102_assignsubmission_file_" in ada.reason
    assert (alan.status, alan.score, alan.name) == ("graded", sum(POINTS[t] for t in EVEN), "Alan Turing"), alan


def test_the_latest_notebook_of_an_assignment_is_graded_and_the_others_named(graded):
    grace = graded["rows"]["103"]
    assert (grace.status, grace.score) == ("graded", TOTAL), grace
    assert f"not graded: {A}.ipynb" in grace.reason, grace


def test_a_damaged_zip_member_is_its_own_rejection(graded):
    dan = graded["rows"]["104"]
    assert (dan.status, dan.score, dan.max_score) == ("rejected", 0, TOTAL), dan
    assert "damaged" in dan.reason and "CRC" in dan.reason, dan


def test_text_that_cannot_be_encoded_is_rejected(graded):
    sue = graded["rows"]["105"]
    assert (sue.status, sue.score) == ("rejected", 0), sue
    assert "lone surrogate" in sue.reason, sue


def test_a_cell_that_would_break_the_set_up_never_runs(graded):
    """Sabotaging the imports (``sys.modules[...] = None``) is refused by the answer policy, so the
    set-up runs as released; a set-up cell that raises anyway is an error (tests in units and
    in test_grading: calibration)."""
    ivy = graded["rows"]["106"]
    assert ivy.status == "flagged" and "importing `sys` is not allowed" in ivy.reason, ivy


def test_grades_csv_cells_never_start_a_formula(graded):
    with open(graded["csv"], newline="", encoding="utf-8") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert rows["107"]["name"] == "'=HYPERLINK(0)"
    assert rows["107"]["score"] == "0" and rows["101"]["score"] == str(int(TOTAL))  # numbers stay numbers
    for row in rows.values():
        assert not any(value.startswith(("=", "+", "-", "@")) for value in row.values()), row


def test_every_row_is_journalled_for_a_rerun(graded):
    journal = {json.loads(p.read_text())["result"]["student"] for p in (graded["csv"].parent / "journal").glob("*.json")}
    assert journal == {r.student for r in graded["results"]}
