"""Gradebook files the LMSs import, from the student ids that ingest kept (the LMS user ids).

* **Canvas** (Grades → Import): ``Student, ID, SIS User ID, SIS Login ID, Section``, then one
  column per assignment headed ``Title (assignment_id)`` (that Canvas assignment is updated) or
  a new title (Canvas creates the assignment), and a ``Points Possible`` row under the header.
  ``ID`` is the Canvas user id, which is what a Canvas download's file names carry.
* **Moodle** (Grades → Import → CSV file): one identifier column (``ID number`` or ``Email
  address``, chosen in "Map from"), one grade column, and an optional feedback column mapped to
  the grade item's feedback.

Numbers are written with a decimal point and no thousands separator, whatever the locale, as
both importers expect. Only graded, flagged and error results carry a score; a rejected
submission is exported as 0 with its reason as feedback, so nobody is left blank by accident.
"""
import csv
from pathlib import Path

CANVAS_FIXED = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")


def number(value):
    """A score as both LMSs read it: ``12.5``, ``40``; never ``12,5`` or ``1e+02``."""
    text = f"{float(value):.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("", "-0") else text


def text(value):
    """A free-text cell a spreadsheet will not run as a formula (a name may start with ``=``)."""
    value = str(value)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def final_score(result, penalties):
    penalty = penalties.get((result.student, result.assignment))
    return max(0.0, result.score - penalty.points) if penalty else result.score


def canvas_csv(results, path, columns=None, penalties=None):
    """Write a Canvas gradebook import file; ``columns`` maps assignment -> a Canvas header
    (``"Backprop (1234)"``); by default each assignment is a new Canvas column of its own id."""
    penalties = penalties or {}
    assignments = sorted({r.assignment for r in results})
    headers = [(columns or {}).get(a, a) for a in assignments]
    maxima = {r.assignment: r.max_score for r in results if r.max_score}
    rows = {}
    for r in results:
        rows.setdefault(r.student, {"name": text(r.name or r.student)})[r.assignment] = number(final_score(r, penalties))
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(CANVAS_FIXED + tuple(headers))
        writer.writerow(("Points Possible", "", "", "", "") + tuple(number(maxima.get(a, 0)) for a in assignments))
        for student in sorted(rows):
            row = rows[student]
            writer.writerow((row["name"], student, "", "", "") + tuple(row.get(a, "") for a in assignments))
    return Path(path)


def moodle_csv(results, path, assignment, identifier="ID number", emails=None, feedback=True, penalties=None):
    """Write a Moodle grade import file for one assignment, keyed by ``identifier``
    (``"ID number"``: the student id; ``"Email address"``: from ``emails``, student -> address)."""
    if identifier not in ("ID number", "Email address"):
        raise ValueError(f"Moodle maps grades by 'ID number' or 'Email address', not {identifier!r}")
    penalties = penalties or {}
    chosen = sorted((r for r in results if r.assignment == assignment), key=lambda r: r.student)
    if not chosen:
        raise ValueError(f"no results for {assignment}")
    missing = [r.student for r in chosen if identifier == "Email address" and r.student not in (emails or {})]
    if missing:
        raise ValueError(f"no e-mail address for {', '.join(missing[:5])} (give a roster CSV: student,email)")
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow((identifier, assignment) + (("Feedback",) if feedback else ()))
        for r in chosen:
            key = emails[r.student] if identifier == "Email address" else r.student
            writer.writerow((key, number(final_score(r, penalties))) + ((text(r.reason),) if feedback else ()))
    return Path(path)


def read_roster(path):
    """student -> e-mail address, from a CSV with ``student`` and ``email`` columns."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    if rows and not {"student", "email"} <= set(rows[0]):
        raise ValueError(f"{path}: the roster needs the columns student,email")
    return {row["student"]: row["email"] for row in rows}
