"""Autograde submissions with nbgrader, one ``Result`` per (student, assignment).

Every submission ends with a status: ``graded`` (nbgrader scored it), ``rejected`` (it
could not be read as that assignment's notebook) or ``error`` (grading broke, e.g. the
kernel died). None of them stops the run.
"""
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder.course import Course
from autograder.ingest import Rejected, read_submission


@dataclass
class TestOutcome:
    grade_id: str
    score: float
    max_score: float
    message: str = ""


@dataclass
class Result:
    student: str
    assignment: str
    score: float
    max_score: float
    status: str
    reason: str = ""
    tests: list = field(default_factory=list)


def _first_line(text, limit=160):
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[-1][:limit] if lines else ""


KNOWN_FAILURES = (
    ("DeadKernelError", "the kernel died (the notebook exited or crashed the Python process)"),
    ("Kernel died", "the kernel died (the notebook exited or crashed the Python process)"),
    ("CellTimeoutError", "a cell ran past the time limit"),
    ("TimeoutError", "the notebook ran past the time limit"),
)


def _failure_reason(text):
    """A one-line reason for a failed nbgrader run, recognising the common causes."""
    for marker, reason in KNOWN_FAILURES:
        if marker in text:
            return reason
    return f"grading failed: {_first_line(text)}"


def _cell_errors(notebook_path):
    """grade_id -> 'Error: message' for every graded cell that raised."""
    notebook = nbformat.read(notebook_path, as_version=4)
    errors = {}
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade") and cell.cell_type == "code":
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    evalue = _first_line(output.get("evalue", ""))
                    errors[meta["grade_id"]] = f"{output.get('ename')}: {evalue}".rstrip(": ")
    return errors


# nbgrader's gradebook code trips SQLAlchemy's autoflush warnings on every run; they are noise here.
warnings.filterwarnings("ignore", message=".*not in session.*")


class Grader:
    """Grades submissions inside one private nbgrader course at ``workdir``."""

    def __init__(self, workdir, assignment_ids=None):
        self.course = Course(workdir, assignment_ids)
        self.course.generate()
        self.max_scores = {}
        from nbgrader.api import Gradebook
        with Gradebook(self.course.gradebook_url) as gradebook:
            for assignment in self.course.assignment_ids:
                self.max_scores[assignment] = gradebook.find_assignment(assignment).max_score

    def notebook_name(self, assignment):
        return next((self.course.root / "source" / assignment).glob("*.ipynb")).name

    def grade(self, submission):
        """Grade one submission; never raises for anything the submission contains."""
        max_score = self.max_scores.get(submission.assignment, 0.0)
        try:
            notebook = read_submission(submission, self.course.assignment_ids)
        except Rejected as why:
            return Result(submission.student, submission.assignment, 0.0, max_score, "rejected", str(why))

        name = self.notebook_name(submission.assignment)
        target = self.course.root / "submitted" / submission.student / submission.assignment / name
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)

        outcome = self.course.api.autograde(submission.assignment, submission.student)
        if not outcome["success"]:
            text = f"{outcome.get('log') or ''}\n{outcome.get('error') or ''}"
            return Result(submission.student, submission.assignment, 0.0, max_score, "error",
                          _failure_reason(text))
        return self._collect(submission, name)

    def _collect(self, submission, name):
        from nbgrader.api import Gradebook
        autograded = self.course.root / "autograded" / submission.student / submission.assignment / name
        errors = _cell_errors(autograded)
        with Gradebook(self.course.gradebook_url) as gradebook:
            notebook = gradebook.find_submission_notebook(Path(name).stem, submission.assignment,
                                                          submission.student)
            tests = [TestOutcome(g.name, float(g.score), float(g.max_score), errors.get(g.name, ""))
                     for g in sorted(notebook.grades, key=lambda g: g.name)]
            score, max_score = float(notebook.score), float(notebook.max_score)
        failed = [t.grade_id for t in tests if t.score < t.max_score]
        reason = f"failed {len(failed)} of {len(tests)}: {', '.join(failed)}" if failed else "all tests passed"
        return Result(submission.student, submission.assignment, score, max_score, "graded", reason, tests)


def grade_all(submissions, workdir, assignment_ids=None, progress=None):
    """Grade ``submissions`` in order; ``progress(result)`` is called after each one."""
    grader = Grader(workdir, assignment_ids)
    results = []
    for submission in submissions:
        result = grader.grade(submission)
        results.append(result)
        if progress:
            progress(result)
    return results
