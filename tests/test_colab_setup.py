"""The Colab set-up cell: what it runs, what it says when the clone fails, and a simulated Colab.

Every notebook's first cell is exactly ``utils.colab.setup_code()``, so the address lives in one
place. The unit tests ``exec`` the cell with ``google.colab`` faked and ``subprocess.run``
recorded. The simulation runs it for real: a fresh virtual environment (``--system-site-packages``,
because a bare one would have to download torch, which Colab already has), a kernel in it, a fake
``google.colab`` module, and a ``file://`` clone of a published edition.
"""
import json
import os
import shutil
import subprocess
import sys
import time
import types

import ipywidgets
import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from autograder.course import NOTEBOOKS, REPO, SOLUTIONS
from autograder.publish import publish
from utils.colab import BRANCH, CLONE_DIR, COURSE_REPO, colab_url, setup_code

STUDENT = sorted(NOTEBOOKS.glob("*/*.ipynb"))
ALL = sorted(SOLUTIONS.glob("*/*.ipynb")) + STUDENT
IPYWIDGETS_7 = REPO / ".ipyw7"  # Colab's ipywidgets 7.7.1, see tests/test_utils_widgets.py
WIDGET = "application/vnd.jupyter.widget-view+json"


def first_cell(path):
    return nbformat.read(path, as_version=4).cells[0]


def rel(path):
    return path.relative_to(REPO).as_posix()


@pytest.fixture
def colab(monkeypatch):
    """A fake Colab: ``google.colab`` importable, ``git`` recorded (its result settable), no clone yet."""
    calls = types.SimpleNamespace(commands=[], widget_manager=0, clone=subprocess.CompletedProcess([], 0, "", ""))
    output = types.SimpleNamespace(enable_custom_widget_manager=lambda: setattr(
        calls, "widget_manager", calls.widget_manager + 1))
    monkeypatch.setitem(sys.modules, "google", sys.modules.get("google") or types.ModuleType("google"))
    monkeypatch.setitem(sys.modules, "google.colab", types.SimpleNamespace(output=output))

    def fake_run(args, **kwargs):
        calls.commands.append(list(args))
        return calls.clone
    monkeypatch.setattr(subprocess, "run", fake_run)
    monkeypatch.setattr(sys, "path", list(sys.path))
    real_isdir = os.path.isdir
    calls.cloned = False
    monkeypatch.setattr(os.path, "isdir", lambda p: calls.cloned if p == CLONE_DIR else real_isdir(p))
    monkeypatch.delenv("DLF_COURSE_REPO", raising=False)
    monkeypatch.delenv("DLF_BRANCH", raising=False)
    return calls


def run_cell(source=None):
    exec(compile(source or setup_code(), "<set-up cell>", "exec"), {"__name__": "__main__"})


def test_there_are_notebooks():
    assert STUDENT, "no student notebooks: run python -m autograder release"


@pytest.mark.parametrize("path", ALL, ids=rel)
def test_first_cell_is_the_setup_cell(path):
    cell = first_cell(path)
    assert cell.cell_type == "code"
    assert cell.source == setup_code(), f"{rel(path)} starts with an old or different set-up cell: release again"
    meta = cell.metadata.get("nbgrader", {})
    assert meta.get("locked") and not meta.get("solution") and not meta.get("grade"), \
        "the set-up cell is read-only and ungraded"


def test_in_colab_it_clones_the_edition_once_and_imports_from_it_without_pip(colab):
    run_cell()
    assert colab.commands == [["git", "clone", "-q", "--depth", "1", "--branch", BRANCH, COURSE_REPO, CLONE_DIR]]
    assert sys.path[0] == CLONE_DIR, "the running kernel must import utils from the clone"
    colab.cloned = True
    run_cell()
    assert len(colab.commands) == 1 and sys.path.count(CLONE_DIR) == 1, "a second run only fixes the path"


def test_ipywidgets_8_gets_colabs_custom_widget_manager_and_7_keeps_colabs_own(colab, monkeypatch):
    monkeypatch.setattr(ipywidgets, "__version__", "8.1.5")
    run_cell()
    assert colab.widget_manager == 1
    monkeypatch.setattr(ipywidgets, "__version__", "7.7.1")
    run_cell()
    assert colab.widget_manager == 1


def test_a_failed_clone_says_which_address_failed_and_what_to_set_in_one_line(colab):
    colab.clone = subprocess.CompletedProcess([], 128, "", "Cloning into '/content/course'...\n"
                                                           "fatal: repository 'x' not found\n"
                                                           "Please make sure you have the correct access rights\n")
    with pytest.raises(Exception) as raised:
        run_cell()
    shown = raised.value._render_traceback_()  # what IPython prints instead of a traceback
    assert len(shown) == 1 and "\n" not in shown[0]
    assert COURSE_REPO in shown[0] and "repository 'x' not found. " in shown[0] and "rights" not in shown[0]
    assert "DLF_COURSE_REPO" in shown[0]
    assert sys.path[0] != CLONE_DIR


def test_environment_variables_choose_another_repository(colab, monkeypatch):
    monkeypatch.setenv("DLF_COURSE_REPO", "https://github.com/fork/course")
    monkeypatch.setenv("DLF_BRANCH", "dev")
    run_cell()
    assert colab.commands[0][-3:] == ["dev", "https://github.com/fork/course", CLONE_DIR]


def test_outside_colab_it_runs_nothing(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("ran a command outside Colab"))
    before = list(sys.path)
    run_cell()
    assert sys.path == before


def test_setup_cell_has_no_magics_and_names_the_repository_once():
    source = setup_code()
    assert not any(line.lstrip().startswith(("!", "%")) for line in source.splitlines())
    assert source.count(COURSE_REPO) == 1
    assert "pip" not in source and "torch" not in source.replace("numpy, torch, matplotlib", "")


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


# ---- the simulation: a published edition, cloned over file:// by a kernel in a fresh venv ----------

FAKE_COLAB = '''import sys, time, types
google = sys.modules.setdefault("google", types.ModuleType("google"))
colab = types.ModuleType("google.colab")
colab.output = types.SimpleNamespace(enable_custom_widget_manager=lambda: print("custom widget manager on"))
sys.modules["google.colab"] = colab
started = time.perf_counter()'''

AFTER_SETUP = '''print(f"set-up {time.perf_counter() - started:.2f} s")
started = time.perf_counter()
import utils, utils.data, utils.widgets
from utils.data import load_mnist
data = load_mnist(full=False, verbose=False)
print(f"import and data {time.perf_counter() - started:.2f} s: {len(data.train)} train digits, utils from {utils.__file__}")'''

WIDGET_CELL = '''import ipywidgets
print("ipywidgets", ipywidgets.__version__)
utils.widgets.slider_plot(lambda a=1.0: None, a=(0.0, 2.0, 0.5, 1.0))'''


@pytest.fixture(scope="module")
def simulated_colab(tmp_path_factory):
    """(the venv's kernel name, the edition's file:// URL, a folder standing in for /content)."""
    root = tmp_path_factory.mktemp("colab")
    edition = root / "edition"
    started = time.perf_counter()
    url = f"file://{edition}"
    publish(edition, url, "main")
    git = ["git", "-c", "user.name=course", "-c", "user.email=course@example.org"]
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", "edition"]):
        subprocess.run(git + command, cwd=edition, check=True)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    kernel = root / "jupyter" / "kernels" / "colab-sim"
    kernel.mkdir(parents=True)
    (kernel / "kernel.json").write_text(json.dumps({
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "simulated Colab", "language": "python"}))
    print(f"\nsimulated Colab: edition published and committed, venv made in {time.perf_counter() - started:.1f} s")
    return types.SimpleNamespace(root=root, url=url, jupyter=root / "jupyter", venv=venv)


def simulate(sim, setup, monkeypatch, ipywidgets_path=None):
    """Run the fake-Colab prelude, ``setup``, the import/data cell and a widget cell in the venv's kernel."""
    content = sim.root / "content"
    shutil.rmtree(content, ignore_errors=True)
    content.mkdir()
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        FAKE_COLAB, setup.replace(f'"{CLONE_DIR}"', f'"{content / "course"}"'), AFTER_SETUP, WIDGET_CELL)])
    monkeypatch.setenv("JUPYTER_PATH", str(sim.jupyter))
    monkeypatch.setenv("PYTHONPATH", str(ipywidgets_path) if ipywidgets_path else "")  # not this checkout
    monkeypatch.setenv("DLF_OFFLINE", "1")
    site = sorted(p.name for p in (sim.venv / "lib").rglob("site-packages/*"))
    started = time.perf_counter()
    try:
        NotebookClient(notebook, timeout=300, kernel_name="colab-sim",
                       resources={"metadata": {"path": str(content)}}).execute()
    except CellExecutionError:
        pass  # "Run all" stops at the first cell that fails, as here
    print(f"kernel run {time.perf_counter() - started:.1f} s")
    assert sorted(p.name for p in (sim.venv / "lib").rglob("site-packages/*")) == site, "the set-up installed packages"
    return notebook.cells, content / "course"


def text(cell):
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


@pytest.mark.notebook
@pytest.mark.parametrize("widgets", ["8", "7.7.1"])
def test_simulated_colab_clones_the_edition_imports_utils_and_loads_the_data(simulated_colab, widgets, monkeypatch):
    if widgets == "7.7.1" and not (IPYWIDGETS_7 / "ipywidgets").is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"no ipywidgets 7.7.1 in {IPYWIDGETS_7} (.ci/run installs it)")
        pytest.skip(f"no ipywidgets 7.7.1 in {IPYWIDGETS_7}: pip install --target .ipyw7 --no-deps "
                    "ipywidgets==7.7.1 ipython_genutils")
    setup = setup_code(simulated_colab.url, "main")
    cells, clone = simulate(simulated_colab, setup, monkeypatch, IPYWIDGETS_7 if widgets == "7.7.1" else None)
    print(text(cells[2]).strip())
    assert (clone / "utils" / "checks.py").is_file() and (clone / "data" / "mnist_5k.npz").is_file()
    assert "4000 train digits" in text(cells[2]) and f"utils from {clone}/utils/__init__.py" in text(cells[2])
    assert ("custom widget manager on" in text(cells[1])) == (widgets == "8")
    assert f"ipywidgets {widgets}" in text(cells[3])
    assert any(WIDGET in o.get("data", {}) for o in cells[3].outputs), "the slider did not display"
    assert not [o for cell in cells for o in cell.outputs if o.output_type == "error"]


@pytest.mark.notebook
def test_simulated_colab_with_a_wrong_address_prints_one_line_and_stops(simulated_colab, monkeypatch):
    wrong = simulated_colab.url + "-missing"
    cells, clone = simulate(simulated_colab, setup_code(wrong, "main"), monkeypatch)
    (error,) = [o for o in cells[1].outputs if o.output_type == "error"]
    assert len(error.traceback) == 1, error.traceback
    line = error.traceback[0]
    print(line)
    assert line.startswith(f"Set-up failed: git could not clone {wrong} (branch main)") and "DLF_COURSE_REPO" in line
    assert cells[2].outputs == [] and not clone.exists(), "nothing after the set-up cell ran"
