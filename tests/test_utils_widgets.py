"""utils.widgets.slider_plot: the widget, its static fallback, and the note where sliders cannot work.

Colab ships ipywidgets 7.7.1, this repository installs 8.x: the widget tests run on both.
"""
import base64
import os
import subprocess
import sys
import types
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: tests draw off screen

import IPython
import ipywidgets
import matplotlib.pyplot as plt
import nbformat
import pytest
from nbclient import NotebookClient

from utils.widgets import slider_plot, unsolved

# pyplot asks IPython for its shell once, when it first sets its backend up: do it now, before a
# test fakes the shell (on an xdist worker, a faking test may be the first to draw).
plt.switch_backend("Agg")

REPO = Path(__file__).resolve().parents[1]
# Colab's ipywidgets, installed beside the main environment by .ci/run:
#   pip install --target .ipyw7 --no-deps ipywidgets==7.7.1 ipython_genutils
IPYWIDGETS_7 = REPO / ".ipyw7"
WIDGET_TESTS = ["tests/test_utils_widgets.py", "tests/test_utils_init.py", "tests/test_utils_optim.py",
                "tests/test_utils_conv.py", "tests/test_utils_batchnorm.py"]  # every module that builds widgets
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WIDGET = "application/vnd.jupyter.widget-view+json"
SLIDERS = {"x": (-5, 5, 0.5, -2.0), "z": (0, 1, 0.1, 0.3)}


def recorder(fail=False):
    """A draw function that plots and remembers every call's arguments in ``.calls``."""
    def draw(x, z):
        draw.calls.append({"x": x, "z": z})
        if fail:
            raise ValueError("not solved yet")
        plt.plot([0, 1], [x, z])
        plt.show()

    draw.calls = []
    return draw


@pytest.fixture
def live_kernel(monkeypatch):
    """Pretend to run in a kernel, and record what slider_plot displays instead of sending it."""
    shown = []
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(kernel=object()))
    monkeypatch.setattr(IPython.display, "display", lambda *objs, **kw: shown.append((objs, kw)))
    yield shown
    plt.close("all")


def the_widget(bundle):
    """The widget a display bundle refers to, from ipywidgets' registry (8.x ``_instances``, 7.x ``widgets``)."""
    from ipywidgets.widgets import widget
    registry = getattr(widget, "_instances", None) or ipywidgets.Widget.widgets
    return registry[bundle[WIDGET]["model_id"]]


def test_outside_a_kernel_draws_once_with_the_initial_values_and_says_why(capsys):
    draw = recorder()
    assert slider_plot(draw, **SLIDERS) is None
    assert draw.calls == [{"x": -2.0, "z": 0.3}]
    note = capsys.readouterr().out
    assert "x, z" in note and "running Jupyter kernel" in note
    plt.close("all")


def test_without_ipywidgets_draws_once_with_the_initial_values(monkeypatch, capsys):
    monkeypatch.setattr(IPython, "get_ipython", lambda: types.SimpleNamespace(kernel=object()))
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import ipywidgets -> ImportError
    draw = recorder()
    slider_plot(draw, **SLIDERS)
    assert draw.calls == [{"x": -2.0, "z": 0.3}]
    assert "ipywidgets" in capsys.readouterr().out
    plt.close("all")


def test_in_a_kernel_displays_one_widget_with_a_static_png_and_a_note(live_kernel):
    draw = recorder()
    assert slider_plot(draw, **SLIDERS) is None  # a returned widget would be displayed twice
    assert len(live_kernel) == 1
    (bundle,), options = live_kernel[0]
    assert options == {"raw": True}
    assert set(bundle) == {WIDGET, "image/png", "text/plain"}
    assert base64.b64decode(bundle["image/png"]).startswith(PNG_SIGNATURE)
    assert "x, z" in bundle["text/plain"] and "initial values" in bundle["text/plain"]
    sliders = {s.description: s for s in the_widget(bundle).children if isinstance(s, ipywidgets.FloatSlider)}
    assert {name: (s.min, s.max, s.step, s.value) for name, s in sliders.items()} == SLIDERS
    assert not any(s.continuous_update for s in sliders.values()), "redraw on release, not while dragging"
    assert draw.calls == [{"x": -2.0, "z": 0.3}] * 2  # the widget's first draw, and the static one
    # Agg leaves the widget's own first figure open (the inline backend closes it); the static
    # copy must add none, or it would show again below the widget
    assert len(plt.get_fignums()) == 1


def test_moving_a_slider_redraws_with_the_new_value(live_kernel):
    draw = recorder()
    slider_plot(draw, **SLIDERS)
    (bundle,), _ = live_kernel[0]
    slider = next(s for s in the_widget(bundle).children if getattr(s, "description", "") == "x")
    slider.value = 1.5
    assert draw.calls[-1] == {"x": 1.5, "z": 0.3}


def test_integer_specs_make_integer_sliders(live_kernel):
    seen = []
    slider_plot(lambda n=4, rate=0.5: seen.append((n, rate)), n=(2, 128, 2, 16), rate=(0, 1, 0.1, 0.5))
    (bundle,), _ = live_kernel[0]
    kinds = {s.description: type(s).__name__ for s in the_widget(bundle).children if hasattr(s, "step")}
    assert kinds == {"n": "IntSlider", "rate": "FloatSlider"}
    assert seen[0] == (16, 0.5) and isinstance(seen[0][0], int)


def test_only_the_named_parameters_get_sliders(live_kernel):
    seen = []

    def draw(rate, steps=200, label="fixed"):
        seen.append((rate, steps, label))

    slider_plot(draw, rate=(0, 1, 0.1, 0.5))
    (bundle,), _ = live_kernel[0]
    assert [s.description for s in the_widget(bundle).children if hasattr(s, "step")] == ["rate"]
    assert seen[0] == (0.5, 200, "fixed")


def test_a_draw_that_raises_still_shows_the_widget_without_a_static_png(live_kernel):
    draw = recorder(fail=True)
    slider_plot(draw, **SLIDERS)  # must not raise: the widget shows the traceback to the student
    (bundle,), _ = live_kernel[0]
    assert set(bundle) == {WIDGET, "text/plain"}
    assert plt.get_fignums() == []


def stub(x=0.0):
    """An exercise as the student edition hands it out."""
    raise NotImplementedError()


class Momentum:
    def step(self):
        raise NotImplementedError


def raised(function, *args):
    try:
        function(*args)
    except Exception as error:
        return error
    raise AssertionError("it returned")


def test_unsolved_names_the_stub_that_raised_even_deep_in_a_draw():
    message = unsolved(raised(lambda: [stub(x) for x in (1.0,)]))
    assert message.startswith("Solve the exercise that defines `stub` first")
    assert "`Momentum.step`" in unsolved(raised(Momentum().step))


def library_kernel():
    raise NotImplementedError("\"addmm\" not implemented for 'Half'")


def test_unsolved_leaves_other_errors_alone():
    assert unsolved(raised(library_kernel)) is None
    assert unsolved(raised(int, "x")) is None
    assert unsolved(NotImplementedError()) is None  # never raised: no traceback to read


def draws_an_unsolved_exercise(x=-2.0, z=0.3):
    plt.figure()  # half-drawn when the stub raises: it must not show as empty axes
    stub(x)


def test_an_unsolved_exercise_prints_one_line_instead_of_a_traceback(capsys):
    slider_plot(draws_an_unsolved_exercise, **SLIDERS)
    out = capsys.readouterr().out
    assert "Solve the exercise that defines `stub` first" in out and "Traceback" not in out
    assert plt.get_fignums() == []


def test_the_line_names_the_exercise_the_widget_cell_says_it_needs(capsys):
    slider_plot(draws_an_unsolved_exercise, exercise=3, **SLIDERS)
    assert "Solve Exercise 3 (`stub`) first" in capsys.readouterr().out


def test_in_a_kernel_an_unsolved_exercise_shows_the_widget_and_the_line(live_kernel, capsys):
    slider_plot(draws_an_unsolved_exercise, **SLIDERS)
    (bundle,), _ = live_kernel[0]
    assert set(bundle) == {WIDGET, "text/plain"}
    slider = next(s for s in the_widget(bundle).children if getattr(s, "description", "") == "x")
    slider.value = 1.5  # no exception escapes the redraw
    assert "`stub`" in capsys.readouterr().out
    assert plt.get_fignums() == []


@pytest.mark.notebook
def test_in_a_real_kernel_the_cell_shows_exactly_one_output():
    """The inline backend path: one display (widget, PNG, note), no stray figure, no error."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in (
        "import matplotlib.pyplot as plt\nfrom utils.widgets import slider_plot",
        "def draw(a=1.0):\n    plt.plot([0, a])\n    plt.show()\n\nslider_plot(draw, a=(0, 2, 0.5, 1.0))",
        "def circuit(a):\n    raise NotImplementedError()\n\ndef draw_unsolved(a=1.0):\n    plt.plot([0, circuit(a)])\n"
        "    plt.show()\n\nslider_plot(draw_unsolved, a=(0, 2, 0.5, 1.0))",
    )])
    NotebookClient(notebook, timeout=60, kernel_name="python3", store_widget_state=True).execute()
    solved, without_answer = notebook.cells[1].outputs, notebook.cells[2].outputs
    assert [o.output_type for o in solved] == ["display_data"]
    assert set(solved[0].data) == {WIDGET, "image/png", "text/plain"}
    assert base64.b64decode(solved[0].data["image/png"]).startswith(PNG_SIGNATURE)
    assert [o.output_type for o in without_answer] == ["display_data"]
    assert set(without_answer[0].data) == {WIDGET, "text/plain"}
    state = notebook.metadata.widgets["application/vnd.jupyter.widget-state+json"]["state"]
    model = state[without_answer[0].data[WIDGET]["model_id"]]["state"]
    children = [state[child.removeprefix("IPY_MODEL_")] for child in model["children"]]
    [shown] = [child["state"]["outputs"] for child in children if child["model_name"] == "OutputModel"]
    assert [(o["output_type"], o.get("text", "")[:41]) for o in shown] == [
        ("stream", "Solve the exercise that defines `circuit`")], shown  # one line, no traceback


def test_runs_on_the_ipywidgets_it_was_asked_for():
    expected = os.environ.get("DLF_IPYWIDGETS")
    if expected:
        assert ipywidgets.__version__ == expected, ipywidgets.__file__


@pytest.mark.notebook  # the widget tests again, kernels included, in a second pytest
@pytest.mark.skipif(bool(os.environ.get("DLF_IPYWIDGETS")), reason="this is the ipywidgets 7.7.1 run")
def test_widget_tests_pass_on_colabs_ipywidgets_7_7_1():
    if not (IPYWIDGETS_7 / "ipywidgets").is_dir():
        message = (f"no ipywidgets 7.7.1 in {IPYWIDGETS_7}: pip install --target .ipyw7 --no-deps "
                   "ipywidgets==7.7.1 ipython_genutils")
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    path = os.pathsep.join([str(IPYWIDGETS_7), str(REPO), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path, "DLF_IPYWIDGETS": "7.7.1"}
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
                          "-W", "ignore::DeprecationWarning", *WIDGET_TESTS],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
