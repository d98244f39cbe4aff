"""Fast checks of the grader's parts that need no notebook run: the sandbox's walls, the
journal's atomic writes, structural hiding in feedback, and the refusal to grade without a sandbox."""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat

from autograder.course import REPO
from autograder.feedback import HIDDEN_FROM_HERE, render
from autograder.grade import Result
from autograder.grade import TestOutcome as Outcome
from autograder.journal import Journal
from autograder.sandbox import COURSE_MOUNT, Limits, bwrap_argv, check_sandbox

PROBE = """
import json, os, socket
report = {"solutions": os.path.exists(%(solutions)r), "utils": os.path.isdir(%(utils)r),
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


def test_sandbox_hides_the_course_and_the_network(tmp_path):
    check_sandbox()
    code = PROBE % {"solutions": str(REPO / "solutions"), "utils": f"{COURSE_MOUNT}/utils"}
    run = subprocess.run(bwrap_argv(Limits(), tmp_path) + [sys.executable, "-c", code],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    report = json.loads(run.stdout)
    assert report == {"solutions": False, "utils": True, "root": [".pyenv"] if str(Path(sys.prefix)).startswith(
        "/root/.pyenv") else report["root"], "cwd": "/home/student", "network": False, "usr_writable": False}
    assert not list(tmp_path.iterdir())  # the scratch file stayed inside the sandbox's tmpfs


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
    assert run.returncode == 3
    assert "refusing to grade" in run.stderr and "--unsafe-no-sandbox" in run.stderr


def test_journal_entries_are_complete_or_absent(tmp_path):
    journal = Journal(tmp_path)
    journal.put("ada", "01_backprop", "abc", {"score": 5})
    assert journal.get("ada", "01_backprop", "abc") == {"score": 5}
    assert journal.get("ada", "01_backprop", "other digest") is None  # a new upload is graded again
    (tmp_path / "ben__01_backprop.json").write_text('{"digest": "abc", "res')  # torn write by hand
    assert journal.get("ben", "01_backprop", "abc") is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ada__01_backprop.json", "ben__01_backprop.json"]


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