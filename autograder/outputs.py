"""What a grading folder gets after scoring: late penalties in grades.csv, the LMS files, the
similarity check and the class report. Run at the end of every ``grade``, and by ``report OUT``.
"""
import csv
import json
import sys
import zipfile
from dataclasses import replace
from pathlib import Path

import nbformat

from autograder.grade import Result


def results_of(out):
    """The ``Result``s of a grading folder in grades.csv's order (tests from the journal)."""
    out = Path(out)
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    results = []
    for row in rows:
        entry = out / "journal" / f"{row['student']}__{row['assignment']}.json"
        if entry.exists():
            results.append(Result.from_dict(json.loads(entry.read_text(encoding="utf-8"))["result"]))
        else:  # not journalled (an infrastructure failure): what grades.csv says
            results.append(Result(row["student"], row["assignment"], float(row["score"]), float(row["max_score"]),
                                  row["status"], row["reason"], name=row["name"]))
    return results


def answers_of(out):
    """(answers, templates, solutions) per exercise, from the course folder's notebooks."""
    from autograder.similarity import answer_cells
    course = Path(out) / "course"
    answers, templates, solutions = {}, {}, {}
    for path in sorted(course.glob("autograded/*/*/*.ipynb")):
        student = path.parents[1].name
        for exercise, code in answer_cells(nbformat.read(path, as_version=4)).items():
            answers.setdefault(exercise, {})[student] = code
    for path in sorted(course.glob("release/*/*.ipynb")):
        templates.update(answer_cells(nbformat.read(path, as_version=4)))
    for path in sorted(course.glob("source/*/*.ipynb")):
        solutions.update(answer_cells(nbformat.read(path, as_version=4)))
    return answers, templates, solutions


def write_similarity(out, threshold):
    from autograder.similarity import similar_pairs
    pairs = similar_pairs(*answers_of(out), threshold=threshold)
    folder = Path(out) / "report"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "similarity.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(("exercise", "first", "second", "similarity"))
        writer.writerows((p.exercise, p.first, p.second, f"{p.similarity:.3f}") for p in pairs)
    return pairs


def penalties_in(grades):
    """The penalties an earlier run with a late policy wrote into ``grades.csv`` (None if none), so
    that a later ``report`` without the policy exports the same final scores."""
    from autograder.late import Penalty
    with open(grades, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or "penalty" not in rows[0]:
        return None
    return {(r["student"], r["assignment"]): Penalty(int(r["late_days"]), 0.0, float(r["penalty"])) for r in rows}


def _assignment_of(results):
    """``(student, file stem) -> assignment`` for LMS uploads: the stem when it names one of the
    student's results, else the student's only assignment (a renamed file), else None."""
    keys = {(r.student, r.assignment) for r in results}
    only = {}
    for student, assignment in keys:
        only[student] = None if student in only else assignment
    return lambda student, stem: stem if (student, stem) in keys else only.get(student)


def finish_run(out, results=None, late_policy=None, lms_zip=None, canvas_columns=None, roster=None,
               threshold=None):
    """Penalties into grades.csv, the LMS files, similarity and the class report; prints where."""
    from autograder.classreport import write_report
    from autograder.export import canvas_csv, moodle_csv, read_roster
    from autograder.report import write_csv
    from autograder.similarity import THRESHOLD

    out = Path(out)
    results = results if results is not None else results_of(out)
    penalties = None
    if late_policy:
        from autograder.late import LatePolicy, penalties as late_penalties, zip_times
        policy = LatePolicy.load(late_policy)
        lms = {}
        if lms_zip and zipfile.is_zipfile(lms_zip):
            lms = zip_times(lms_zip, _assignment_of(results))
        penalties = late_penalties(results, policy, lms)
        results = [replace(r, reason=f"{r.reason}; {penalties[(r.student, r.assignment)].note}")
                   if penalties.get((r.student, r.assignment), None) and penalties[(r.student, r.assignment)].note
                   else r for r in results]
        write_csv(results, out / "grades.csv", penalties)
    else:
        penalties = penalties_in(out / "grades.csv")
    written = [canvas_csv(results, out / "canvas.csv", canvas_columns, penalties)]
    emails = read_roster(roster) if roster else None
    for assignment in sorted({r.assignment for r in results}):
        written.append(moodle_csv(results, out / f"moodle-{assignment}.csv", assignment,
                                  "Email address" if emails else "ID number", emails, penalties=penalties))
    pairs = write_similarity(out, threshold or THRESHOLD)
    page = write_report(out, pairs)
    print(f"wrote the class report {page}, {len(pairs)} similar pairs, and "
          f"{', '.join(p.name for p in written)} for the LMS", file=sys.stderr)
    return page
