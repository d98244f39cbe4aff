"""Execute one sanitized notebook in a fresh (sandboxed) kernel: the workers' whole job.

``run_job`` takes and returns plain data (notebook JSON, numbers, strings) so that it runs the
same in a local process pool and on a Dask worker. It never touches the gradebook: workers only
execute; the coordinating process scores (``autograder.grade``).

The executing client is nbgrader's own ``Execute`` preprocessor (an nbclient client: errors are
recorded in the cells, a cell that runs past its time limit gets nbgrader's
``CellTimeoutError``), extended here with what nbgrader lacks: the kernel starts in the
sandbox; the whole notebook has a wall-clock limit; the total output is capped; cells the
answer policy refused never run; each cell's verdict is what the client saw on the wire (its
iopub ``error`` message, whether it finished), never what the kernel reports about itself;
locked cells keep no input history; and the integrity guard (``autograder.guard``, a second
line behind the policy) runs around every locked cell.
"""
import ast
import inspect
import json
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbgrader.preprocessors import Execute

from autograder import guard
from autograder.course import REPO
from autograder.sandbox import Limits, SandboxKernelManager, SharedContextKernelManager
from utils.policy import bound_names

TRUSTED_ROOTS = ("numpy", "torch", "utils", "math")  # what the checks rely on; the guard watches them
NOT_RUN = "NotRun"  # ename given to cells that never ran because the kernel stopped first
POLICY = "AnswerPolicy"  # ename given to cells the answer policy refused to run


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


# What a cell's code says when it may import torch._dynamo (an optimizer's step, torch.compile,
# activation checkpointing): whatever that import changes must be in the guard's snapshot.
WAKES_DYNAMO = re.compile(r"optim|compile|dynamo|checkpoint")


def wakes_dynamo(notebook):
    """Whether any code cell of ``notebook`` (the student's included) may import ``torch._dynamo``."""
    return any(cell.cell_type == "code" and WAKES_DYNAMO.search(cell.source) for cell in notebook.cells)


class GradingClient(Execute):
    """nbgrader's executor that records what it saw on the wire; ``stop(reason)`` kills the kernel.

    Judging uses only what this client observed: the iopub ``error`` message of each cell (seen
    before any output hook or ``clear_output`` could hide it) and whether the cell finished. A
    reply with status "error" fails a cell as well (saying so can only cost the student), but
    an "ok" reply, the outputs and the kernel's own reports never make a cell pass.
    """

    output_budget = 4 << 20
    stopped = None

    def reset_wire(self, graded):
        self.graded, self.wire, self.locked_counts = set(graded), {}, set()

    def process_message(self, msg, cell, cell_index):
        if msg.get("msg_type") == "error":
            self.wire.setdefault(cell_index, {}).setdefault("error", msg.get("content", {}))
        return super().process_message(msg, cell, cell_index)

    def _check_raise_for_error(self, cell, cell_index, exec_reply):
        """An execute reply that says "error" fails the cell too: a kernel can only lose points by it."""
        content = (exec_reply or {}).get("content", {})
        if content.get("status") == "error":
            self.wire.setdefault(cell_index, {}).setdefault("error", {"ename": content.get("ename", "Error"),
                                                                      "evalue": "", "traceback": []})
        return super()._check_raise_for_error(cell, cell_index, exec_reply)

    def clear_output(self, outs, msg, cell_index):
        if cell_index not in self.graded:  # a graded cell keeps everything it showed
            super().clear_output(outs, msg, cell_index)

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

    def call_guard(self, name, after, names=()):
        """Run the guard as a user expression; returns the repairs, or a complaint if it is gone."""
        expression = f"{name}(after_locked_cell={after}, names={sorted(names)!r})"
        msg_id = self.kc.execute("", silent=True, store_history=False, user_expressions={"g": expression})
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

    def advance_count(self):
        """Give the next cell a prompt number of its own, so that no student cell shares a locked
        cell's ``In[N]`` label in tracebacks (locked cells keep no history, so they share one)."""
        reply = self.wait_for_reply(self.kc.execute("pass", silent=False, store_history=True))
        if reply is None:
            raise DeadKernelError("Kernel died")

    def install_guard(self, name, modules, import_dynamo=True):
        code = (inspect.getsource(guard) + f"\ninstall({name!r}, {modules!r}, {bool(import_dynamo)!r})\n"
                "del install, _settle_torch_optim\n")
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        if reply is None or reply["content"]["status"] != "ok":
            raise RuntimeError(f"could not install the integrity guard: {reply and reply['content']}")


ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
CELL_FRAME = re.compile(r"Cell In\[(\d+)\]")
CHECKS_FILE = re.compile(r"^File \S*/utils/checks\.py:")
UTILS_FILE = re.compile(r"^File \S*/utils/[a-z_]+\.py:")
CELL_LINE = re.compile(r"Cell In\[\d+\], line (\d+)")


def cell_line(traceback):
    """The line of the running cell an error came from (its outermost cell frame), or None:
    enough for the coordinator to say whether a visible or a hidden check failed."""
    for entry in traceback or []:
        found = CELL_LINE.search(ANSI.sub("", entry))
        if found:
            return int(found.group(1))
    return None


def from_checks(traceback, locked_counts):
    """Whether an error was raised by ``utils.checks`` called from the course's own code.

    True when the innermost frames are in ``utils/checks.py`` and every frame above them is a
    locked cell's (by its ``In[N]`` label) or the course's ``utils``: then the message is the
    check's own, not one a student's function composed while the hidden tests called it.
    """
    frames = [ANSI.sub("", entry).lstrip() for entry in traceback or []]
    if any("skipping hidden" in frame for frame in frames):
        return False  # in grading mode a check hides none of its frames: someone else hid these
    frames = [f for f in frames if f.startswith(("Cell In[", "File "))]
    if not frames or not CHECKS_FILE.match(frames[-1]):
        return False
    while frames and CHECKS_FILE.match(frames[-1]):
        frames.pop()
    for frame in frames:
        cell = CELL_FRAME.match(frame)
        if not (cell and int(cell.group(1)) in locked_counts) and not (not cell and UTILS_FILE.match(frame)):
            return False
    return bool(frames)


def judged(wire, locked_counts, locked):
    """The plain-data verdict of one cell: its error's name and, if a check's or a locked
    non-test cell's (a broken set-up), its message."""
    error = wire.get("error")
    if not error:
        return {"completed": wire.get("completed", False), "error": None}
    checks = from_checks(error.get("traceback"), locked_counts)
    return {"completed": wire.get("completed", False),
            "error": {"ename": str(error.get("ename", ""))[:100], "from_checks": checks,
                      "line": cell_line(error.get("traceback")),
                      "message": str(error.get("evalue", ""))[:4000 if checks else 300] if checks or locked else ""}}


def _not_run(cell, why, ename=NOT_RUN):
    cell.outputs = [nbformat.v4.new_output("error", ename=ename, evalue=why, traceback=[f"{ename}: {why}"])]


def execute(notebook, limits=Limits(), files=None, sandbox=True, skip=None):
    """Execute ``notebook`` (a NotebookNode, modified in place); the cells in ``skip`` never run.

    Returns ``{"stopped": reason or None, "repairs": {cell label: [names]},
    "tampered_tests": [grade ids], "cells": {index: verdict}, "seconds": float}`` where a
    verdict (``judged``) is what the client saw of that cell on the wire.
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
            km = SharedContextKernelManager(kernel_name="python3")
            resources = {"metadata": {"path": str(scratch)}}
        client = GradingClient(timeout=limits.cell_timeout, allow_errors=True, interrupt_on_timeout=False,
                               shutdown_kernel="immediate",
                               extra_arguments=["--HistoryManager.hist_file=:memory:"])
        NotebookClient.__init__(client, notebook, km)  # as nbconvert's ExecutePreprocessor.preprocess does
        client.reset_execution_trackers()
        client.reset_wire(i for i, c in enumerate(notebook.cells) if _nbgrader(c).get("grade"))
        client.resources = resources
        client.output_budget = int(limits.output_mb * (1 << 20))
        return _run(client, notebook, limits, sockets if sandbox else None, skip or {})
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def death(exit_status, last_error):
    """Why the kernel stopped, in the grader's words: never the kernel's own last words."""
    if last_error == "MemoryError" or exit_status in (-9, 128 + 9):
        return "the kernel died: out of memory (or killed at a limit)"
    return f"the kernel died (exit status {exit_status})" if exit_status is not None else "the kernel died"


def _run(client, notebook, limits, sockets, skip):
    started = time.perf_counter()
    repairs, tampered = {}, []
    name = "_dlf_guard_" + secrets.token_hex(8)
    deadline = threading.Timer(limits.notebook_timeout,
                               lambda: client.stop(f"the notebook ran past its {limits.notebook_timeout} s limit"))
    index, process, died = 0, None, False
    env = dict(os.environ, NBGRADER_EXECUTION="autograde")
    if sockets is None:  # unsandboxed: this checkout's utils first, whatever an editable install says
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    try:
        # the kernel's own stdout and stderr are never read: a dying kernel's last words are its author's
        with client.setup_kernel(cleanup_kc=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            process = getattr(client.km.provisioner, "process", None)
            if sockets is not None:
                os.chmod(sockets, 0o755)
            deadline.start()
            cell_timeout, client.timeout = client.timeout, limits.notebook_timeout  # imports torch &c.
            client.install_guard(name, trusted_modules(notebook), wakes_dynamo(notebook))
            client.timeout = cell_timeout
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type != "code":
                    continue
                if index in skip:
                    _not_run(cell, skip[index], POLICY)
                    continue
                meta = _nbgrader(cell)
                label = meta.get("grade_id") or f"cell {index}"
                locked = bool(meta.get("locked") or meta.get("grade"))
                if locked:
                    found = client.call_guard(name, after=False)
                    if found:
                        repairs[label] = found
                client.execute_cell(cell, index, store_history=not locked)  # no history of test code
                client.wire.setdefault(index, {})["completed"] = True
                if locked:
                    client.locked_counts.add(cell.get("execution_count"))
                    found = client.call_guard(name, after=True, names=bound_names(cell.source))
                    if found:
                        repairs[f"during {label}"] = found
                        if meta.get("grade"):
                            tampered.append(meta["grade_id"])
                    client.advance_count()
                if client.stopped:
                    raise DeadKernelError(client.stopped)
            index = len(notebook.cells)
    except (DeadKernelError, CellTimeoutError, TimeoutError, AssertionError) as error:
        if isinstance(error, CellTimeoutError):
            client.stop(f"a cell ran past the {limits.cell_timeout} s limit per cell")
        elif isinstance(error, (TimeoutError, AssertionError)):  # nbclient's way of saying "no reply"
            client.stop("the kernel stopped answering")
        died = client.stopped is None
    finally:
        deadline.cancel()
    if died:  # read once the kernel is gone, so that its exit status is known
        last = client.wire.get(index, {}).get("error", {}).get("ename")
        client.stopped = death(process and process.poll(), last)
    if client.stopped:
        for cell in notebook.cells[index:]:
            if cell.cell_type == "code":
                _not_run(cell, client.stopped)
    cells = {i: judged(wire, client.locked_counts, bool(_nbgrader(notebook.cells[i]).get("locked")
                                                        and not _nbgrader(notebook.cells[i]).get("grade")))
             for i, wire in client.wire.items()}
    return {"stopped": client.stopped, "repairs": repairs, "tampered_tests": tampered, "cells": cells,
            "seconds": time.perf_counter() - started}


def run_job(job):
    """Worker entry point: ``job`` is a dict made by ``Grader.prepare``; returns a dict of plain data."""
    notebook = nbformat.reads(job["notebook"], as_version=4)
    try:
        skip = {int(i): why for i, why in job.get("skip", {}).items()}
        outcome = execute(notebook, Limits(**job["limits"]), job.get("files"), job["sandbox"], skip)
    except Exception as error:  # the kernel could not start, or the client broke: an error, not a crash
        outcome = {"stopped": f"execution failed: {type(error).__name__}: {str(error)[:300]}",
                   "repairs": {}, "tampered_tests": [], "cells": {}, "seconds": 0.0}
        for cell in notebook.cells:
            if cell.cell_type == "code":
                _not_run(cell, outcome["stopped"])
    outcome["key"] = job["key"]
    outcome["notebook"] = nbformat.writes(notebook)
    return outcome
