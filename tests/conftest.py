"""Shared test set-up: ``tests/`` on ``sys.path`` (for notebook_tools), and the ``sandbox`` marker.

A test marked ``sandbox`` needs bubblewrap: where it cannot start, the test skips on a
developer's machine, saying why, and fails under CI (``CI=true``), where it must run.
"""
import functools
import os
import re
import sys
from pathlib import Path

import pytest

# Every kernel and process a test starts computes on one thread, as notebooks do in the grader's
# sandbox (autograder/sandbox.py): with one pytest worker per core, more threads only fight.
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

sys.path.insert(0, str(Path(__file__).parent))  # tests/notebook_tools.py

import shared  # noqa: E402  (needs the path above)
from mutants import parametrize_trials  # noqa: E402
from notebook_tools import FIGURES  # noqa: E402


def in_ci():
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


@functools.cache
def sandbox_missing():
    """Why the bubblewrap sandbox cannot start here, or None."""
    from autograder.sandbox import SandboxUnavailable, check_sandbox
    try:
        check_sandbox()
    except SandboxUnavailable as why:
        return str(why)
    return None


def pytest_configure(config):
    config.addinivalue_line("markers", "sandbox: grades in the bubblewrap sandbox (skips without it, fails in CI)")


def pytest_runtest_setup(item):
    if item.get_closest_marker("sandbox") and sandbox_missing():
        reason = f"needs the bubblewrap sandbox ({sandbox_missing()}; apt-get install -y bubblewrap)"
        if in_ci():
            pytest.fail(f"{reason}; CI must run it", pytrace=False)
        pytest.skip(reason)


# ------------------------------------------------------------------ parallel runs (pytest-xdist)
# `python -m pytest` runs on every core (`-n auto --dist loadgroup`, pyproject.toml). Each test goes
# to whichever worker is free, except that tests sharing something expensive stay together: a
# module's tests when they use a module-scoped fixture (one grading run that many tests read), the
# tests of several modules that read one run's artefact (tests/shared.py), and one notebook's tests
# (its mutation tests, its budget run in test_notebooks.py and its delegations in test_publish.py),
# which share the session's kernel that ran the solution (tests/mutants.py), and the browser tests
# that use JupyterLab (starting the server, Chromium and a Lab tab costs some 20 s of CPU per worker).
LONGEST_GROUP = "test_hostile.py"  # started first, so that no worker is left with a long tail
SHARED = ("demo_run",)  # fixtures of run-wide artefacts: their readers wait on one worker, not on a lock


def _group(item):
    for name in SHARED:
        if name in getattr(item, "fixturenames", ()):
            return f"shared-{name}"
    if "lab_server" in getattr(item, "fixturenames", ()):
        return "browser-jupyterlab"  # one JupyterLab server and one Chromium for them all
    module = item.module.__name__.rpartition(".")[2]
    assignment = None
    if re.match(r"test_\d\d_", module):
        assignment = getattr(item.module, "ASSIGNMENT", None) or getattr(item.module, "A", None)
    elif item.originalname in ("test_solution_runs_clean_within_budget",  # they read its solution kernel
                               "test_an_answer_that_delegates_to_the_edition_scores_zero"):
        assignment = item.callspec.params["assignment"]
    if assignment:
        return f"notebook-{assignment}"
    fixtures = getattr(item, "_fixtureinfo", None)
    shared = fixtures and any(definition.scope in ("module", "class")
                              for definitions in fixtures.name2fixturedefs.values() for definition in definitions)
    return Path(item.fspath).relative_to(Path(__file__).parent).as_posix() if shared else None


def _slowness(item, group):
    """Sort key, longest first so that no worker is left alone with a long tail: the longest group,
    the other groups of slow tests (each a unit of a minute or more), the single slow tests, the
    quick ones."""
    if Path(item.fspath).name == LONGEST_GROUP:
        return 0
    slow = any(item.get_closest_marker(m) for m in ("notebook", "browser", "sandbox"))
    return (1 if group else 2) if slow else 3


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    groups = {item.nodeid: _group(item) for item in items}
    items.sort(key=lambda item: _slowness(item, groups[item.nodeid]))  # stable: within a rank, collection order
    for item in items:
        if groups[item.nodeid]:
            item.add_marker(pytest.mark.xdist_group(groups[item.nodeid]))


def pytest_generate_tests(metafunc):
    """The planted-answer tests that tests/test_NN_*.py import from tests/mutants.py, on that module's tables."""
    parametrize_trials(metafunc)


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """The bare-machine demo, run once for every test that reads it (tests/shared.py)."""
    return shared.demo_class(tmp_path_factory)


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory):
    """course_copy(assignments, destination): a generated course of one's own, copied in 0.1 s."""
    return lambda assignments, destination: shared.released_course(tmp_path_factory, assignments, destination)


@pytest.fixture(autouse=True)
def _figures_into_the_report(request):
    """Figures a test recorded (``notebook_tools.record_figure``) travel with its report, from any worker."""
    yield
    while FIGURES:
        request.node.user_properties.append(("figure", FIGURES.pop(0)))


def pytest_terminal_summary(terminalreporter):
    """The recorded figures (catch rates, run times), printed at the end of every run."""
    figures = sorted({value for reports in terminalreporter.stats.values() for report in reports
                      for name, value in getattr(report, "user_properties", ()) if name == "figure"})
    if figures:
        terminalreporter.section("figures")
        for figure in figures:
            terminalreporter.write_line(figure)
