"""The grade table for the terminal and ``grades.csv`` for the LMS."""
import csv

COLUMNS = ("student", "assignment", "score", "max_score", "status", "reason")


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


def write_csv(results, path):
    """One row per (student, assignment) with the score, the maximum, the status and why."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for r in results:
            writer.writerow((r.student, r.assignment, f"{r.score:g}", f"{r.max_score:g}", r.status, r.reason))
    return path
