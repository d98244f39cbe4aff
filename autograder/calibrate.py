"""Calibration: before a single student is graded, prove that grading works here.

Why: a grader whose sandbox cannot import the course's ``utils``, or whose limits are too tight
for the course's notebooks, scores every submission zero, and says nothing. So each run first
grades two notebooks per assignment whose grades are known, through the very path the students
take (the same ``Grader`` code, sandbox, limits and executor): the solution notebook must score
full marks and the untouched student version zero. Any other result stops the run, naming the
failing test and its first error. A success is remembered in the output folder under a key of
everything it depends on (the notebooks, the course's packages and the grader's code, the Python,
torch and nbgrader versions, the limits, sandbox or not), so it runs once per assignment and
environment.

``setup_failure`` serves the students too: a set-up or imports cell that raises makes the
submission an error, never a zero.
"""
import hashlib
import json
import os
import platform
import re
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from autograder.course import REPO
from autograder.execute import NOT_RUN
from autograder.ingest import Submission
from autograder.sandbox import COURSE_PACKAGES

SOLUTION, BLANK = "calibration-solution", "calibration-blank"  # the two calibration "students"
VERSIONED = ("torch", "numpy", "nbgrader", "nbclient", "ipykernel")  # what grades depend on besides the course
MISSING_PACKAGE = re.compile(r"No module named '(%s)\b" % "|".join(COURSE_PACKAGES))


class CalibrationFailed(RuntimeError):
    """Grading the known notebooks did not give their known grades: grading here is broken."""


def setup_failure(notebook):
    """Why the notebook's set-up failed, or None: the first locked, ungraded code cell before the
    first answer (the set-up and imports cells) whose run raised, with its exception. Its message
    is quoted only when no student-written cell ran before it: then the kernel wrote it, not the
    student's code (which could make it say anything to the instructor)."""
    student_ran = False
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") or meta.get("grade"):
            return None
        if cell.cell_type != "code":
            continue
        if not meta.get("locked"):
            student_ran = True
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error" and output.get("ename") != NOT_RUN:
                evalue = "" if student_ran else (str(output.get("evalue", "")).strip().splitlines() or [""])[0][:300]
                return f"the set-up cell {meta.get('grade_id')} raised {output.get('ename')}: {evalue}".rstrip(": ")
    return None


def calibrate(grader, out):
    """Grade each assignment's solution and student version as ``grader`` grades students.

    Raises ``CalibrationFailed`` saying what went wrong. Returns {assignment: Result pair} for
    the assignments checked now (an empty dict when all were remembered from an earlier run).
    """
    from autograder.grade import Grader

    cache = CalibrationCache(Path(out) / "calibration.json")
    keys = {a: environment_key(grader, a) for a in grader.course.assignment_ids}
    todo = [a for a, key in keys.items() if not cache.holds(a, key)]
    if not todo:
        return {}
    with tempfile.TemporaryDirectory(prefix="dlf-calibration-") as folder:
        course = _copy_course(grader.course, Path(folder) / "course")
        checker = Grader(course, grader.course.assignment_ids, limits=grader.limits, sandbox=grader.sandbox,
                         executor=grader.executor)
        submissions = []
        for assignment in todo:
            notebook = f"{checker.info[assignment].notebook_id}.ipynb"
            submissions += [Submission(SOLUTION, assignment, checker.course.root / "source" / assignment / notebook),
                            Submission(BLANK, assignment, checker.info[assignment].files / notebook)]
        results = checker.grade_many(submissions)
    checked = {a: {r.student: r for r in results if r.assignment == a} for a in todo}
    problems = [problem for a in todo for problem in [_problem(a, checked[a], grader.sandbox)] if problem]
    if problems:
        raise CalibrationFailed("\n".join(problems))
    for assignment in todo:
        cache.remember(assignment, keys[assignment])
    return checked


def _copy_course(course, folder):
    """A copy of the students' course as generated (source, release, gradebook), to calibrate in
    without adding two pretend students to the real gradebook."""
    for name in ("source", "release"):
        shutil.copytree(course.root / name, folder / name)
    for name in ("gradebook.db", "solutions.sha256"):
        shutil.copy2(course.root / name, folder / name)
    return folder


def _problem(assignment, results, sandbox):
    """What is wrong with an assignment's two calibration results, or None."""
    solution, blank = results.get(SOLUTION), results.get(BLANK)
    if solution is None or blank is None:
        return f"{assignment}: calibration lost a notebook"
    if solution.status != "graded" or solution.score != solution.max_score:
        return (f"{assignment}: the solution notebook scored {solution.score:g} / {solution.max_score:g} "
                f"({solution.status}) where it must score full marks: {_first_error(solution, sandbox)}")
    if blank.status != "graded" or blank.score != 0:
        passed = [t.grade_id for t in blank.tests if t.score > 0]
        why = (f"tests that pass without an answer: {', '.join(passed)}" if blank.status == "graded"
               else _first_error(blank, sandbox))
        return (f"{assignment}: the untouched student version scored {blank.score:g} / {blank.max_score:g} "
                f"({blank.status}) where it must score 0: {why}")
    return None


def _first_error(result, sandbox):
    """The failing test and its message (or the reason the run stopped), said plainly."""
    failed = [t for t in result.tests if t.score < t.max_score]
    first = result.reason.split("; ")[0] if result.status != "graded" or not failed else \
        f"test {failed[0].grade_id} failed with {failed[0].message or 'no message'}"
    missing = MISSING_PACKAGE.search(first) or MISSING_PACKAGE.search(" ".join(t.message for t in failed))
    if missing:
        where = ("the sandbox cannot import {0}: the course's packages are not visible inside it" if sandbox else
                 "the kernel cannot import {0}: the course's packages are not on its path")
        return f"{where.format(missing[1])} ({first})"
    return first


def environment_key(grader, assignment):
    """SHA-256 of what an assignment's calibration result depends on."""
    digest = hashlib.sha256()
    for folder in (grader.course.root / "source" / assignment, grader.info[assignment].files, REPO / "autograder",
                   *(REPO / name for name in COURSE_PACKAGES)):
        for path in sorted(Path(folder).rglob("*")) if Path(folder).is_dir() else []:
            if path.is_file() and "__pycache__" not in path.parts and ".ipynb_checkpoints" not in path.parts:
                digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes())
    versions = {name: _version(name) for name in VERSIONED}
    environment = {"python": platform.python_version(), "versions": versions, "limits": grader.limits.to_dict(),
                   "sandbox": grader.sandbox}
    digest.update(json.dumps(environment, sort_keys=True).encode())
    return digest.hexdigest()


def _version(package):
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


class CalibrationCache:
    """{assignment: environment key} of the calibrations that passed, in one JSON file."""

    def __init__(self, path):
        self.path = Path(path)

    def _read(self):
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def holds(self, assignment, key):
        return self._read().get(assignment) == key

    def remember(self, assignment, key):
        entries = dict(self._read(), **{assignment: key})
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=self.path.parent, prefix=".calibration-", suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(entries, out, indent=1, sort_keys=True)
        os.replace(temporary, self.path)
