"""Judge planted answers, wrong and honest, in one kernel per notebook.

Executing a whole notebook per planted answer costs 10-60 s; most of it is set-up (imports,
data, earlier exercises) that no planted answer changes. So the judge runs the solution notebook
once, top to bottom in grading mode, and then, for each planted answer of an exercise:

1. forgets what the solution's answer cell defined first (its functions, classes, names: in a real
   run nothing else defined them), then runs the planted answer cell in place of the solution's,
   so a planted cell that fails to run leaves its names undefined, as in a real run;
2. runs that exercise's *visible* checks (its test cell as the student edition has it);
3. runs every graded test cell from that exercise on, hidden tests included, and notes which raise;
4. runs the solution's answer cell again, so the next trial starts from the solution's state.

Tests before the answer cell ran with the solution, as they do in a top-to-bottom run, so they
pass by construction. The shortcut assumes what every test cell here must do anyway: it checks
the student's functions on inputs of its own, never on a value a plain (ungraded) cell computed
from an answer. ``test_grading.py`` confirms the mapping with real nbgrader runs.

Each planted answer is also put through the answer policy: an honest alternative that the
policy would refuse does not keep its points in real grading.

Mutant tables, in ``tests/test_NN_*.py``::

    MUTANTS = {"optim-sgd": [("steps uphill", [("x - self.lr", "x + self.lr")]), ...], ...}
    HONEST = {"optim-sgd": [("in-place update", [(old, new), ...]),     # edits of the solution
                            ("a whole other answer", "def step(...): ...")]}   # or a whole cell
"""
import ast
import atexit
import contextlib
import copy
import functools
import os
import time
from dataclasses import dataclass, field

import nbformat
import psutil
import pytest
from nbclient import NotebookClient

from autograder.course import SOLUTIONS
from autograder.examples import ANSWER_SUFFIX, test_points
from notebook_tools import BUDGET_SECONDS, answer_source, errors, load, record_figure
from utils.policy import bound_names, check_notebook

__all__ = ["SolutionKernel", "Verdict", "judge", "solution_kernel", "planted", "trial_ids", "visible_catch_rate",
           "assert_visible_catch_rate", "parametrize_trials", "verdicts", "test_each_wrong_answer_fails_only_its_own_exercise",
           "test_each_honest_alternative_keeps_its_points", "test_visible_checks_catch_most_wrong_answers"]


@dataclass
class Verdict:
    """What grading made of one planted answer."""
    failed: set = field(default_factory=set)         # graded test ids that lost their points
    caught_by_visible_checks: bool = False           # the exercise's visible checks raised
    errors: dict = field(default_factory=dict)       # test id (or "visible") -> first error line
    refused: list = field(default_factory=list)      # answer-policy violations of the planted cell

    def explain(self):
        return "\n".join([f"failed: {sorted(self.failed)}", *(f"  {k}: {v}" for k, v in self.errors.items()),
                          *(f"  policy: {v}" for v in self.refused)])


def planted(solution_source, answer):
    """The planted cell's source: ``answer`` is a whole source, or [(old, new), ...] edits of the solution's."""
    if isinstance(answer, str):
        return answer
    source = solution_source
    for old, new in answer:
        assert old in source, f"{old!r} not found in the solution's answer"
        source = source.replace(old, new)
    assert source != solution_source, "the edits change nothing"
    return source


def trial_ids(table):
    """[(test id, label)] for pytest parametrisation, in table order."""
    return [(test_id, label) for test_id, options in table.items() for label, _ in options]


def _error(cell):
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return f"{output['ename']}: {output['evalue']}"[:600]
    return None


class SolutionKernel:
    """A grading-mode kernel that has run the solution notebook top to bottom, kept for the session.

    ``seconds`` (wall clock), ``cpu_seconds`` (the kernel process's own CPU time, start-up
    included) and ``errors`` describe that first run (``test_notebooks.py`` checks them: the
    solution runs clean within budget), so the run is paid for once per notebook.
    """

    def __init__(self, assignment):
        self.assignment = assignment
        self.notebook = load(assignment)
        self.visible = {c.metadata["nbgrader"]["grade_id"]: c.source
                        for c in load(assignment, student=True).cells if c.metadata.get("nbgrader", {}).get("grade")}
        self.client = NotebookClient(copy.deepcopy(self.notebook), timeout=BUDGET_SECONDS * 2, kernel_name="python3",
                                     allow_errors=True, resources={"metadata": {"path": str(SOLUTIONS / assignment)}})
        self._stack = contextlib.ExitStack()
        atexit.register(self._stack.close)
        os.environ["NBGRADER_EXECUTION"] = "autograde"  # the kernel inherits it when it starts
        try:
            started = time.perf_counter()
            self._stack.enter_context(self.client.setup_kernel())
            for index, cell in enumerate(self.client.nb.cells):
                if cell.cell_type == "code":
                    self.client.execute_cell(cell, index)
            self.seconds = time.perf_counter() - started
            self.cpu_seconds = sum(psutil.Process(self.client.km.provisioner.pid).cpu_times()[:4])
        finally:
            os.environ.pop("NBGRADER_EXECUTION", None)
        self.errors = errors(self.client.nb)

    def _execute(self, source):
        cell = nbformat.v4.new_code_cell(source)
        self.client.execute_cell(cell, 0, store_history=False)
        return cell

    def run(self, source):
        return _error(self._execute(source))

    def value(self, expression):
        """``expression`` evaluated in the kernel, as a Python literal: what the run computed."""
        cell = self._execute(f"print(repr({expression}))")
        assert _error(cell) is None, _error(cell)
        return ast.literal_eval("".join(output.get("text", "") for output in cell.outputs))

    def judge(self, test_id, source):
        """Run one planted answer for ``test_id`` and put the solution's back."""
        cells = self.notebook.cells
        answer_at = next(i for i, c in enumerate(cells)
                         if c.metadata.get("nbgrader", {}).get("grade_id") == test_id + ANSWER_SUFFIX)
        graded = set(test_points(self.notebook))
        verdict = Verdict()
        trial = copy.deepcopy(self.notebook)
        trial.cells[answer_at].source = source
        verdict.refused = [str(v) for v in check_notebook(trial, source=self.notebook).get(answer_at, [])]
        earlier = set().union(*(bound_names(c.source) for c in cells[:answer_at] if c.cell_type == "code"))
        forget = sorted(bound_names(cells[answer_at].source) - earlier)
        assert self.run(f"for _name in {forget!r}:\n    globals().pop(_name, None)\nglobals().pop('_name', None)") is None
        planted_error = self.run(source)
        if planted_error:
            verdict.errors["answer cell"] = planted_error
        visible_error = self.run(self.visible[test_id])
        if visible_error:
            verdict.caught_by_visible_checks = True
            verdict.errors["visible"] = visible_error
        for cell in cells[answer_at + 1:]:
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in graded:
                error = self.run(cell.source)
                if error:
                    verdict.failed.add(grade_id)
                    verdict.errors[grade_id] = error
        restore_error = self.run(cells[answer_at].source)
        assert restore_error is None, f"the solution's {test_id} answer did not run again: {restore_error}"
        return verdict


@functools.cache
def solution_kernel(assignment):
    """The session's kernel for ``assignment`` (started, and the solution run, on first use)."""
    return SolutionKernel(assignment)


@functools.cache
def _judged(assignment, frozen):
    """Verdicts for a frozen table of trials (cached: each table is judged once per session)."""
    kernel = solution_kernel(assignment)
    assert kernel.errors == {}, f"{assignment}: the solution raised, so no planted answer can be judged: {kernel.errors}"
    return {(test_id, label): kernel.judge(test_id, source) for test_id, label, source in frozen}


def judge(assignment, *tables):
    """(test id, label) -> Verdict for every planted answer in the given mutant/honest tables."""
    notebook = load(assignment)
    frozen = tuple((test_id, label, planted(answer_source(notebook, test_id), answer))
                   for table in tables for test_id, options in table.items() for label, answer in options)
    labels = [(test_id, label) for test_id, label, _ in frozen]
    assert len(labels) == len(set(labels)), "two planted answers share an exercise and a label"
    return _judged(assignment, frozen)


def visible_catch_rate(verdicts, mutants):
    """Fraction of the wrong answers in ``mutants`` that the visible checks already flag."""
    trials = trial_ids(mutants)
    return sum(verdicts[t].caught_by_visible_checks for t in trials) / len(trials)


def assert_visible_catch_rate(assignment, verdicts, mutants, at_least=0.7):
    """The visible checks flag at least ``at_least`` of the planted wrong answers; prints the rate."""
    rate = visible_catch_rate(verdicts, mutants)
    missed = [f"{t}: {label}" for t, label in trial_ids(mutants) if not verdicts[t, label].caught_by_visible_checks]
    record_figure(f"{assignment}: the visible checks catch {rate:.0%} of {len(trial_ids(mutants))} planted wrong answers")
    assert rate >= at_least, f"{assignment}: visible checks catch {rate:.0%} < {at_least:.0%}; they miss: {missed}"


# ------------------------------------------------------------------ the tests every tests/test_NN_*.py runs
# A notebook's test module imports these; each runs on that module's ASSIGNMENT, MUTANTS and
# HONEST (``parametrize_trials``, called by conftest.py's ``pytest_generate_tests``).
TRIAL_TABLES = {"test_each_wrong_answer_fails_only_its_own_exercise": "MUTANTS",
                "test_each_honest_alternative_keeps_its_points": "HONEST"}


def parametrize_trials(metafunc):
    """One test per planted answer of the module's table, with ids ``<test id>-<label>``."""
    table = TRIAL_TABLES.get(metafunc.definition.originalname)
    if table:
        metafunc.parametrize("test_id, label", trial_ids(getattr(metafunc.module, table)))


@pytest.fixture(scope="module")
def verdicts(request):
    module = request.module
    return judge(module.ASSIGNMENT, module.MUTANTS, module.HONEST)


@pytest.mark.notebook
def test_each_wrong_answer_fails_only_its_own_exercise(verdicts, test_id, label):
    verdict = verdicts[test_id, label]
    assert verdict.failed == {test_id}, verdict.explain()


@pytest.mark.notebook
def test_each_honest_alternative_keeps_its_points(verdicts, test_id, label):
    verdict = verdicts[test_id, label]
    assert verdict.failed == set() and verdict.refused == [], verdict.explain()


@pytest.mark.notebook
def test_visible_checks_catch_most_wrong_answers(request, verdicts):
    assert_visible_catch_rate(request.module.ASSIGNMENT, verdicts, request.module.MUTANTS)
