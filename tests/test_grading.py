"""Real grading runs (nbgrader's gradebook, the sandbox, in this process): full marks for the
solution, zero for the untouched student version, exactly the solved exercises' points for a
partial submission, and a status for broken ones; the demo goes through the parallel path, with
or without bubblewrap; a second clone under /tmp grades the same, and a broken one refuses."""
import csv
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import REPO, assignments
from autograder.examples import answered, load_pair
from autograder.examples import test_points as points_of
from autograder.grade import Grader
from autograder.ingest import Submission


def _submit(tmp_path, student, assignment, notebook):
    path = tmp_path / "in" / student / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(notebook, path)
    return Submission(student, assignment, path)


@pytest.mark.notebook
@pytest.mark.sandbox
@pytest.mark.parametrize("assignment", assignments())
def test_nbgrader_scores_full_zero_and_partial(assignment, tmp_path, course_copy):
    solution, student = load_pair(assignment)
    points = points_of(solution)
    grader = Grader(course_copy([assignment], tmp_path / "course"), [assignment])

    full = grader.grade(_submit(tmp_path, "full", assignment, answered(student, solution)))
    assert (full.status, full.score, full.max_score) == ("graded", sum(points.values()), sum(points.values())), full

    untouched = grader.grade(_submit(tmp_path, "untouched", assignment, student))
    assert (untouched.status, untouched.score) == ("graded", 0.0), untouched

    for half, solved in (("even", sorted(points)[::2]), ("odd", sorted(points)[1::2])):  # each half alone
        partial = grader.grade(_submit(tmp_path, f"partial-{half}", assignment, answered(student, solution, solved)))
        assert partial.score == sum(points[t] for t in solved), partial
        assert {t.grade_id for t in partial.tests if t.score == t.max_score} == set(solved)


@pytest.mark.notebook
@pytest.mark.sandbox
def test_demo_runs_without_an_activated_environment():
    """The README's main command, with the interpreter's script folder *not* on PATH."""
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PATH="/usr/bin:/bin", PYTHONPATH=str(REPO))  # this checkout's grader, wherever an editable install points
    run = subprocess.run([sys.executable, "-m", "autograder", "demo"], cwd=Path("/"), env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "in the sandbox" in run.stderr  # the demo takes the sandboxed, parallel path
    rows = {line.split()[0]: line for line in run.stdout.splitlines() if line.split()[:1]}
    assert "60 / 60  graded" in rows["ada"]
    assert "0 / 60   graded" in rows["ben"]
    assert "graded" in rows["cleo"] and "/ 60" in rows["cleo"] and not rows["cleo"].split()[2] in ("0", "60")
    assert "rejected" in rows["dev"] and "JSON" in rows["dev"]
    assert "55 / 60  flagged" in rows["eve"] and "importing `os` is not allowed" in rows["eve"]
    assert "30 / 60  error" in rows["fay"] and "kernel died" in rows["fay"]


def _clone(where):
    """A copy of this checkout's course and grader at ``where`` (as a second clone would have them)."""
    for name in ("autograder", "utils", "data", "oracles", "solutions", "notebooks"):
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, where / name, ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    for name in ("nbgrader_config.py", "pyproject.toml"):
        shutil.copy(REPO / name, where / name)
    return where


def _grade_from(checkout, submissions, out):
    """``python -m autograder grade`` run from ``checkout`` (so its own grader and course are used)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-m", "autograder", "grade", str(submissions), "--out", str(out),
                           "--workers", "2", "--no-progress"], cwd=checkout, env=env, capture_output=True,
                          text=True, timeout=900)


def _grades(out):
    with open(out / "grades.csv", newline="") as handle:
        return {row["student"]: (row["score"], row["status"]) for row in csv.DictReader(handle)}


@pytest.mark.notebook
@pytest.mark.sandbox
def test_grades_do_not_depend_on_where_the_course_lives(tmp_path):
    """A second clone under /tmp calibrates and grades as this checkout does (the scores
    test_nbgrader_scores_full_zero_and_partial asserts here); without its utils it refuses at calibration."""
    assignment = "01_backprop"
    solution, student = load_pair(assignment)
    points = points_of(solution)
    _submit(tmp_path, "full", assignment, answered(student, solution))
    _submit(tmp_path, "part", assignment, answered(student, solution, sorted(points)[::2]))
    clone = _clone(tmp_path / "clone")
    assert str(clone).startswith("/tmp/")  # hidden by the sandbox's own /tmp: the course must be bound in

    there = _grade_from(clone, tmp_path / "in", tmp_path / "there")
    assert there.returncode == 0, there.stderr[-2000:]
    assert _grades(tmp_path / "there") == {"full": (f"{sum(points.values()):g}", "graded"),
                                           "part": (f"{sum(points[t] for t in sorted(points)[::2]):g}", "graded")}

    shutil.rmtree(clone / "utils")  # a broken environment: the notebooks' `utils` is nowhere in the sandbox
    broken = _grade_from(clone, tmp_path / "in", tmp_path / "broken")
    assert broken.returncode == 2, broken.stderr[-2000:]
    assert "calibration failed" in broken.stderr and "no student was graded" in broken.stderr
    assert "the sandbox cannot import utils: the course's packages are not visible inside it" in broken.stderr
    assert "backprop-imports raised ModuleNotFoundError" in broken.stderr and "Traceback" not in broken.stderr
    assert not (tmp_path / "broken" / "grades.csv").exists() and not list((tmp_path / "broken" / "journal").glob("*"))


@pytest.mark.notebook
def test_demo_on_a_bare_machine(demo_run):
    """No bubblewrap and no activated environment: the demo runs its own examples unsandboxed, says how
    to install bubblewrap in one line, prints the table and exits 0 (tests/shared.py runs it)."""
    assert demo_run["returncode"] == 0, demo_run["stderr"][-3000:]
    notices = [line for line in demo_run["stderr"].splitlines() if line.startswith("notice:")]
    assert len(notices) == 1 and "apt-get install -y bubblewrap" in notices[0], demo_run["stderr"][-3000:]
    assert "WITHOUT the sandbox" in demo_run["stderr"] and "Traceback" not in demo_run["stderr"]
    rows = {line.split()[0]: line for line in demo_run["stdout"].splitlines() if line.split()[:1]}
    assert "60 / 60  graded" in rows["ada"] and "0 / 60   graded" in rows["ben"]
    assert "rejected" in rows["dev"] and "flagged" in rows["eve"] and "error" in rows["fay"]
