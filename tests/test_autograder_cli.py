"""``python -m autograder grade`` on a Canvas zip: grades.csv, feedback, and a resume after
``kill -9`` that loses no finished grade and regrades nothing it had finished."""
import csv
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import nbformat
import pytest

from autograder.examples import answered, load_pair

A = "01_backprop"


def _grade(source, out, *extra, wait=True):
    argv = [sys.executable, "-m", "autograder", "grade", str(source), "--out", str(out), "--workers", "1",
            "--no-progress", *extra]
    if not wait:
        return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
    return subprocess.run(argv, capture_output=True, text=True, timeout=900)


@pytest.mark.notebook
def test_canvas_zip_grades_and_resumes_after_kill_9(tmp_path):
    solution, student = load_pair(A)
    archive = tmp_path / "canvas.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr(f"lovelaceada_101_900_{A}.ipynb", '{"cells": [')  # first upload: broken
        zipped.writestr(f"lovelaceada_101_901_{A}-1.ipynb", nbformat.writes(answered(student, solution)))
        zipped.writestr(f"turingalan_102_902_{A}.ipynb", nbformat.writes(student))
        zipped.writestr(f"hopperg_103_903_{A}.ipynb", "not json")
    out = tmp_path / "out"

    run = _grade(archive, out, wait=False)
    journal = out / "journal"
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:  # kill as soon as one executed notebook is journalled
        entries = [json.loads(p.read_text()) for p in journal.glob("*.json")] if journal.exists() else []
        if any(e["result"]["status"] != "rejected" for e in entries):
            break
        assert run.poll() is None, run.communicate()
        time.sleep(0.2)
    os.killpg(run.pid, signal.SIGKILL)
    run.wait()
    finished = {p.name for p in journal.glob("*.json")}
    assert finished and all(json.loads((journal / n).read_text())["result"] for n in finished)

    rerun = _grade(archive, out)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"{len(finished)} taken from the journal" in rerun.stdout
    with open(out / "grades.csv", newline="") as handle:
        rows = {row["student"]: row for row in csv.DictReader(handle)}
    assert (rows["101"]["score"], rows["101"]["status"], rows["101"]["name"]) == ("50", "graded", "lovelaceada")
    assert "latest of 2 uploads" in rows["101"]["reason"]
    assert (rows["102"]["score"], rows["102"]["status"]) == ("0", "graded")
    assert rows["103"]["status"] == "rejected" and "JSON" in rows["103"]["reason"]
    assert {p.parent.name for p in (out / "feedback").rglob("*.html")} == {"101", "102", "103"}
    assert (out / "course" / "gradebook.db").exists()


def test_regrade_ignores_the_journal(tmp_path):
    (tmp_path / "in" / "dev").mkdir(parents=True)
    (tmp_path / "in" / "dev" / f"{A}.ipynb").write_text("{")
    out = tmp_path / "out"
    first, again, forced = (_grade(tmp_path / "in", out), _grade(tmp_path / "in", out),
                            _grade(tmp_path / "in", out, "--regrade"))
    assert first.returncode == again.returncode == forced.returncode == 0, first.stderr[-2000:]
    assert "taken from the journal" not in first.stdout
    assert "1 taken from the journal" in again.stdout
    assert "taken from the journal" not in forced.stdout
