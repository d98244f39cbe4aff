"""Example submissions built from a solution and its student version (demo and tests).

``answered`` plays a student who solved some exercises: it copies those solution cells
from the source notebook into the student version, matched by nbgrader ``grade_id``.
"""
import copy
from pathlib import Path

import nbformat

from autograder.course import NOTEBOOKS, SOLUTIONS

ANSWER_SUFFIX = "-answer"  # solution cell ids are "<test id>-answer"


def solution_cells(notebook):
    """grade_id -> cell for every solution cell of a notebook."""
    return {cell.metadata["nbgrader"]["grade_id"]: cell for cell in notebook.cells
            if cell.metadata.get("nbgrader", {}).get("solution")}


def test_points(notebook):
    """grade_id -> points for every graded test cell of a notebook."""
    return {cell.metadata["nbgrader"]["grade_id"]: float(cell.metadata["nbgrader"]["points"])
            for cell in notebook.cells if cell.metadata.get("nbgrader", {}).get("grade")}


def answered(student, solution, test_ids=None):
    """A copy of ``student`` with the answers to ``test_ids`` (all if None) filled in from ``solution``."""
    result = copy.deepcopy(student)
    answers = solution_cells(solution)
    for cell in result.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "")
        if grade_id in answers and (test_ids is None or grade_id.removesuffix(ANSWER_SUFFIX) in test_ids):
            cell.source = answers[grade_id].source
    return result


def load_pair(assignment):
    """(solution, student version) notebooks of an assignment."""
    name = f"{assignment}.ipynb"
    return (nbformat.read(SOLUTIONS / assignment / name, as_version=4),
            nbformat.read(NOTEBOOKS / assignment / name, as_version=4))


# Reads far outside a one-number array: the kernel dies of a segmentation fault (the policy allows
# numpy's stride tricks, and the sandbox keeps the crash inside the kernel).
CRASH = "import numpy as np\nfrom numpy.lib.stride_tricks import as_strided\nas_strided(np.zeros(1), shape=(2,), strides=(1 << 40,)).sum()"


def _with_cell(notebook, source, at_end=False):
    """``notebook`` with one more code cell written by the student: after the first cell, or last."""
    notebook.cells.insert(len(notebook.cells) if at_end else 1, nbformat.v4.new_code_cell(source))
    return notebook


def write_demo_submissions(folder, assignment):
    """The demo's class: full marks, untouched, partly solved, invalid JSON, a cell the answer
    policy refuses, and a kernel that crashes.

    Returns {student: expected outcome} so the demo can say what each row shows.
    """
    folder = Path(folder)
    solution, student = load_pair(assignment)
    tests = list(test_points(solution))
    half = tests[: len(tests) // 2]
    notebooks = {
        "ada": (answered(student, solution), "every exercise solved"),
        "ben": (student, "untouched student version"),
        "cleo": (answered(student, solution, half), f"solved {', '.join(half)}"),
        "dev": (None, "invalid JSON"),
        "eve": (_with_cell(answered(student, solution), "import os\nos._exit(1)"),
                "a cell that would kill the kernel: the answer policy refuses to run it"),
        "fay": (_with_cell(answered(student, solution, half), CRASH, at_end=True),
                "solved half, then a last cell crashes the kernel (a segfault): the tests that ran keep their points"),
    }
    for name, (notebook, _) in notebooks.items():
        path = folder / name / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True, exist_ok=True)
        if notebook is None:
            path.write_text('{"cells": [ {"cell_type": "code", "source": "print(1)"')  # cut off mid-file
        else:
            nbformat.write(notebook, path)
    return {name: what for name, (_, what) in notebooks.items()}
