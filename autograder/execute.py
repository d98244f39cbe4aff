"""Execute one sanitized notebook in a fresh (sandboxed) kernel: the workers' whole job.

``run_job`` takes and returns plain data (notebook JSON, numbers, strings) so that it runs the
same in a local process pool and on a Dask worker. It never touches the gradebook: workers only
execute; the coordinating process scores (``autograder.grade``).

The executing client is nbgrader's own ``Execute`` preprocessor (an nbclient client: errors are
recorded in the cells, a cell that runs past its time limit gets nbgrader's
``CellTimeoutError``), extended here with four things nbgrader lacks: the kernel starts in the
sandbox, the whole notebook has a wall-clock limit, the total output is capped, and the
integrity guard (``autograder.guard``) runs around every locked cell.
"""
import ast
import inspect
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute

from autograder import guard
from autograder.course import REPO
from autograder.sandbox import Limits, SandboxKernelManager

TRUSTED_ROOTS = ("numpy", "torch", "utils", "math")  # what the checks rely on; the guard watches them
NOT_RUN = "NotRun"  # ename given to cells that never ran because the kernel stopped first


def _nbgrader(cell):
    return cell.metadata.get("nbgrader", {})


def trusted_modules(notebook):
    """Modules imported by the notebook's locked cells whose top package the checks rely on."""
    found = set()
    for cell in notebook.cells:
        if cell.cell_type != "code" or not _nbgrader(cell).get("locked"):
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level else []
            found.update(n for n in names if n.split(".")[0] in TRUSTED_ROOTS)
    return sorted(found)


class GradingClient(Execute):
    """nbgrader's executor with an output budget; ``stop(reason)`` kills the kernel."""

    output_budget = 4 << 20
    stopped = None

    def output(self, outs, msg, display_id, cell_index):
        self.output_budget -= len(json.dumps(msg.get("content", {}), default=str))
        if self.output_budget < 0:
            self.stop(f"the notebook printed more than the output limit")
            return None
        return super().output(outs, msg, display_id, cell_index)

    def stop(self, reason):
        if self.stopped is None:
            self.stopped = reason
        process = getattr(getattr(self.km, "provisioner", None), "process", None)
        if process is not None and process.poll() is None:
            process.kill()

    def call_guard(self, name, after):
        """Run the guard as a user expression; returns the repairs, or a complaint if it is gone."""
        msg_id = self.kc.execute("", silent=True, store_history=False,
                                 user_expressions={"g": f"{name}(after_locked_cell={after})"})
        reply = self.wait_for_reply(msg_id)
        if reply is None:
            raise DeadKernelError("Kernel died")
        result = reply["content"].get("user_expressions", {}).get("g", {})
        if result.get("status") != "ok":
            return ["the integrity guard itself was removed or broken"]
        try:
            return list(ast.literal_eval(result["data"]["text/plain"]))
        except (KeyError, ValueError, SyntaxError):
            return ["the integrity guard itself was replaced"]

    def install_guard(self, name, modules):
        code = inspect.getsource(guard) + f"\ninstall({name!r}, {modules!r})\ndel install, _settle_torch_optim\n"
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not install the integrity guard: {reply and reply['content']}")


def _not_run(cell, why):
    cell.outputs = [nbformat.v4.new_output("error", ename=NOT_RUN, evalue=why, traceback=[f"{NOT_RUN}: {why}"])]


def execute(notebook, limits=Limits(), files=None, sandbox=True):
    """Execute ``notebook`` (a NotebookNode, modified in place).

    Returns ``{"stopped": reason or None, "repairs": {cell label: [names]},
    "tampered_tests": [grade ids], "seconds": float}``.
    """
    workdir = Path(tempfile.mkdtemp(prefix="dlf-kernel-"))
    sockets = workdir / "sockets"
    sockets.mkdir()
    try:
        if sandbox:
            os.chmod(workdir, 0o755)
            os.chmod(sockets, 0o777)  # the kernel binds its sockets here; made read-only once started
            km = SandboxKernelManager(transport="ipc", connection_file=str(sockets / "kernel.json"),
                                      cache_ports=False)
            km.sandbox_limits, km.sandbox_files = limits, files
            resources = {}
        else:
            scratch = workdir / "scratch"
            if files:
                shutil.copytree(files, scratch)
            scratch.mkdir(exist_ok=True)
            km = AsyncKernelManager(kernel_name="python3")
            resources = {"metadata": {"path": str(scratch)}}
        client = GradingClient(timeout=limits.cell_timeout, allow_errors=True, interrupt_on_timeout=False,
                               shutdown_kernel="immediate",
                               extra_arguments=["--HistoryManager.hist_file=:memory:"])
        NotebookClient.__init__(client, notebook, km)  # as nbconvert's ExecutePreprocessor.preprocess does
        client.reset_execution_trackers()
        client.resources = resources
        client.output_budget = int(limits.output_mb * (1 << 20))
        with open(workdir / "kernel.log", "wb") as log:  # size-capped by RLIMIT_FSIZE in the sandbox
            outcome = _run(client, notebook, limits, sockets if sandbox else None, log)
        if outcome["stopped"] and outcome["stopped"].startswith("the kernel died"):
            outcome["stopped"] += _last_words(workdir / "kernel.log", outcome.pop("exit_status"))
        outcome.pop("exit_status", None)
        return outcome
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _last_words(log, exit_status):
    """The dead kernel's last line on stderr (often the reason: a MemoryError), or its exit status."""
    with open(log, "rb") as handle:
        handle.seek(max(0, log.stat().st_size - 4096))
        lines = [line.strip() for line in handle.read().decode("utf-8", "replace").splitlines() if line.strip()]
    if lines and not lines[-1].startswith("To connect another client"):
        return f"; its last words: {lines[-1][:200]}"
    return f"; exit status {exit_status}" if exit_status is not None else ""


def _run(client, notebook, limits, sockets, log):
    started = time.perf_counter()
    repairs, tampered = {}, []
    name = "_dlf_guard_" + secrets.token_hex(8)
    deadline = threading.Timer(limits.notebook_timeout,
                               lambda: client.stop(f"the notebook ran past its {limits.notebook_timeout} s limit"))
    index, process = 0, None
    env = dict(os.environ, NBGRADER_EXECUTION="autograde")
    if sockets is None:  # unsandboxed: this checkout's utils first, whatever an editable install says
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    try:
        with client.setup_kernel(cleanup_kc=True, env=env, stdout=subprocess.DEVNULL, stderr=log):
            process = getattr(client.km.provisioner, "process", None)
            if sockets is not None:
                os.chmod(sockets, 0o755)
            deadline.start()
            cell_timeout, client.timeout = client.timeout, limits.notebook_timeout  # imports torch &c.
            client.install_guard(name, trusted_modules(notebook))
            client.timeout = cell_timeout
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                meta = _nbgrader(cell)
                label = meta.get("grade_id") or f"cell {index}"
                if meta.get("locked") or meta.get("grade"):
                    found = client.call_guard(name, after=False)
                    if found:
                        repairs[label] = found
                client.execute_cell(cell, index, store_history=True)
                if meta.get("locked") or meta.get("grade"):
                    found = client.call_guard(name, after=True)
                    if found:
                        repairs[f"during {label}"] = found
                        if meta.get("grade"):
                            tampered.append(meta["grade_id"])
                if client.stopped:
                    raise DeadKernelError(client.stopped)
            index = len(notebook.cells)
    except (DeadKernelError, CellTimeoutError, TimeoutError, AssertionError) as error:
        if isinstance(error, CellTimeoutError):
            client.stop(f"a cell ran past the {limits.cell_timeout} s limit per cell")
        elif isinstance(error, (TimeoutError, AssertionError)):  # nbclient's way of saying "no reply"
            client.stop("the kernel stopped answering")
        why = client.stopped or "the kernel died (the notebook exited or crashed the Python process)"
        client.stopped = why
        for cell in notebook.cells[index:]:
            if cell.cell_type == "code":
                _not_run(cell, why)
    finally:
        deadline.cancel()
    return {"stopped": client.stopped, "repairs": repairs, "tampered_tests": tampered,
            "seconds": time.perf_counter() - started, "exit_status": process and process.poll()}


def run_job(job):
    """Worker entry point: ``job`` is a dict made by ``Grader.prepare``; returns a dict of plain data."""
    notebook = nbformat.reads(job["notebook"], as_version=4)
    try:
        outcome = execute(notebook, Limits(**job["limits"]), job.get("files"), job["sandbox"])
    except Exception as error:  # the kernel could not start, or the client broke: an error, not a crash
        outcome = {"stopped": f"execution failed: {type(error).__name__}: {str(error)[:300]}",
                   "repairs": {}, "tampered_tests": [], "seconds": 0.0}
        for cell in notebook.cells:
            if cell.cell_type == "code":
                _not_run(cell, outcome["stopped"])
    outcome["key"] = job["key"]
    outcome["notebook"] = nbformat.writes(notebook)
    return outcome
