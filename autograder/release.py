"""Generate the student versions in ``notebooks/`` from ``solutions/`` with nbgrader.

Before generating, each solution notebook's answer policy (``metadata.dlf.policy``) is brought
up to date from the notebook itself: the digests of its given code cells, and the line in each
exercise's text that names the calls the exercise refuses. The metadata stays the one place
that declares the rule; the text and the check follow it.
"""
import shutil
import tempfile
from pathlib import Path

import nbformat

from autograder.course import NOTEBOOKS, SOLUTIONS, Course, assignments
from utils.policy import forbidden_note, given_cells

NOTE_START = "*Not allowed in this answer"


def _with_note(text, note):
    lines = [line for line in text.rstrip("\n").split("\n") if not line.startswith(NOTE_START)]
    while lines and not lines[-1].strip():
        lines.pop()
    return "\n".join(lines + ["", note] if note else lines)


def sync_policy(notebook):
    """Refresh the given-cell digests and the exercises' policy lines; True when something changed."""
    before = nbformat.writes(notebook)
    policy = notebook.metadata.setdefault("dlf", {}).setdefault("policy", {})
    policy["given"] = given_cells(notebook)
    forbidden = policy.get("forbidden", {})
    for index, cell in enumerate(notebook.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if not cell.metadata.get("nbgrader", {}).get("solution"):
            continue
        intro = next(c for c in reversed(notebook.cells[:index]) if c.cell_type == "markdown")
        intro.source = _with_note(intro.source, forbidden_note(forbidden[grade_id]) if grade_id in forbidden else "")
    return nbformat.writes(notebook) != before


def release(assignment_ids=None, destination=NOTEBOOKS):
    """Regenerate ``destination/<assignment>/`` for each assignment; returns the folders written."""
    assignment_ids = list(assignment_ids or assignments())
    for assignment in assignment_ids:
        path = next((SOLUTIONS / assignment).glob("*.ipynb"))
        notebook = nbformat.read(path, as_version=4)
        if sync_policy(notebook):
            nbformat.write(notebook, path)
    destination = Path(destination)
    written = []
    with tempfile.TemporaryDirectory(prefix="dlf-release-") as tmp:
        released = Course(tmp, assignment_ids).generate()
        for assignment in assignment_ids:
            target = destination / assignment
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(released / assignment, target)
            written.append(target)
    return written
