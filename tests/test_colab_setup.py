"""The Colab set-up cell: what it runs in a simulated Colab, and that it does nothing elsewhere.

Every notebook's first cell must be exactly ``utils.colab.setup_code()``, so the repository URL
lives in one place. The cell is executed as Colab would run it, but with ``google.colab`` faked
in ``sys.modules`` and ``subprocess.run`` recorded instead of run (no network, no git, no pip).
"""
import os
import subprocess
import sys
import types

import nbformat
import pytest

from autograder.course import NOTEBOOKS, REPO, SOLUTIONS
from utils.colab import BRANCH, CLONE_DIR, COURSE_REPO, colab_url, setup_code

STUDENT = sorted(NOTEBOOKS.glob("*/*.ipynb"))
ALL = sorted(SOLUTIONS.glob("*/*.ipynb")) + STUDENT


def first_cell(path):
    return nbformat.read(path, as_version=4).cells[0]


def run_cell(source, monkeypatch, *, in_colab, cloned=False):
    """exec ``source`` with a recorded ``subprocess.run``; returns (commands run, sys.path after)."""
    commands = []

    def fake_run(args, **kwargs):
        commands.append((list(args), kwargs))
        return subprocess.CompletedProcess(args, 0)

    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "path", list(sys.path))
    if in_colab:
        monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    else:
        monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    real_isdir = os.path.isdir
    monkeypatch.setattr(os.path, "isdir", lambda p: cloned if p == CLONE_DIR else real_isdir(p))
    exec(compile(source, "<set-up cell>", "exec"), {"__name__": "__main__"})
    return commands, list(sys.path)


def rel(path):
    return path.relative_to(REPO).as_posix()


def test_there_are_notebooks():
    assert STUDENT, "no student notebooks: run python -m autograder release"


@pytest.mark.parametrize("path", ALL, ids=rel)
def test_first_cell_is_the_setup_cell(path):
    cell = first_cell(path)
    assert cell.cell_type == "code"
    assert cell.source == setup_code(), (
        f"{rel(path)} starts with an old or different set-up cell: rebuild it (COLAB_SETUP) and release")
    meta = cell.metadata.get("nbgrader", {})
    assert meta.get("locked") and not meta.get("solution") and not meta.get("grade"), \
        "the set-up cell is read-only and ungraded"


@pytest.mark.parametrize("path", STUDENT, ids=rel)
def test_in_colab_clones_the_course_and_installs_it_without_dependencies(path, monkeypatch):
    commands, path_after = run_cell(first_cell(path).source, monkeypatch, in_colab=True)
    assert commands == [
        (["git", "clone", "--depth", "1", "--branch", BRANCH, COURSE_REPO, CLONE_DIR], {"check": True}),
        ([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", CLONE_DIR],
         {"check": True}),
    ]
    pip_args = commands[1][0]
    assert not any("torch" in arg for arg in pip_args), "Colab's torch must never be reinstalled"
    assert path_after[0] == CLONE_DIR, "the running kernel must import utils from the clone"


@pytest.mark.parametrize("path", STUDENT, ids=rel)
def test_in_colab_a_second_run_only_fixes_the_import_path(path, monkeypatch):
    commands, path_after = run_cell(first_cell(path).source, monkeypatch, in_colab=True, cloned=True)
    assert commands == []
    assert path_after.count(CLONE_DIR) == 1


@pytest.mark.parametrize("path", STUDENT, ids=rel)
def test_outside_colab_it_runs_nothing(path, monkeypatch):
    before = list(sys.path)
    commands, path_after = run_cell(first_cell(path).source, monkeypatch, in_colab=False)
    assert commands == []
    assert path_after == before


def test_setup_cell_has_no_magics_and_names_the_repository_once():
    source = setup_code()
    assert not any(line.lstrip().startswith(("!", "%")) for line in source.splitlines())
    assert source.count(COURSE_REPO) == 1


def test_colab_url():
    owner_and_name = COURSE_REPO.removeprefix("https://github.com/")
    assert colab_url("notebooks/01_backprop/01_backprop.ipynb") == (
        f"https://colab.research.google.com/github/{owner_and_name}/blob/{BRANCH}/"
        "notebooks/01_backprop/01_backprop.ipynb")
    assert colab_url("notebooks/a/a.ipynb", repo="https://github.com/me/fork.git", branch="dev") == (
        "https://colab.research.google.com/github/me/fork/blob/dev/notebooks/a/a.ipynb")
    with pytest.raises(ValueError):
        colab_url("notebooks/a/a.ipynb", repo="https://gitlab.com/me/fork")
    with pytest.raises(ValueError):
        colab_url("../outside.ipynb")
