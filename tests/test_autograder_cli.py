"""``python -m autograder grade`` on a Canvas zip: grades.csv, feedback, and a resume after
``kill -9`` of the coordinator that leaves no process of the run behind, loses no finished grade
and regrades nothing it had finished."""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from autograder.examples import answered, load_pair
from autograder.examples import test_points as points_of

A = "01_backprop"
TOTAL = sum(points_of(load_pair(A)[0]).values())


def _grade(source, out, *extra, wait=True, env=None):
    argv = [sys.executable, "-m", "autograder", "grade", str(source), "--out", str(out), "--workers", "1",
            "--no-progress", *extra]
    if not wait:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True, env=env)
    return subprocess.run(argv, capture_output=True, text=True, timeout=900, env=env)


def processes_mentioning(marker):
    """Live processes whose command line or environment contains ``marker`` (zombies are gone)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if not proc.name.isdigit() or proc.joinpath("stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
                continue
            if marker.encode() in proc.joinpath("cmdline").read_bytes() + proc.joinpath("environ").read_bytes():
                found.append((int(proc.name), proc.joinpath("cmdline").read_bytes().replace(b"\0", b" ")[:200]))
        except OSError:  # it ended meanwhile
            continue
    return found


def wait_until_gone(marker, seconds=30):
    deadline = time.monotonic() + seconds
    while (left := processes_mentioning(marker)) and time.monotonic() < deadline:
        time.sleep(0.5)
    return left


@pytest.fixture
def scratch():
    """A TMPDIR for one run: its files, its kernels' sockets included, tell its processes apart.
    (A short path: a Unix socket's path holds at most 107 bytes.) Whatever is left is ended."""
    folder = tempfile.mkdtemp(prefix="k9-", dir="/tmp")
    yield folder
    for pid, _ in processes_mentioning(folder):
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.notebook
@pytest.mark.sandbox
def test_canvas_zip_grades_and_resumes_after_kill_9(tmp_path, scratch, course_copy):
    solution, student = load_pair(A)
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"lovelaceada_101_900_{A}.ipynb", '{"cells": [')  # first upload: broken
        zipped.writestr(f"lovelaceada_101_901_{A}-1.ipynb", nbformat.writes(answered(student, solution)))
        zipped.writestr(f"turingalan_102_902_{A}.ipynb", nbformat.writes(student))
        zipped.writestr(f"hopperg_103_903_{A}.ipynb", "not json")
    out = tmp_path / "out"
    course_copy([A], out / "course")  # generated as the run would (tests/shared.py); grading reopens it
    env = dict(os.environ, TMPDIR=scratch)

    run = _grade(archive, out, wait=False, env=env)
    journal = out / "journal"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # kill as soon as one executed notebook is journalled
        entries = [json.loads(p.read_text()) for p in journal.glob("*.json")] if journal.exists() else []
        if any(e["result"]["status"] != "rejected" for e in entries):
            break
        assert run.poll() is None, run.communicate()
        time.sleep(0.2)
    assert processes_mentioning(scratch), "the run's workers and kernels are found by their files"
    os.kill(run.pid, signal.SIGKILL)  # the coordinator only: its workers must notice by themselves
    run.wait()
    assert not wait_until_gone(scratch), "processes of the killed run stayed behind"
    finished = {p.name for p in journal.glob("*.json")}
    assert finished and all(json.loads((journal / n).read_text())["result"] for n in finished)

    rerun = _grade(archive, out, env=env)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{len(finished)} taken from the journal" in rerun.stdout
    assert "calibration: unchanged" in rerun.stderr
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert (rows["101"]["score"], rows["101"]["status"], rows["101"]["name"]) == (f"{TOTAL:g}", "graded", "lovelaceada")
    assert "latest of 2 uploads" in rows["101"]["reason"]
    assert (rows["102"]["score"], rows["102"]["status"]) == ("0", "graded")
    assert rows["103"]["status"] == "rejected" and "JSON" in rows["103"]["reason"]
    assert {p.parent.name for p in (out / "feedback").rglob("*.html")} == {"101", "102", "103"}
    assert (out / "course" / "gradebook.db").exists()


@pytest.mark.notebook  # each run calibrates: the solution and the student version are graded first
@pytest.mark.sandbox
def test_regrade_ignores_the_journal(tmp_path, course_copy):
    (tmp_path / "in" / "dev").mkdir(parents=True)
    (tmp_path / "in" / "dev" / f"{A}.ipynb").write_text("{")
    out = tmp_path / "out"
    course_copy([A], out / "course")
    first, again, forced = (_grade(tmp_path / "in", out), _grade(tmp_path / "in", out),
                            _grade(tmp_path / "in", out, "--regrade"))
    assert first.returncode == again.returncode == forced.returncode == 0, first.stderr[-2000:]
    assert "taken from the journal" not in first.stdout
    assert "1 taken from the journal" in again.stdout
    assert "taken from the journal" not in forced.stdout
