"""Fast checks of the grader's parts that need no notebook run: the sandbox's walls (this
checkout's utils importable, the checkout itself invisible), the journal's atomic writes,
structural hiding in feedback, the refusal to grade without a sandbox, spreadsheet-safe grades.csv, who
submitted in a Moodle zip, damaged members, one submission per assignment, and set-up failures."""
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbconvert import HTMLExporter

from autograder.course import REPO
from autograder.examples import answered, load_pair
from autograder.feedback import HIDDEN_FROM_HERE, STYLE, page_notebook, render, summary
from autograder.grade import Result
from autograder.grade import TestOutcome as Outcome
from autograder.journal import Journal
from autograder.sandbox import Limits, bwrap_argv, check_sandbox
from utils.selfcheck import exercise_titles

PROBE = """
import json, os, socket
import utils
report = {"solutions": os.path.exists(%(solutions)r), "checkout": os.path.exists(%(utils)r), "utils": utils.__file__,
          "root": sorted(os.listdir("/root")), "cwd": os.getcwd()}
try:
    socket.create_connection(("1.1.1.1", 53), timeout=2)
    report["network"] = True
except OSError:
    report["network"] = False
try:
    open("/usr/evil", "w")
    report["usr_writable"] = True
except OSError:
    report["usr_writable"] = False
open("scratch.txt", "w").write("ok")
print(json.dumps(report))
"""


@pytest.mark.sandbox
def test_sandbox_hides_the_course_and_the_network(tmp_path):
    check_sandbox()
    code = PROBE % {"solutions": str(REPO / "solutions"), "utils": str(REPO / "utils")}
    run = subprocess.run(bwrap_argv(Limits(), tmp_path) + [sys.executable, "-c", code],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report == {"solutions": False, "checkout": False, "utils": "/run/course/utils/__init__.py", "root": [".pyenv"] if str(Path(sys.prefix)).startswith(
        "/root/.pyenv") else report["root"], "cwd": "/home/student", "network": False, "usr_writable": False}
    assert not list(tmp_path.iterdir())  # the scratch file stayed inside the sandbox's tmpfs


@pytest.mark.sandbox
def test_sandbox_never_binds_the_whole_filesystem_or_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    monkeypatch.syspath_prepend("/")  # as `python -m autograder` run from / has it
    argv = bwrap_argv(Limits(), tmp_path)
    sources = [argv[i + 1] for i, arg in enumerate(argv) if arg in ("--ro-bind", "--bind")]
    assert "/" not in sources and str(REPO) not in sources
    assert str(REPO / "utils") in sources


def test_grade_refuses_without_a_sandbox(tmp_path):
    (tmp_path / "in" / "ada").mkdir(parents=True)
    (tmp_path / "in" / "ada" / "01_backprop.ipynb").write_text("{}")
    env = dict(os.environ, PATH="/nonexistent")  # no bwrap on PATH
    run = subprocess.run([sys.executable, "-m", "autograder", "grade", str(tmp_path / "in"), "--out",
                          str(tmp_path / "out")], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 2
    assert run.stderr.startswith("refusing to grade: the sandbox cannot start")
    assert "apt-get install -y bubblewrap" in run.stderr and "--unsafe-no-sandbox" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "out").exists()  # refused before touching anything


def test_journal_entries_are_complete_or_absent(tmp_path):
    journal = Journal(tmp_path)
    journal.put("ada", "01_backprop", "abc", {"score": 5})
    assert journal.get("ada", "01_backprop", "abc") == {"score": 5}
    assert journal.get("ada", "01_backprop", "other digest") is None  # a new upload is graded again
    (tmp_path / "ben__01_backprop.json").write_text('{"digest": "abc", "res')  # torn write by hand
    assert journal.get("ben", "01_backprop", "abc") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ada__01_backprop.json", "ben__01_backprop.json"]


def test_an_entry_being_written_is_never_listed_as_an_entry(tmp_path, monkeypatch):
    """Whoever lists the journal's ``*.json`` (the kill -9 test watches it) sees whole entries only."""
    journal, listed, dump = Journal(tmp_path), [], json.dump

    def dump_and_look(entry, out, **options):
        listed.append(sorted(p.name for p in tmp_path.glob("*.json")))  # while the entry is written
        dump(entry, out, **options)
    monkeypatch.setattr(json, "dump", dump_and_look)
    journal.put("ada", "01_backprop", "abc", {"score": 5})
    assert listed == [[]] and [p.name for p in tmp_path.glob("*.json")] == ["ada__01_backprop.json"]


def test_feedback_shows_no_hidden_block_and_no_output_made_once_tests_ran():
    test = nbformat.v4.new_code_cell("check_close(f(1), 2, 'f(1)')\n### BEGIN HIDDEN TESTS\n"
                                     "check_close(f(7), 8, 'secret')\n### END HIDDEN TESTS")
    test.metadata["nbgrader"] = {"grade": True, "grade_id": "t", "points": 1, "locked": True, "solution": False}
    answer = nbformat.v4.new_code_cell("def f(x):\n    print('called with', x)\n    return x + 1")
    answer.outputs = [nbformat.v4.new_output("stream", name="stdout", text="defined f")]
    later = nbformat.v4.new_code_cell("print('after')")
    test.outputs = [nbformat.v4.new_output("stream", name="stdout", text="called with 7")]
    later.outputs = [nbformat.v4.new_output("stream", name="stdout", text="leaked: check_close(f(7)")]
    notebook = nbformat.v4.new_notebook(cells=[answer, test, later])
    result = Result("ada", "a", 0, 1, "graded", "failed 1 of 1: t",
                    [Outcome("t", 0, 1, "f(1): values differ, model.train() was expected")])
    page = render(result, notebook)
    assert "defined f" in page                      # before the tests: shown
    assert "secret" not in page and "called with 7" not in page and "leaked" not in page
    assert HIDDEN_FROM_HERE in page
    assert "model.train() was expected" in page     # a check's message is never blanked


CELL_ID = r'cell-id=[0-9a-f-]+"'


def test_every_page_is_nbconvert_s_own_rendering_of_its_notebook_whatever_was_rendered_before():
    """The exporter is reused and its sanitizing remembered (autograder.feedback._exporter): a page
    is still exactly what a fresh nbconvert exporter makes of its notebook, in any order."""
    solution, student = load_pair("01_backprop")
    results = [(Result("ada", "01_backprop", 60, 60, "graded", "all tests passed"), answered(student, solution)),
               (Result("ben", "01_backprop", 0, 60, "graded", "failed"), student)]
    for result, notebook in results + results[::-1]:
        fresh, _ = HTMLExporter(template_name="lab").from_notebook_node(
            page_notebook(result, notebook, solution), resources={"metadata": {"name": f"01_backprop: feedback for {result.student}"}})
        page = render(result, notebook, solution).replace(STYLE, "", 1)
        page = page.replace(summary(result, exercise_titles(solution)), "", 1)
        assert re.sub(CELL_ID, "", page) == re.sub(CELL_ID, "", fresh)  # ids: new random ones per page


def test_grades_csv_text_never_starts_a_formula(tmp_path):
    from autograder.grade import Result
    from autograder.report import write_csv
    rows = [Result("=1+1", "01_backprop", 0.0, 50.0, "graded", "-cmd|' /C calc'!A0", name="@SUM(A1)"),
            Result("ada", "01_backprop", 50.0, 50.0, "graded", "all tests passed", name="+Ada")]
    text = write_csv(rows, tmp_path / "grades.csv").read_text()
    assert text.splitlines()[1:] == ["'=1+1,01_backprop,0,50,graded,'-cmd|' /C calc'!A0,'@SUM(A1)",
                                     "ada,01_backprop,50,50,graded,all tests passed,'+Ada"]


def test_moodle_student_is_the_outermost_folder_and_damaged_members_are_marked(tmp_path):
    from autograder.ingest import Rejected, find_submissions, read_submission
    archive = tmp_path / "moodle.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_STORED) as zipped:
        zipped.writestr("Ann Lee_42_assignsubmission_file_/Bob Ray_43_assignsubmission_file_/01_backprop.ipynb", "ann")
        zipped.writestr("Bob Ray_43_assignsubmission_file_/01_backprop.ipynb", "bob")
        zipped.writestr("Cy Dee_44_assignsubmission_file_/01_backprop.ipynb", "x" * 1000)
    raw = archive.read_bytes()
    at = raw.index(b"x" * 1000)
    archive.write_bytes(raw[:at] + b"y" + raw[at + 1:])  # its CRC no longer matches
    found = {s.student: s for s in find_submissions(archive, tmp_path / "work")}
    assert found["42"].path.read_text() == "ann" and found["42"].upload.startswith("Bob Ray_43_")
    assert found["43"].path.read_text() == "bob"
    with pytest.raises(Rejected, match="damaged in the zip.*CRC"):
        read_submission(found["44"], {})


def test_one_submission_per_student_and_assignment_the_latest_named_with_the_others(tmp_path):
    from autograder.course import grade_ids
    from autograder.ingest import Submission, latest_per_assignment
    student = (REPO / "notebooks" / "01_backprop" / "01_backprop.ipynb").read_text()
    paths = {}
    for name in ("01_backprop.ipynb", "Copy of 01_backprop.ipynb", "notes.ipynb"):
        paths[name] = tmp_path / name
        paths[name].write_text(student if name != "notes.ipynb" else "not json")
    submissions = [Submission("ada", "01_backprop", paths["01_backprop.ipynb"], upload="01_backprop.ipynb", order=(1,)),
                   Submission("ada", "Copy of 01_backprop", paths["Copy of 01_backprop.ipynb"],
                              upload="Copy of 01_backprop.ipynb", order=(2,)),
                   Submission("ada", "notes", paths["notes.ipynb"], upload="notes.ipynb", order=(0,))]
    kept = latest_per_assignment(submissions, grade_ids(["01_backprop"]))
    assert [(s.student, s.assignment) for s in kept] == [("ada", "Copy of 01_backprop"), ("ada", "notes")]
    assert kept[0].note == "latest of 2 uploads (not graded: 01_backprop.ipynb)"


def test_a_set_up_cell_that_raised_is_named_with_its_exception():
    import nbformat
    from autograder.calibrate import setup_failure
    locked = {"nbgrader": {"grade": False, "locked": True, "solution": False, "grade_id": "x-imports"}}
    answer = {"nbgrader": {"grade": False, "locked": False, "solution": True, "grade_id": "x-answer"}}
    imports = nbformat.v4.new_code_cell("import utils", metadata=locked)
    later = nbformat.v4.new_code_cell("plot()", metadata=dict(locked, nbgrader=dict(locked["nbgrader"], grade_id="x-plot")))
    error = nbformat.v4.new_output("error", ename="ModuleNotFoundError", evalue="No module named 'utils'", traceback=[])
    notebook = nbformat.v4.new_notebook(cells=[imports, nbformat.v4.new_code_cell("", metadata=answer), later])
    assert setup_failure(notebook) is None
    later.outputs = [error]  # after the first answer: the student's code may be why; a graded matter
    assert setup_failure(notebook) is None
    imports.outputs = [error]
    assert setup_failure(notebook) == "the set-up cell x-imports raised ModuleNotFoundError: No module named 'utils'"


@pytest.mark.notebook  # a kernel
@pytest.mark.sandbox
def test_a_sandboxed_kernel_starts_with_the_graders_font_list_in_a_config_folder_of_its_own():
    """matplotlib reads the grader's font list instead of opening every font again, from a config
    folder the kernel may write (else it would warn and use a temporary one)."""
    from autograder.execute import execute
    from autograder.sandbox import font_list
    cell = nbformat.v4.new_code_cell(
        "import logging, os\nlogging.basicConfig(level=logging.INFO)\nfrom matplotlib import font_manager\n"
        "print(sorted(os.listdir(os.environ['MPLCONFIGDIR'])), os.access(os.environ['MPLCONFIGDIR'], os.W_OK))")
    outcome = execute(nbformat.v4.new_notebook(cells=[cell]))
    assert outcome["stopped"] is None and outcome["cells"][0]["error"] is None, outcome
    printed = "".join(output.get("text", "") for output in cell.outputs)
    assert f"['{font_list().name}'] True" in printed
    assert "generated new fontManager" not in printed and "not a writable directory" not in printed


def test_a_new_gradebook_gets_the_schema_revision_that_alembic_reports(tmp_path):
    """Gradebooks are created with nbgrader's schema revision, read without nbgrader's subprocess."""
    import sqlite3
    from nbgrader.api import Gradebook
    from nbgrader.dbutil import _temp_alembic_ini
    from autograder.course import Course
    Course(tmp_path / "course", ["01_backprop"])  # the grader's processes read the revision in-process from here on
    with Gradebook(f"sqlite:///{tmp_path / 'gradebook.db'}"):
        pass
    with sqlite3.connect(tmp_path / "gradebook.db") as db:
        stored = db.execute("SELECT version_num FROM alembic_version").fetchall()
    with _temp_alembic_ini("sqlite:////tmp/gradebook.db") as alembic_ini:
        heads = subprocess.run([str(Path(sys.executable).parent / "alembic"), "-c", alembic_ini, "heads"],
                               capture_output=True, text=True, check=True).stdout
    assert stored == [(heads.split()[0],)]
