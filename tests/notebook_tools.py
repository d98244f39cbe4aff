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
FIGURES = []  # what tests measured, for the run's summary (tests/conftest.py prints it)


def record_figure(text):
    """Print a measured figure and keep it for the summary at the end of the run (any xdist worker)."""
    print(text)
    FIGURES.append(text)


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


def plant(notebook, test_id, replacements):
    """The solution with one mistake made of several edits: every ``old`` replaced by its ``new``."""
    source = answer_source(notebook, test_id)
    for old, new in replacements:
        assert old in source, f"{old!r} not found in the answer to {test_id}"
        source = source.replace(old, new)
    return replace_answer(notebook, test_id, source)


def assert_every_mutant_changes_its_answer(notebook, mutants):
    """Each mutant (test id -> [(label, replacements)]) edits its answer: one that matched nothing
    would make its mutation test vacuous."""
    for test_id, options in mutants.items():
        for label, replacements in options:
            mutated = answer_source(plant(notebook, test_id, replacements), test_id)
            assert mutated != answer_source(notebook, test_id), f"{test_id}: {label} changes nothing"


def batches(mutants):
    """Batch k holds the k-th mutant of every exercise that has one: distinct exercises per run."""
    return [[(test_id, options[k]) for test_id, options in mutants.items() if k < len(options)]
            for k in range(max(len(options) for options in mutants.values()))]


def assert_exactly_planted_fail(executed, planted):
    """Every exercise in ``planted`` (test id -> label) lost its points, and no other did."""
    failed = failed_tests(executed)
    missed = {f"{test_id} ({label})" for test_id, label in planted.items() if test_id not in failed}
    assert not missed, f"wrong answers that still earn their points: {sorted(missed)}"
    assert failed == set(planted), \
        f"exercises failed by another exercise's mistake: {failed - set(planted)}\n{errors(executed)}"


def assert_rounds_plant_each_once(mistakes, rounds):
    """Each named mistake (name -> (test id, ...)) appears in one round; a round's exercises differ."""
    assert sorted(m for r in rounds for m in r) == sorted(mistakes)
    for names in rounds:
        exercises = [mistakes[m][0] for m in names]
        assert len(set(exercises)) == len(exercises)


__all__ = ["BUDGET_SECONDS", "FIGURES", "record_figure", "assignments", "load", "execute", "errors", "failed_tests",
           "replace_answer", "answer_source", "mutate", "plant", "batches", "assert_exactly_planted_fail",
           "assert_rounds_plant_each_once", "Path"]
