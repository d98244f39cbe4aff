"""Real grading runs (nbgrader's gradebook, the sandbox, in this process): full marks for the
solution, zero for the untouched student version, exactly the solved exercises' points for a
partial submission, and a status for broken ones; the demo goes through the parallel path."""
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course import assignments
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
@pytest.mark.parametrize("assignment", assignments())
def test_nbgrader_scores_full_zero_and_partial(assignment, tmp_path):
    solution, student = load_pair(assignment)
    points = points_of(solution)
    grader = Grader(tmp_path / "course", [assignment])

    full = grader.grade(_submit(tmp_path, "full", assignment, answered(student, solution)))
    assert (full.status, full.score, full.max_score) == ("graded", sum(points.values()), sum(points.values())), full

    untouched = grader.grade(_submit(tmp_path, "untouched", assignment, student))
    assert (untouched.status, untouched.score) == ("graded", 0.0), untouched

    for half, solved in (("even", sorted(points)[::2]), ("odd", sorted(points)[1::2])):  # each half alone
        partial = grader.grade(_submit(tmp_path, f"partial-{half}", assignment, answered(student, solution, solved)))
        assert partial.score == sum(points[t] for t in solved), partial
        assert {t.grade_id for t in partial.tests if t.score == t.max_score} == set(solved)


def test_demo_runs_without_an_activated_environment():
    """The README's main command, with the interpreter's script folder *not* on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = "/usr/bin:/bin"
    run = subprocess.run([sys.executable, "-m", "autograder", "demo"], cwd=Path("/"), env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "in the sandbox" in run.stderr  # the demo takes the sandboxed, parallel path
    rows = {line.split()[0]: line for line in run.stdout.splitlines() if line.split()[:1]}
    assert "60 / 60  graded" in rows["ada"]
    assert "0 / 60   graded" in rows["ben"]
    assert "graded" in rows["cleo"] and "/ 60" in rows["cleo"] and not rows["cleo"].split()[2] in ("0", "60")
    assert "rejected" in rows["dev"] and "JSON" in rows["dev"]
    assert "error" in rows["eve"] and "kernel" in rows["eve"].lower()
