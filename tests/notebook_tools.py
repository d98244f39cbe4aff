"""Shared tools for notebook-level tests: execute in grading mode, swap answers, read failures.

Executing with nbclient and reading the graded cells' errors is exactly how nbgrader scores
(a graded cell earns its points when it raises nothing), so mutation tests use this fast path
and ``test_grading.py`` confirms the mapping with real nbgrader runs.
"""
import copy
import os
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.course import NOTEBOOKS, SOLUTIONS, assignments
from autograder.examples import ANSWER_SUFFIX, test_points

BUDGET_SECONDS = 60  # every notebook in grading mode, on 2 CPU cores


def load(assignment, student=False):
    folder = NOTEBOOKS if student else SOLUTIONS
    return nbformat.read(folder / assignment / f"{assignment}.ipynb", as_version=4)


def execute(notebook, assignment, timeout=BUDGET_SECONDS * 2):
    """Run a copy of ``notebook`` top to bottom in a fresh kernel with NBGRADER_EXECUTION set.

    Returns (executed notebook, seconds). Errors in cells are recorded, not raised.
    """
    notebook = copy.deepcopy(notebook)
    os.environ["NBGRADER_EXECUTION"] = "autograde"
    try:
        client = NotebookClient(notebook, timeout=timeout, kernel_name="python3", allow_errors=True,
                                resources={"metadata": {"path": str(SOLUTIONS / assignment)}})
        started = time.perf_counter()
        client.execute()
        return notebook, time.perf_counter() - started
    finally:
        os.environ.pop("NBGRADER_EXECUTION", None)


def errors(notebook):
    """grade_id (or cell index) -> 'Ename: evalue' for every code cell that raised."""
    found = {}
    for index, cell in enumerate(notebook.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                key = cell.metadata.get("nbgrader", {}).get("grade_id", index)
                found[key] = f"{output['ename']}: {output['evalue']}"[:2000]
    return found


def failed_tests(notebook):
    """The graded test cells that raised: they earn no points."""
    graded = set(test_points(notebook))
    return {key for key in errors(notebook) if key in graded}


def replace_answer(notebook, test_id, source):
    """A copy of ``notebook`` whose answer cell for ``test_id`` holds ``source``."""
    notebook = copy.deepcopy(notebook)
    matches = [c for c in notebook.cells
               if c.metadata.get("nbgrader", {}).get("grade_id") == test_id + ANSWER_SUFFIX]
    assert len(matches) == 1, f"no answer cell {test_id}{ANSWER_SUFFIX}"
    matches[0].source = source
    return notebook


def answer_source(notebook, test_id):
    return next(c.source for c in notebook.cells
                if c.metadata.get("nbgrader", {}).get("grade_id") == test_id + ANSWER_SUFFIX)


def mutate(notebook, test_id, old, new):
    """The solution with one plausible mistake: ``old`` replaced by ``new`` in one answer cell."""
    source = answer_source(notebook, test_id)
    assert old in source, f"{old!r} not found in the answer to {test_id}"
    return replace_answer(notebook, test_id, source.replace(old, new, 1))


__all__ = ["BUDGET_SECONDS", "assignments", "load", "execute", "errors", "failed_tests",
           "replace_answer", "answer_source", "mutate", "Path"]
