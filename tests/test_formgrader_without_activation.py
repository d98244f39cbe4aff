"""No activation needed: JupyterLab started as ``python -m jupyter lab`` with the interpreter's
folder *not* on PATH (a virtual environment that was never activated) still serves nbgrader's
formgrader, whose first request creates the gradebook by running ``alembic`` by name."""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from autograder.course import REPO, assignments

START_SECONDS = 120


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port, token, path):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/{path}", headers={"Authorization": f"token {token}"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return response.status, response.read()


def test_formgrader_lists_the_assignments_from_an_unactivated_environment(tmp_path):
    root = tmp_path / "course"  # a throw-away copy: the formgrader writes its gradebook at the course root
    for folder in ("solutions", "notebooks"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (tmp_path / "exchange").mkdir()
    (root / "nbgrader_config.py").write_text((REPO / "nbgrader_config.py").read_text()
                                             + f"\nc.Exchange.root = {str(tmp_path / 'exchange')!r}\n")
    assert shutil.which("alembic", path="/usr/bin:/bin") is None  # only next to the interpreter
    port, token = _free_port(), secrets.token_hex(16)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env.update(PATH="/usr/bin:/bin", JUPYTER_CONFIG_DIR=str(tmp_path / "config"),
               JUPYTER_RUNTIME_DIR=str(tmp_path / "runtime"), JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"), IPYTHONDIR=str(tmp_path / "ipython"))
    with open(tmp_path / "server.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
             f"--ServerApp.root_dir={root}"], cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert server.poll() is None, Path(tmp_path / "server.log").read_text()[-3000:]
            try:
                _get(port, token, "api/status")
                break
            except OSError:
                assert time.monotonic() < deadline, Path(tmp_path / "server.log").read_text()[-3000:]
                time.sleep(0.5)
        try:
            status, body = _get(port, token, "formgrader/api/assignments")
        except urllib.error.HTTPError as error:
            raise AssertionError(f"{error}\n{Path(tmp_path / 'server.log').read_text()[-3000:]}") from None
        assert status == 200
        listed = {a["name"] for a in json.loads(body)}
        assert listed == set(assignments())
        assert (root / "gradebook.db").exists()
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
