"""Shared test set-up: ``tests/`` on ``sys.path`` (for notebook_tools), and the ``sandbox`` marker.

A test marked ``sandbox`` needs bubblewrap: where it cannot start, the test skips on a
developer's machine, saying why, and fails under CI (``CI=true``), where it must run.
"""
import functools
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # tests/notebook_tools.py


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
