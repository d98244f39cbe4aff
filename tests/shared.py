"""Expensive artefacts that several test modules read, built once per test run.

A session-scoped pytest fixture runs once per xdist *worker*; these are built once per *run*:
the first worker that asks builds the artefact under a file lock in the run's base temporary
folder, the others wait for it and read it. A build that raised leaves nothing behind, so the
next test that asks builds it again (and fails the same way, saying why).

* ``released_course(factory, [assignment, ...])``: an nbgrader course with those assignments
  generated (source, release, gradebook), as ``Grader`` makes it. Each test copies it into a
  folder of its own: copying takes 0.1 s, generating 4-12 s.
* ``demo_class(factory)``: ``python -m autograder demo --out`` on a bare machine (neither
  bubblewrap nor an activated environment), its printout, and the folder it graded into
  (feedback pages, journal, ``grades.csv``, the class report).
"""
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from filelock import FileLock

from autograder.course import REPO
from autograder.grade import Grader

DEMO_ASSIGNMENT = "01_backprop"


def _run_folder(factory):
    """The folder every worker of this run shares (xdist's workers each get a child of it)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def once(factory, name, build):
    """The folder of artefact ``name``; ``build(folder)`` fills it the first time anyone asks."""
    folder = _run_folder(factory) / f"shared-{name}"
    with FileLock(f"{folder}.lock"):
        if not (folder / ".built").exists():
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            try:
                build(folder)
            except BaseException:
                shutil.rmtree(folder, ignore_errors=True)
                raise
            (folder / ".built").touch()
    return folder


def released_course(factory, assignments, destination):
    """A private copy, at ``destination``, of a course with ``assignments`` generated."""
    def generate(folder):
        Grader(folder / "course", assignments, sandbox=False)  # generates; grades nothing
    built = once(factory, "course-" + "-".join(sorted(assignments)), generate)
    shutil.copytree(built / "course", destination)
    return destination


def bare_environment(folder):
    """A PATH with neither bwrap nor this interpreter's folder, and no activated environment."""
    bare = folder / "bin"
    bare.mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    env.update(PATH=str(bare), PYTHONPATH=str(REPO))  # this checkout's grader, wherever an editable install points
    return env


def demo_class(factory):
    """The bare-machine demo's run: {"returncode", "stdout", "stderr", "out": its --out folder}."""
    def run_demo(folder):
        run = subprocess.run([sys.executable, "-m", "autograder", "demo", "--workers", "2", "--out",
                              str(folder / "out")], cwd=Path("/"), env=bare_environment(folder),
                             capture_output=True, text=True, timeout=600)
        (folder / "run.json").write_text(json.dumps(
            {"returncode": run.returncode, "stdout": run.stdout, "stderr": run.stderr}))
    folder = once(factory, "demo-class", run_demo)
    return {**json.loads((folder / "run.json").read_text()), "out": folder / "out"}
