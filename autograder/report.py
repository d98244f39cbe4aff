"""The grade table for the terminal, ``grades.csv`` for the LMS, and the run's summary."""
import csv
import os
import tempfile
from collections import Counter

COLUMNS = ("student", "assignment", "score", "max_score", "status", "reason", "name")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet may run as a formula


def spreadsheet_safe(text):
    """``text`` that a spreadsheet shows as text: a leading formula character gets a ``'`` first
    (OWASP's CSV-injection advice). Only for text columns: scores stay numbers."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text

LATE_COLUMNS = ("late_days", "penalty", "final_score")  # with a late policy; ``score`` is then the raw score


def late_cells(result, penalties):
    """The late-policy cells of a row: days late, points taken off, and the score that counts."""
    penalty = penalties.get((result.student, result.assignment))
    taken = penalty.points if penalty else 0.0
    return (penalty.days if penalty else 0, f"{taken:g}", f"{max(0.0, result.score - taken):g}")


def format_table(results):
    """A fixed-width table, one row per result, ready to print."""
    rows = [("student", "assignment", "score", "status", "reason")]
    for r in results:
        rows.append((r.student, r.assignment, f"{r.score:g} / {r.max_score:g}", r.status, r.reason))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for k, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths)) + "  " + row[4])
        if k == 0:
            lines.append("  ".join("-" * width for width in widths) + "  " + "-" * 6)
    return "\n".join(lines)


def write_csv(results, path, penalties=None):
    """One row per (student, assignment): score, maximum, status and why (written atomically;
    text that a spreadsheet would read as a formula is escaped); with ``penalties``
    (``autograder.late``) also the late days, the penalty and the final score."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=folder, prefix=".grades-", suffix=".csv")
    with os.fdopen(handle, "w", newline="", encoding="utf-8", errors="backslashreplace") as out:
        writer = csv.writer(out)
        writer.writerow(COLUMNS + (LATE_COLUMNS if penalties is not None else ()))
        for r in results:
            writer.writerow((spreadsheet_safe(r.student), spreadsheet_safe(r.assignment), f"{r.score:g}",
                             f"{r.max_score:g}", r.status, spreadsheet_safe(r.reason), spreadsheet_safe(r.name))
                            + (late_cells(r, penalties) if penalties is not None else ()))
    os.replace(temporary, path)
    return path


def summary(results, seconds, resumed=0):
    """Counts by status, the mean score, and the wall-clock time, in a few lines."""
    counts = Counter(r.status for r in results)
    graded = [r for r in results if r.status != "rejected" and r.max_score]
    mean = sum(r.score / r.max_score for r in graded) / len(graded) if graded else 0.0
    parts = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    lines = [f"{len(results)} submissions ({parts}) in {seconds:.1f} s"
             + (f"; {resumed} taken from the journal of an earlier run" if resumed else ""),
             f"mean score {100 * mean:.0f}% of the maximum over {len(graded)} graded notebooks"]
    flagged = [f"{r.student}/{r.assignment}" for r in results if r.status in ("flagged", "error")]
    if flagged:
        lines.append("look at: " + ", ".join(flagged))
    return "\n".join(lines)
