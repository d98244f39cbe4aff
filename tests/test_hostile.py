"""Hostile submissions: a class full of attacks on 01_backprop, graded in one module fixture.

Every attack is built on the *untouched* student version (or on the solution where the point is
that honest work survives), so any point it earns beyond the stated figure is unearned. Two
groups, each in a course of its own, are graded at once on three sandboxed workers:

* ``CASES`` go through the whole grader, answer policy included: one case per attack class
  (reaching the guard, IPython's shell, ``sys``, frames, the history, the locked cells...);
* ``WALL_CASES`` are graded with the answer policy switched off, to show that the walls behind
  it hold on their own: the sandbox (files, network, limits), judging from the wire, and the
  in-kernel guard as a second line.

Each test checks one row: the status says why, the score is what was honestly earned.
Module-level checks: the run completed, the honest students got exactly their points, no page
or grades.csv row holds hidden-test code or what student code printed during the tests, and the
gradebook's tests and ``solutions/`` are unchanged.
"""
import copy as copy_module
import hashlib
import html
import re
import zipfile
from concurrent.futures import ThreadPoolExecutor

import nbformat
import pytest

from autograder.course import SOLUTIONS, solutions_digest
from autograder.examples import answered, load_pair
from autograder.examples import test_points as points_of
from autograder.executors import LocalExecutor
from autograder.grade import HIDDEN, Grader
from autograder.ingest import find_submissions
from autograder.sandbox import Limits

A = "01_backprop"
# The cell limit stops the endless loops and the hung kernels, and each of those cases spends all
# of it. The imports are done before the first cell, under the notebook's limit (the guard imports
# what the locked cells trust), so 01_backprop's slowest honest cell is its gates exercise: 0.4 s
# on a quiet 2-core machine. 10 s leaves room for a load that makes it 20 times slower.
LIMITS = Limits(memory_mb=1024, cpu_seconds=150, processes=64, file_mb=8, scratch_mb=16, tmp_mb=16,
                cell_timeout=10, notebook_timeout=150, output_mb=1)
SOLUTION, STUDENT = load_pair(A)
POINTS = points_of(SOLUTION)
TOTAL = sum(POINTS.values())
FIRST = "backprop-circuit"

WRONG_CIRCUIT = "def circuit(x, y, z):\n    return dict(q=0.0, f=0.0, df_dq=0.0, df_dx=0.0, df_dy=0.0, df_dz=0.0)\n"


def cells_after_imports(notebook, *sources, at_end=False):
    """A copy of ``notebook`` with new (student) code cells after the imports cell (or at the end)."""
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    index = len(copy.cells) if at_end else 1 + next(
        i for i, c in enumerate(copy.cells) if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-imports"))
    for offset, source in enumerate(sources):
        copy.cells.insert(index + offset, nbformat.v4.new_code_cell(source))
    return copy


def with_answer(notebook, test_id, source):
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    cell = next(c for c in copy.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"{test_id}-answer")
    cell.source = source
    return copy


def drop_tests(notebook):
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    copy.cells = [c for c in copy.cells if not c.metadata.get("nbgrader", {}).get("grade")]
    return copy


def edit_tests(notebook, source=None, points=None):
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    for cell in copy.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            if source is not None:
                cell.source = source
            if points is not None:
                meta["points"] = points
                meta["locked"] = False
    return copy


LIAR = '''import sys
class Liar:
    """Reads the value the check expects from the caller's frame."""
    def _expected(self):
        frame = sys._getframe(1)
        while frame is not None and "expected" not in frame.f_locals:
            frame = frame.f_back
        return frame.f_locals["expected"] if frame is not None else 0.0
    def __array__(self, dtype=None, copy=None):
        import numpy
        return numpy.asarray(self._expected(), dtype=dtype)
    def __float__(self):
        return float(self._expected())
def circuit(x, y, z):
    return {k: Liar() for k in ("q", "f", "df_dq", "df_dx", "df_dy", "df_dz")}
'''

CIRCUIT_BY_AUTOGRAD = """import torch
def circuit(x, y, z):
    x, y, z = (torch.tensor(float(v), requires_grad=True) for v in (x, y, z))
    q = x + y
    q.retain_grad()
    f = q * z
    f.backward()
    return dict(q=q.item(), f=f.item(), df_dq=q.grad.item(), df_dx=x.grad.item(), df_dy=y.grad.item(),
                df_dz=z.grad.item())
"""
FRAME_WALKER = """def circuit(x, y, z):
    def probe():
        yield
    walker = probe()
    frame = walker.gi_frame
    return dict(q=0.0, f=0.0, df_dq=0.0, df_dx=0.0, df_dy=0.0, df_dz=0.0)
"""
LEAKER = ("def circuit(x, y, z):\n    print('LEAK' + 'MARK printed', x, y, z)\n"
          "    raise ValueError('LEAK' + f'MARK raised {x} {y} {z}')\n")
HONEST_EXTRAS = ("from math import exp\nimport numpy as np\nimport copy, functools, itertools\n"
                 "x, y, z = -2.0, 5.0, -4.0\ncheck_close = check_close\n"
                 "def helper(values):\n    print('my helper', values)\n    return sum(values)\n"
                 "fig, ax = plt.subplots()\nax.plot([1, 2, 3], [helper([1]), 2, 3])\nax.set_xlabel('step')\n"
                 "plt.close(fig)")


def without_imports_cell(notebook, *sources):
    copy = cells_after_imports(notebook, *sources)
    copy.cells = [c for c in copy.cells if not c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-imports")]
    return copy


def edited_imports_cell(notebook, extra, duplicate=False):
    copy = nbformat.reads(nbformat.writes(notebook), as_version=4)
    index = next(i for i, c in enumerate(copy.cells)
                 if c.metadata.get("nbgrader", {}).get("grade_id", "").endswith("-imports"))
    cell = copy.cells[index]
    if duplicate:
        forged = nbformat.from_dict(copy_module.deepcopy(dict(cell)))
        forged.id = "forged-imports"
        forged.source = cell.source + "\n" + extra
        copy.cells.insert(index, forged)
    else:
        cell.metadata["nbgrader"]["locked"] = False
        cell.source += "\n" + extra
    return copy


NO_OP_CHECKS = "check_close = check_true = check_shape = check_raises = lambda *args, **kwargs: None"

# student -> (notebook, or bytes for a raw file, or a str naming a special file), expected statuses,
# expected score, a word the reason must contain (lower case). Graded WITH the answer policy.
CASES = {
    # ---- files that are not (this course's) notebooks: rejected unread ----
    "invalid_json": (b'{"cells": [', {"rejected"}, 0, "json"),
    "not_utf8": (b"\xff\xfe\x00garbage\x80", {"rejected"}, 0, "utf-8"),
    "not_a_notebook": (b'{"hello": "world"}', {"rejected"}, 0, "notebook"),
    "huge_file": ("sparse-200MB", {"rejected"}, 0, "mb"),
    "other_course": (nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")]),
                     {"rejected"}, 0, "not a notebook of this course"),
    "corrupt_metadata": (edit_tests(STUDENT, points="lots"), {"rejected", "graded"}, 0, ""),
    # ---- odd but honest files: graded by their content ----
    "old_nbformat": (nbformat.convert(answered(STUDENT, SOLUTION), 3), {"graded"}, TOTAL, "nbformat 3"),
    "renamed": (answered(STUDENT, SOLUTION, [FIRST]), {"graded"}, POINTS[FIRST], "submitted as"),
    "duplicate_ids": ("duplicate-ids", {"graded"}, TOTAL, "duplicate cell ids"),
    "wrong_kernel": ("wrong-kernel", {"graded"}, TOTAL, "kernel"),
    # ---- the locked cells: restored, or rejected when they cannot be ----
    "deleted_tests": (drop_tests(answered(STUDENT, SOLUTION)), {"flagged"}, TOTAL, "restored the locked cell"),
    "edited_tests": (edit_tests(STUDENT, source="pass"), {"graded"}, 0, f"failed {len(POINTS)} of {len(POINTS)}"),
    "more_points": (edit_tests(answered(STUDENT, SOLUTION, [FIRST]), points=500), {"graded"}, POINTS[FIRST], ""),
    "fake_test_cell": ("fake-test", {"graded"}, 0, ""),
    "deleted_imports": (without_imports_cell(with_answer(STUDENT, FIRST, WRONG_CIRCUIT), NO_OP_CHECKS),
                        {"flagged"}, 0, "restored the locked cell backprop-imports"),
    "unlocked_imports": (edited_imports_cell(with_answer(STUDENT, FIRST, WRONG_CIRCUIT), NO_OP_CHECKS),
                         {"flagged"}, 0, "restored the locked cell backprop-imports"),
    "duplicated_imports": (edited_imports_cell(with_answer(STUDENT, FIRST, WRONG_CIRCUIT), NO_OP_CHECKS, True),
                           {"rejected"}, 0, "appears 2 times"),
    # ---- reaching the guard, the shell or the interpreter: the policy refuses to run it ----
    "guard_in_builtins": (cells_after_imports(STUDENT, "import builtins\nfor key in dir(builtins):\n    pass"),
                          {"flagged"}, 0, "importing `builtins`"),
    "guard_closure": (cells_after_imports(STUDENT, "cells = print.__self__"), {"flagged"}, 0, "`__self__`"),
    "user_expressions": (cells_after_imports(STUDENT, "shell = get_ipython()\nshell.user_expressions = dict"),
                         {"flagged"}, 0, "get_ipython"),
    "event_callbacks": (cells_after_imports(STUDENT, "get_ipython().events.register('post_run_cell', print)"),
                        {"flagged"}, 0, "get_ipython"),
    "audit_hook": (cells_after_imports(STUDENT, "import sys\nsys.addaudithook(print)"), {"flagged"}, 0,
                   "importing `sys`"),
    "displayhook": (cells_after_imports(STUDENT, "import sys\nsys.displayhook = print"), {"flagged"}, 0, "`sys`"),
    "magic": (cells_after_imports(STUDENT, "%load_ext autoreload\n!ls /"), {"flagged"}, 0, "magics"),
    "shadow_checks_global": (with_answer(STUDENT, FIRST, "import utils.checks\nutils.checks.np = None\n" + WRONG_CIRCUIT),
                             {"flagged"}, 0, "imported from `utils`"),
    "patch_numpy": (with_answer(STUDENT, FIRST, "np.allclose = lambda *a, **k: True\n" + WRONG_CIRCUIT),
                    {"flagged"}, 0, "imported from `numpy`"),
    "getattr_patch": (with_answer(STUDENT, FIRST, "patch = getattr(np, 'allclose')\n" + WRONG_CIRCUIT),
                      {"flagged"}, 0, "`getattr`"),
    "global_rebind": (with_answer(STUDENT, FIRST, "def circuit(x, y, z):\n    global check_close\n"
                                                  "    check_close = print\n    return {}\n"), {"flagged"}, 0, "global"),
    "read_history": (with_answer(STUDENT, FIRST, "def circuit(x, y, z):\n    test = In[-1]\n    return {}\n"),
                     {"flagged"}, 0, "`in`"),
    "read_linecache": (with_answer(STUDENT, FIRST, "import linecache\n" + WRONG_CIRCUIT), {"flagged"}, 0, "linecache"),
    "frame_walk": (with_answer(STUDENT, FIRST, FRAME_WALKER), {"flagged"}, 0, "gi_frame"),
    "format_reflection": (with_answer(STUDENT, FIRST, "leak = '{0.__globals__}'.format(print)\n" + WRONG_CIRCUIT),
                          {"flagged"}, 0, "format field"),
    "frame_reading_value": (with_answer(STUDENT, FIRST, LIAR), {"flagged"}, 0, "importing `sys`"),
    "library_does_the_work": (answered(with_answer(STUDENT, FIRST, CIRCUIT_BY_AUTOGRAD), SOLUTION,
                                       [t for t in POINTS if t != FIRST]),
                              {"flagged"}, TOTAL - POINTS[FIRST], "would do this exercise's work"),
    # ---- rigged values: pass the policy, fail the checks ----
    "rigged_eq": (with_answer(STUDENT, FIRST, "class Yes:\n    __eq__ = lambda self, other: True\n"
                                                "    __float__ = lambda self: 3.0\n"
                                                "def circuit(x, y, z):\n    return {k: Yes() for k in "
                                                "('q', 'f', 'df_dq', 'df_dx', 'df_dy', 'df_dz')}"), {"graded"}, 0, ""),
    # ---- printing or raising what the tests gave: never shown ----
    "leak_inputs": (with_answer(STUDENT, FIRST, LEAKER), {"graded"}, 0, ""),
}
# Graded with the answer policy OFF: the sandbox, wire judging and the guard hold without it.
WALL_CASES = {
    # ---- resources ----
    "output_200mb": (cells_after_imports(STUDENT, "for _ in range(200):\n    print('x' * 1_000_000)"),
                     {"graded", "error"}, 0, ""),  # the output limit or the memory limit stops it
    "infinite_loop": (cells_after_imports(STUDENT, "while True:\n    pass"), {"error"}, 0, "limit per cell"),
    "unstoppable_loop": (cells_after_imports(STUDENT, "while True:\n    try:\n        while True: pass\n"
                                                      "    except BaseException:\n        pass"),
                         {"error"}, 0, "limit"),
    "memory_bomb": (cells_after_imports(STUDENT, "blocks = []\nwhile True:\n    blocks.append(bytearray(50 << 20))"),
                    {"graded", "error"}, 0, ""),
    "fork_bomb": (cells_after_imports(STUDENT, "import os\nwhile True:\n    os.fork()"), {"graded", "error"}, 0, ""),
    "disk_filler": (cells_after_imports(STUDENT, "i = 0\nwhile True:\n    open(f'junk{i}', 'wb').write(b'x' * (1 << 20))"
                                                 "\n    i += 1"), {"graded"}, 0, ""),
    "big_file": (cells_after_imports(STUDENT, "open('/tmp/big', 'wb').write(b'x' * (100 << 20))"), {"graded"}, 0, ""),
    # ---- leaving early: the grader's words, never the kernel's ----
    "sys_exit": (cells_after_imports(STUDENT, "import sys\nsys.exit(0)"), {"graded", "error"}, 0, ""),
    "os_exit": (cells_after_imports(answered(STUDENT, SOLUTION), "import os\nos._exit(0)"), {"error"}, 0, "kernel died"),
    "kill_self": (cells_after_imports(STUDENT, "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"),
                  {"error"}, 0, "kernel died"),
    "kill_sandbox": (cells_after_imports(STUDENT, "import os, signal\nos.kill(1, signal.SIGKILL)"),
                     {"graded", "error"}, 0, ""),
    "exit_after_work": (cells_after_imports(answered(STUDENT, SOLUTION), "import os\nos._exit(0)", at_end=True),
                        {"error"}, TOTAL, "kernel died"),
    "last_words": (cells_after_imports(answered(STUDENT, SOLUTION),
                                       "import os, sys\nsys.stderr.write('grader bug, regrade by hand\\n')\n"
                                       "sys.stderr.flush()\nos._exit(3)", at_end=True),
                   {"error"}, TOTAL, "exit status 3"),
    # ---- judging from the wire: what the kernel shows is not a result ----
    "clear_errors": (cells_after_imports(STUDENT, "from IPython.display import clear_output\n"
                                                  "get_ipython().events.register('post_run_cell', "
                                                  "lambda result: clear_output())"), {"graded", "flagged"}, 0, ""),
    "flip_result": (cells_after_imports(STUDENT, "def flip(result):\n    result.error_in_exec = None\n"
                                                 "get_ipython().events.register('post_run_cell', flip)"),
                    {"graded", "flagged"}, 0, ""),
    # ---- monkeypatching the checks: the guard (second line) undoes it ----
    "patch_numpy_unchecked": (with_answer(STUDENT, FIRST, "np.allclose = lambda *a, **k: True\nnp.isfinite = lambda a: "
                                                            "np.ones(np.shape(a), bool)\n" + WRONG_CIRCUIT),
                              {"flagged"}, 0, "numpy.allclose"),
    "patch_check_close_code": (with_answer(STUDENT, FIRST, "import utils.checks\nutils.checks.check_close.__code__ = "
                                                             "(lambda *a, **k: True).__code__\n" + WRONG_CIRCUIT),
                               {"flagged"}, 0, "__code__"),
    "patch_check_close": (with_answer(STUDENT, FIRST, "import utils.checks\ncheck_close = lambda *a, **k: True\n"
                                                        "utils.checks.check_close = check_close\n" + WRONG_CIRCUIT),
                          {"flagged"}, 0, "check_close"),
    "patch_as_array_code": (with_answer(STUDENT, FIRST, "import numpy, utils.checks\nutils.checks.as_array.__code__ = "
                                                          "(lambda value, name='value': numpy.zeros(())).__code__\n"
                                                          + WRONG_CIRCUIT), {"flagged"}, 0, "__code__"),
    "patch_torch": (cells_after_imports(STUDENT, "import torch\ntorch.allclose = lambda *a, **k: True\n"
                                                 "torch.Tensor.__eq__ = lambda self, other: True"), {"flagged"}, 0, "torch"),
    "patch_sys_modules": (cells_after_imports(STUDENT, "import sys, types\nfake = types.ModuleType('utils.checks')\n"
                                                       "fake.check_close = lambda *a, **k: True\n"
                                                       "sys.modules['utils.checks'] = fake"), {"flagged"}, 0, "sys.modules"),
    "thread_patcher": (cells_after_imports(STUDENT, "import threading, numpy\n"
                                                    "def spin():\n    while True:\n"
                                                    "        numpy.allclose = lambda *a, **k: True\n"
                                                    "threading.Thread(target=spin, daemon=True).start()"),
                       {"flagged", "error"}, 0, ""),
    "ndarray_subclass": (with_answer(STUDENT, FIRST, "import numpy as np\nclass Liar(np.ndarray):\n"
                                                      "    __eq__ = lambda self, other: np.ones_like(self, dtype=bool)\n"
                                                      "    def __array_ufunc__(self, *args, **kwargs):\n"
                                                      "        return True\n"
                                                      "def circuit(x, y, z):\n"
                                                      "    return {k: np.zeros(()).view(Liar) for k in "
                                                      "('q', 'f', 'df_dq', 'df_dx', 'df_dy', 'df_dz')}"),
                         {"graded"}, 0, ""),
    "frame_reading_value_unchecked": (with_answer(STUDENT, FIRST, LIAR), {"graded"}, 0, ""),
    # ---- rewriting or silencing the later test cells ----
    "rewrite_tests": (cells_after_imports(STUDENT, "get_ipython().input_transformers_post.append("
                                                   "lambda lines: ['pass\\n'])"), {"flagged"}, 0, "transformers"),
    "strip_asserts": (cells_after_imports(STUDENT, "import ast\nclass Gut(ast.NodeTransformer):\n"
                                                   "    def visit_Module(self, node):\n"
                                                   "        return ast.Module(body=[ast.Pass()], type_ignores=[])\n"
                                                   "get_ipython().ast_transformers.append(Gut())"),
                      {"flagged"}, 0, "ast_transformers"),
    "swallow_errors": (cells_after_imports(STUDENT, "get_ipython().set_custom_exc((BaseException,), "
                                                    "lambda *args, **kwargs: None)"), {"flagged"}, 0, "custom exception"),
    "hide_tracebacks": (cells_after_imports(STUDENT, "ip = get_ipython()\nip.showtraceback = lambda *a, **k: None\n"
                                                     "ip._showtraceback = lambda *a, **k: None"), {"flagged"}, 0, "shell"),
    "patch_run_cell": (cells_after_imports(STUDENT, "from IPython.core.interactiveshell import InteractiveShell\n"
                                                    "original = InteractiveShell.run_cell_async\n"
                                                    "async def skip(self, raw_cell, *args, **kwargs):\n"
                                                    "    return await original(self, 'pass', *args, **kwargs)\n"
                                                    "InteractiveShell.run_cell_async = skip"),
                       {"flagged", "error"}, 0, ""),  # the kernel hangs: the cell limit stops it
    "trace_skipper": (cells_after_imports(STUDENT, "import sys\ndef tracer(frame, event, arg):\n"
                                                   "    return tracer\nsys.settrace(tracer)"), {"graded"}, 0, ""),
    # ---- escaping the sandbox ----
    "read_secrets": ("read-secrets", {"graded"}, 0, ""),
    "network": (cells_after_imports(STUDENT, "import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=3)\n"
                                             "    print('NETWORK REACHED')\nexcept OSError as error:\n"
                                             "    print('no network:', error)"), {"graded"}, 0, ""),
}
NOISY_CIRCUIT = """import warnings
import torch
import torch.nn.functional as F


def circuit(x, y, z):
    t = torch.ones(2, requires_grad=True)
    loss = float(t.sum())                     # a scalar from a tensor that requires grad
    copied = torch.tensor(torch.zeros(2))     # copy-constructing a tensor warns
    probabilities = F.softmax(torch.zeros(3))  # softmax without dim warns
    warnings.warn("a warning of the student's own", UserWarning)
    q = x + y
    return {"q": q, "f": q * z, "df_dq": z, "df_dx": z, "df_dy": z, "df_dz": q}
"""
HONEST = {"honest_full": (answered(STUDENT, SOLUTION), TOTAL),
          "honest_warnings": (with_answer(answered(STUDENT, SOLUTION), FIRST, NOISY_CIRCUIT), TOTAL),
          "honest_but_wrong_circuit": (with_answer(answered(STUDENT, SOLUTION), FIRST, WRONG_CIRCUIT),
                                       TOTAL - POINTS[FIRST]),
          "honest_partial": (answered(STUDENT, SOLUTION, sorted(POINTS)[::2]),
                             sum(POINTS[t] for t in sorted(POINTS)[::2])),
          "honest_styles": (cells_after_imports(answered(STUDENT, SOLUTION), HONEST_EXTRAS,
                                                "print('free cell at the end', helper([x, y, z]))", at_end=True), TOTAL)}


def _special(kind, path, course):
    if kind == "sparse-200MB":
        with open(path, "wb") as handle:
            handle.truncate(200 << 20)  # a 200 MB file that costs no disk
    elif kind == "duplicate-ids":
        notebook = answered(STUDENT, SOLUTION)
        for cell in notebook.cells[1:]:
            cell.id = notebook.cells[0].id
        path.write_text(_dump(notebook))
    elif kind == "wrong-kernel":
        notebook = answered(STUDENT, SOLUTION)
        notebook.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
        nbformat.write(notebook, path)
    elif kind == "fake-test":
        notebook = cells_after_imports(STUDENT, "pass  # 'worth' 100 points")
        notebook.cells[3].metadata["nbgrader"] = {"grade": True, "grade_id": "free-points", "points": 100,
                                                  "locked": True, "solution": False, "schema_version": 3}
        nbformat.write(notebook, path)
    elif kind == "read-secrets":
        code = (f"import glob, os\nfound = []\n"
                f"for pattern in [{str(SOLUTIONS / '*' / '*.ipynb')!r}, {str(course / '**' / '*.db')!r}, "
                f"{str(course / 'source' / '**' / '*.ipynb')!r}, {str(SOLUTIONS.parent / '*.py')!r}, "
                f"'/work/*/solutions/*/*.ipynb', '/tmp/**/*.db', '/home/*/*']:\n"
                f"    found += glob.glob(pattern, recursive=True)\n"
                f"print('FOUND', found)\n"
                f"try:\n    open({str(course / 'gradebook.db')!r}, 'a').write('x')\n"
                f"except OSError as error:\n    print('gradebook not writable:', error)\n")
        nbformat.write(cells_after_imports(STUDENT, code), path)


def _dump(notebook):
    import json
    return json.dumps(notebook)


def _gradebook_tests(course):
    """A digest of what the gradebook holds about the tests: sources, checksums, points."""
    from nbgrader.api import Gradebook
    digest = hashlib.sha256()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        notebook = gradebook.find_notebook(A, A)
        for cell in sorted(notebook.source_cells, key=lambda c: c.name):
            digest.update(f"{cell.name}\0{cell.source}\0{cell.checksum}\0{cell.locked}".encode())
        for cell in sorted(notebook.grade_cells, key=lambda c: c.name):
            digest.update(f"{cell.name}\0{cell.max_score}".encode())
    return digest.hexdigest()


def _write_class(folder, cases, course):
    for student, (payload, *_rest) in cases.items():
        name = {"renamed": "Copy of 01_backprop (1).ipynb", "other_course": "lab_report.ipynb"}.get(student, f"{A}.ipynb")
        path = folder / student / name
        path.parent.mkdir(parents=True)
        if isinstance(payload, bytes):
            path.write_bytes(payload)
        elif isinstance(payload, str):
            _special(payload, path, course)
        else:
            path.write_text(_dump(payload))


@pytest.fixture(scope="module")
def graded(tmp_path_factory, course_copy):
    """Both classes graded at once, each in a course of its own, on three workers: the cases that
    spend the cell limit waiting overlap with the others."""
    root = tmp_path_factory.mktemp("hostile")
    courses = {"in": course_copy([A], root / "course"), "walls": course_copy([A], root / "walls-course")}
    _write_class(root / "in", {**CASES, **{k: (v[0],) for k, v in HONEST.items()}}, courses["in"])
    _write_class(root / "walls", WALL_CASES, courses["walls"])
    before = solutions_digest([A])
    executor = LocalExecutor(3)
    try:
        options = dict(limits=LIMITS, executor=executor, feedback_dir=root / "feedback")
        graders = {"in": Grader(courses["in"], [A], **options),
                   "walls": Grader(courses["walls"], [A], answer_policy=False, **options)}
        tests_before = {name: _gradebook_tests(course) for name, course in courses.items()}
        with ThreadPoolExecutor(len(graders)) as both:
            runs = [both.submit(grader.grade_many, find_submissions(root / name)) for name, grader in graders.items()]
            results = [result for run in runs for result in run.result()]
    finally:
        executor.close()
    return {"results": {r.student: r for r in results}, "root": root, "courses": courses,
            "solutions_before": before, "tests_before": tests_before}


@pytest.mark.notebook
@pytest.mark.sandbox
def test_the_run_completes_and_honest_students_get_exactly_their_points(graded):
    results = graded["results"]
    assert set(results) == set(CASES) | set(WALL_CASES) | set(HONEST)
    for student, (_, points) in HONEST.items():
        assert (results[student].status, results[student].score) == ("graded", points), results[student]


@pytest.mark.notebook
@pytest.mark.sandbox
def test_warnings_cost_nothing_and_a_real_failure_shows_its_check_s_message(graded):
    noisy = graded["results"]["honest_warnings"]
    assert [t.message for t in noisy.tests] == [""] * len(POINTS), noisy
    page = (graded["root"] / "feedback" / "honest_warnings" / f"{A}.html").read_text()
    assert "This test printed warnings; warnings cost no points." in page
    wrong = next(t for t in graded["results"]["honest_but_wrong_circuit"].tests if t.grade_id == FIRST)
    assert wrong.score == 0 and "values differ" in wrong.message and "expected" in wrong.message, wrong


@pytest.mark.notebook
@pytest.mark.sandbox
def test_gradebook_tests_and_solutions_are_unchanged(graded):
    assert solutions_digest([A]) == graded["solutions_before"]
    assert {name: _gradebook_tests(course) for name, course in graded["courses"].items()} == graded["tests_before"]


@pytest.mark.notebook
@pytest.mark.sandbox
def test_no_page_or_reason_shows_hidden_test_code_or_what_ran_during_the_tests(graded):
    visible = {line.strip() for cell in STUDENT.cells for line in cell.source.splitlines()}
    hidden = {line.strip() for cell in SOLUTION.cells for block in HIDDEN.findall(cell.source)
              for line in block.splitlines() if len(line.strip()) >= 12} - visible
    pages = list((graded["root"] / "feedback").rglob("*.html"))
    assert len(pages) == len(CASES) + len(WALL_CASES) + len(HONEST)
    for page in pages:
        text = html.unescape(page.read_text())
        leaked = [line for line in hidden if line in text]
        assert not leaked, (page, leaked[:3])
        assert "LEAKMARK printed" not in text and "LEAKMARK raised" not in text, page
    for result in graded["results"].values():
        assert "regrade by hand" not in result.reason and "LEAKMARK" not in result.reason, result
        assert not any(line in result.reason for line in hidden), result


@pytest.mark.notebook
@pytest.mark.sandbox
@pytest.mark.parametrize("student", sorted(CASES) + sorted(WALL_CASES))
def test_hostile_submission(graded, student):
    _, statuses, score, word, *_ = CASES.get(student) or WALL_CASES[student]
    result = graded["results"][student]
    assert result.status in statuses, result
    assert result.score == score, result
    assert result.max_score == (0 if student == "other_course" else TOTAL), result
    assert word in result.reason.lower(), result


@pytest.mark.notebook
@pytest.mark.sandbox
def test_the_sandbox_hides_the_course_and_the_network(graded):
    autograded = graded["courses"]["walls"] / "autograded"  # read_secrets, output_200mb and network are walls
    secrets = (autograded / "read_secrets" / A / f"{A}.ipynb").read_text()
    assert "FOUND []" in secrets
    assert "gradebook not writable" in secrets
    assert (autograded / "output_200mb" / A / f"{A}.ipynb").stat().st_size < 2 * LIMITS.output_mb * 2**20
    network = (autograded / "network" / A / f"{A}.ipynb").read_text()
    assert "no network" in network and "NETWORK REACHED" not in network.replace("print('NETWORK REACHED')", "")


def test_lms_zip_latest_resubmission_wins(tmp_path):
    """Canvas names with -1/-2 resubmission suffixes and Moodle folders; no zip-slip."""
    archive = tmp_path / "download.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("doejane_1234_5678_01_backprop.ipynb", "old")
        zipped.writestr("doejane_1234_5680_01_backprop-2.ipynb", "newest")
        zipped.writestr("doejane_LATE_1234_5679_01_backprop-1.ipynb", "middle")
        zipped.writestr("roejohn_99_100_Copy of 01_backprop.ipynb", "renamed")
        zipped.writestr("Ann Lee_42_assignsubmission_file_/01_backprop.ipynb", "moodle")
        zipped.writestr("../../escape_1_2_01_backprop.ipynb", "slip")
        zipped.writestr("notes.txt", "ignored")
    found = {s.student: s for s in find_submissions(archive, tmp_path / "work")}
    assert found["1234"].path.read_text() == "newest" and "latest of 3" in found["1234"].note
    assert found["1234"].name == "doejane"
    assert found["99"].assignment == "Copy of 01_backprop"
    assert found["42"].name == "Ann Lee" and found["42"].path.read_text() == "moodle"
    assert all(tmp_path / "work" in s.path.parents for s in found.values())
    assert re.fullmatch(r"\d+\.ipynb", found["1"].path.name)
