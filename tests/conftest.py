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

from notebook_tools import FIGURES  # noqa: E402  (needs the path above)


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
# module's tests when they use a module-scoped fixture (one grading run that many tests read), and
# one notebook's tests (its mutation tests and its budget run in test_notebooks.py), which share
# the session's kernel that ran the solution (tests/mutants.py).
LONGEST_GROUP = "test_hostile.py"  # started first, so that no worker is left with a long tail


def _group(item):
    module = item.module.__name__.rpartition(".")[2]
    assignment = None
    if re.match(r"test_\d\d_", module):
        assignment = getattr(item.module, "ASSIGNMENT", None) or getattr(item.module, "A", None)
    elif item.originalname == "test_solution_runs_clean_within_budget":
        assignment = item.callspec.params["assignment"]
    if assignment:
        return f"notebook-{assignment}"
    fixtures = getattr(item, "_fixtureinfo", None)
    shared = fixtures and any(definition.scope in ("module", "class")
                              for definitions in fixtures.name2fixturedefs.values() for definition in definitions)
    return Path(item.fspath).relative_to(Path(__file__).parent).as_posix() if shared else None


def _slowness(item):
    """Sort key: the longest group first, then the slow kinds of test, then the quick ones."""
    if Path(item.fspath).name == LONGEST_GROUP:
        return 0
    return 1 if any(item.get_closest_marker(m) for m in ("notebook", "browser", "sandbox")) else 2


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    items.sort(key=_slowness)  # stable: within a rank, collection order
    for item in items:
        group = _group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))


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
