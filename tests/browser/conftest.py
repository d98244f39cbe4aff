"""Fixtures of the browser suite: a private JupyterLab server and a headless Chromium.

The server runs on a free loopback port with a random token, in a throw-away copy of
``solutions/``, ``notebooks/`` and ``nbgrader_config.py`` (running cells in JupyterLab writes
outputs and checkpoints; the repository must stay clean), with its own settings, workspaces,
runtime and exchange folders so nothing from ``~/.jupyter`` leaks in or out. NBGRADER_EXECUTION
is set in its environment, so every notebook takes its fast grading path.

Chromium is Debian's (``apt-get install chromium chromium-driver``), driven by Playwright for
Python; no browser is downloaded. Where Chromium or Playwright is missing the suite skips on a
developer's machine and fails under CI, where it must run.
"""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from autograder.course import REPO

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", REPO / "browser-screenshots"))
SERVER_START_SECONDS = 120
_used = []  # set when this run took screenshots, for the summary line

# JupyterLab user settings for the test server: every cell stays in the DOM (no virtual
# scrolling, so widgets far down a notebook are rendered and can be checked), nothing is
# autosaved, and no news or update check is fetched (no network, no pop-up over the page).
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


def in_ci():
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def unavailable(reason):
    """Fail under CI (the suite must run there), skip elsewhere."""
    if in_ci():
        pytest.fail(f"{reason}; CI must run the browser suite", pytrace=False)
    pytest.skip(reason)


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LabServer:
    """A JupyterLab server process; ``url(path)`` opens a file of its root in the Lab UI."""

    def __init__(self, root, port, token, process, log):
        self.root, self.port, self.token, self.process, self.log = root, port, token, process, log
        self._stopping = []

    def url(self, path=""):
        return f"http://127.0.0.1:{self.port}/{path}?token={self.token}"

    def api(self, path, method="GET", body=None):
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/api/{path}", method=method,
                                         data=None if body is None else json.dumps(body).encode(),
                                         headers={"Authorization": f"token {self.token}",
                                                  "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def start_kernel(self, path):
        """Start the notebook's kernel (a session for ``path``), as opening it in Lab would."""
        return self.api("sessions", method="POST", body={"path": path, "type": "notebook", "name": "",
                                                         "kernel": {"name": "python3"}})

    def shut_down_kernels(self):
        """Stop every kernel running now, so one notebook's kernel never serves the next test.

        The server takes seconds to stop a kernel; the next test opens a session of its own
        meanwhile, so they stop in the background (``wait_until_stopped`` and ``finish`` wait)."""
        sessions = self.api("sessions")
        stopping = threading.Thread(target=lambda: [self.api(f"sessions/{s['id']}", method="DELETE") for s in sessions])
        stopping.start()
        self._stopping.append((stopping, {session["path"] for session in sessions}))

    def wait_until_stopped(self, path):
        """Return once no session of ``path`` is still stopping: the server and the page would
        take it up again (one session per path), and its kernel, once stopped, never gets idle."""
        for stopping, paths in self._stopping:
            if path in paths:
                stopping.join(timeout=60)

    def finish(self):
        """Wait for the kernels still stopping, then stop the server."""
        for stopping, _paths in self._stopping:
            stopping.join(timeout=60)
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def log_tail(self, lines=40):
        return "\n".join(Path(self.log).read_text(errors="replace").splitlines()[-lines:])


def _write_settings(folder):
    for plugin, values in LAB_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


@pytest.fixture(scope="session")
def lab_server(tmp_path_factory):
    base = tmp_path_factory.mktemp("jupyterlab")
    root = base / "course"
    root.mkdir()
    for folder in ("solutions", "notebooks"):
        shutil.copytree(REPO / folder, root / folder,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    # The repository's nbgrader settings (course root = its own folder, here the copy) and a
    # private exchange, so the formgrader and the assignment list work without /usr/local/share.
    (base / "exchange").mkdir()
    config = (REPO / "nbgrader_config.py").read_text()
    (root / "nbgrader_config.py").write_text(f"{config}\nc.Exchange.root = {str(base / 'exchange')!r}\n")
    _write_settings(base / "settings")

    port, token = free_port(), secrets.token_hex(16)
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", DLF_OFFLINE="1",  # no downloads
               JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"), IPYTHONDIR=str(base / "ipython"))
    log = base / "server.log"
    command = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
               # window.jupyterapp: the tests read cell outputs and the kernel state from the app
               "--LabApp.expose_app_in_browser=True"]
    with open(log, "w") as log_file:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=log_file, stderr=subprocess.STDOUT)
    server = LabServer(root, port, token, process, log)
    try:
        deadline = time.monotonic() + SERVER_START_SECONDS
        while True:
            if process.poll() is not None:
                pytest.fail(f"JupyterLab exited with {process.returncode}:\n{server.log_tail()}")
            try:
                server.api("status")
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within {SERVER_START_SECONDS} s:\n"
                                f"{server.log_tail()}")
                time.sleep(0.5)
        yield server
    finally:
        server.finish()


@pytest.fixture(scope="session")
def browser(tmp_path_factory):
    """A Chromium context with a fresh profile (``launch_persistent_context`` owns --user-data-dir)."""
    if not os.access(CHROMIUM, os.X_OK):
        unavailable(f"no Chromium at {CHROMIUM} (apt-get install chromium chromium-driver)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("Playwright for Python is not installed (pip install playwright)")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")), executable_path=CHROMIUM,
            args=CHROMIUM_ARGS, headless=True, viewport={"width": 1280, "height": 1600})  # widgets fit whole
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


@pytest.fixture(scope="session")
def screenshot_dir():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)  # files are overwritten, never cleared
    _used.append(SCREENSHOTS)
    return SCREENSHOTS


def pytest_terminal_summary(terminalreporter):
    if _used:
        terminalreporter.write_line(f"browser screenshots: {_used[0]}")
