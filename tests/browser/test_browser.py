"""Every notebook in a real browser, the way students and instructors meet the course.

For each solution and each student notebook: open it in JupyterLab (headless Chromium), run
all cells from the Run menu, and check what the page shows: no cell error (a student notebook
may only raise the NotImplementedError of its unsolved stubs and the NameErrors that follow
from them, and its graded check cells may fail), every ipywidgets control rendered, moving a slider redraws the plot (solutions), and no
JavaScript console error. A screenshot of each notebook and of each widget goes to the folder
the run prints at the end. The notebooks open one after another in one JupyterLab tab (a Lab
start costs some 8 s of both cores); in a student notebook every cell is tagged
``raises-exception`` in the page, so that one Run All reaches every cell past the unsolved
stubs. Then the nbgrader extensions: formgrader, assignment and course lists, the Create
Assignment sidebar and Validate.

Run only this suite with ``python -m pytest -m browser``; ``-m "not browser"`` leaves it out.
"""
import nbformat
import pytest

from autograder.course import NOTEBOOKS, REPO, SOLUTIONS
from lab import (STDERR, WIDGET_FAILURES, NotebookPage, kernel_list_race, move_slider, plotted,
                 screenshot_of, start_lab, wait_for_change)

pytestmark = pytest.mark.browser

SOLUTION_PATHS = sorted(p.relative_to(REPO).as_posix() for p in SOLUTIONS.glob("*/*.ipynb"))
STUDENT_PATHS = sorted(p.relative_to(REPO).as_posix() for p in NOTEBOOKS.glob("*/*.ipynb"))
VALIDATE_SECONDS = 300


@pytest.fixture(scope="session")
def lab_tab(browser, lab_server):
    """One tab where JupyterLab runs for the whole session: each notebook check opens its notebook there."""
    tab = browser.new_page()
    start_lab(tab, lab_server)
    yield tab
    tab.close()


def _opener(browser, lab_server, tab=None):
    """open_(path) -> NotebookPage (in ``tab``, or in a tab of its own), and a function closing them all."""
    pages = []

    def open_(path):
        pages.append(NotebookPage(browser, lab_server, path, tab=tab))
        return pages[-1].open()

    def close_all():
        for page in pages:
            page.close()
        lab_server.shut_down_kernels()
    return open_, close_all


@pytest.fixture
def open_notebook(browser, lab_server, lab_tab):
    """open_notebook(path) -> NotebookPage, in the session's JupyterLab tab; closed, with its kernel, after the test."""
    open_, close_all = _opener(browser, lab_server, lab_tab)
    yield open_
    close_all()


@pytest.fixture
def open_notebook_in_new_tab(browser, lab_server):
    """The same in a JupyterLab started afresh, for the tests of its side panels (they stay open)."""
    open_, close_all = _opener(browser, lab_server)
    yield open_
    close_all()


def check_notebook(page, screenshot_dir, student):
    """Run everything, then return the list of problems found (empty: the notebook is fine)."""
    stem = page.path.split("/")[0] + "-" + page.path.split("/")[-1].removesuffix(".ipynb")
    page.run_all(keep_going=student)  # a student notebook raises in most exercises
    problems = []
    cells = page.cells()
    graded = {i for i, c in enumerate(cells) if c.get("metadata", {}).get("nbgrader", {}).get("grade")}
    unsolved_before = None  # index of the first cell that raised an unsolved stub's NotImplementedError
    for index, grade_id, error in page.errors():
        if student and error.startswith("NotImplementedError") and unsolved_before is None:
            unsolved_before = index
        # A student notebook may fail where a stub is unsolved, in its graded checks, and with a
        # NameError after an unsolved cell (e.g. `model = LeNet5()` never ran), nowhere else.
        cascade = error.startswith("NameError") and unsolved_before is not None and index > unsolved_before
        expected = student and (error.startswith("NotImplementedError") or index in graded or cascade)
        if not expected:
            problems.append(f"cell {index} ({grade_id or 'free'}) raised {error}")

    for k, area in enumerate(page.widget_outputs(cells), start=1):
        text = area.inner_text()
        if any(failure in text for failure in WIDGET_FAILURES) or area.locator(".jupyter-widgets").count() == 0:
            problems.append(f"widget {k} did not render: {text[:200]!r}")
            continue
        screenshot_of(area, screenshot_dir / f"{stem}-widget-{k}.png")  # sliders and plot
        tracebacks = area.locator(STDERR).all_inner_texts()
        if student:
            tracebacks = [t for t in tracebacks if "NotImplementedError" not in t]
        if tracebacks:
            problems.append(f"widget {k} shows an error: {tracebacks[0][-500:]}")
            continue
        if student:
            continue  # its plot needs the student's code, which raises NotImplementedError so far
        before = plotted(area)
        if move_slider(area, page.page) and wait_for_change(area, before) == before:
            problems.append(f"widget {k}: moving its first slider did not change the plot")

    page.screenshot(screenshot_dir / f"{stem}.jpg")  # JPEG: a tall PNG takes seconds to encode
    problems += [f"console: {message}" for message in page.console_errors()]
    return problems


@pytest.mark.parametrize("path", SOLUTION_PATHS)
def test_solution_notebook_in_jupyterlab(path, open_notebook, screenshot_dir):
    problems = check_notebook(open_notebook(path), screenshot_dir, student=False)
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("path", STUDENT_PATHS)
def test_student_notebook_in_jupyterlab(path, open_notebook, screenshot_dir):
    problems = check_notebook(open_notebook(path), screenshot_dir, student=True)
    assert problems == [], "\n".join(problems)


BROKEN = [  # (cell source, the problem check_notebook must report for it)
    ("import matplotlib.pyplot as plt\nfrom utils.widgets import slider_plot", None),
    ("def fixed(a=1.0):\n    plt.plot([0, 1])\n    plt.show()\n\nslider_plot(fixed, a=(0, 2, 0.5, 1.0))",
     "widget 1: moving its first slider did not change the plot"),
    ("def broken(a=1.0):\n    raise ValueError('planted')\n\nslider_plot(broken, a=(0, 2, 0.5, 1.0))",
     "widget 2 shows an error"),
    ("1 / 0", "raised ZeroDivisionError"),
    ("from IPython.display import Javascript\nJavascript(\"console.error('planted console error')\")",
     "console: planted console error"),
]


def test_the_checks_catch_a_broken_notebook(open_notebook, lab_server, screenshot_dir):
    """The checks above are not vacuous: a notebook with planted faults fails each of them."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src, _ in BROKEN])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (lab_server.root / "selftest").mkdir(exist_ok=True)
    nbformat.write(notebook, lab_server.root / "selftest" / "broken.ipynb")
    problems = check_notebook(open_notebook("selftest/broken.ipynb"), screenshot_dir, student=False)
    for _source, expected in BROKEN:
        if expected:
            assert any(expected in problem for problem in problems), f"not reported: {expected}\n{problems}"
    assert len(problems) == len([e for _, e in BROKEN if e]), problems


# What jupyter_server 2.21 logs when GET /api/kernels meets a kernel that has just started
# (reproduced by widening that moment; the traceback is cut short here).
RACE_LOG = """\
[E 2026-12-01 21:15:26.349 ServerApp] Uncaught exception GET /api/kernels?1000 (127.0.0.1)
    HTTPServerRequest(protocol='http', host='127.0.0.1:18999', method='GET', uri='/api/kernels?1000')
    Traceback (most recent call last):
      File ".../jupyter_server/services/kernels/kernelmanager.py", line 544, in kernel_model
        "last_activity": isoformat(kernel.last_activity),
    traitlets.traitlets.TraitError: The 'last_activity' trait of a ServerKernelManager instance expected a datetime, not the NoneType None.
[E 2026-12-01 21:15:26.358 ServerApp] 500 GET /api/kernels?1000 (127.0.0.1) 10.63ms referer=None
[E 2026-12-01 21:15:27.102 ServerApp] Uncaught exception GET /api/kernels?1001 (127.0.0.1)
    Traceback (most recent call last):
      File ".../jupyter_server/services/kernels/handlers.py", line 41, in get
    KeyError: 'planted'
"""


def _failed_get(query, path="api/kernels"):
    return ("Failed to load resource: the server responded with a status of 500 (Internal Server Error) "
            f"[http://127.0.0.1:18999/{path}?{query}]")


def test_only_the_servers_kernel_list_race_is_forgiven():
    """The one console error left out is that request, and only where the server's log proves it."""
    assert kernel_list_race(_failed_get(1000), RACE_LOG)
    assert not kernel_list_race(_failed_get(1001), RACE_LOG)  # the same request failing otherwise
    assert not kernel_list_race(_failed_get(1002), RACE_LOG)  # not in the log at all
    assert not kernel_list_race(_failed_get(1000, "api/sessions"), RACE_LOG)
    assert not kernel_list_race("planted console error [http://127.0.0.1:18999/lab]", RACE_LOG)


# ------------------------------------------------------------------ nbgrader, instructor view
@pytest.fixture
def lab_page(browser, lab_server):
    """JupyterLab with no document open."""
    page = NotebookPage(browser, lab_server, "")
    page.goto()
    yield page
    page.close()


def test_nbgrader_formgrader_lists_every_assignment(lab_page, screenshot_dir):
    lab_page.menu("Nbgrader", "Formgrader")
    frame = lab_page.page.frame_locator("iframe[src*='formgrader']")
    for path in SOLUTION_PATHS:
        frame.locator("#main-table").get_by_text(path.split("/")[1], exact=True).wait_for(timeout=60_000)
    assert frame.get_by_text("does not exist").count() == 0, "formgrader reports a missing folder"
    lab_page.page.screenshot(path=str(screenshot_dir / "nbgrader-formgrader.png"))
    assert lab_page.console_errors() == []


@pytest.mark.parametrize("item, shown", [("Assignment List", "There are no assignments to fetch."),
                                         ("Course List", "deep-learning-foundations")])
def test_nbgrader_student_panels_load(item, shown, lab_page):
    lab_page.menu("Nbgrader", item)
    lab_page.page.get_by_text(shown, exact=True).first.wait_for()
    assert lab_page.console_errors() == []


def test_nbgrader_create_assignment_sidebar_reads_the_points(open_notebook_in_new_tab, screenshot_dir):
    page = open_notebook_in_new_tab(SOLUTION_PATHS[0])
    graded = [c["metadata"]["nbgrader"] for c in page.cells()
              if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    page.page.locator(".jp-SideBar.jp-mod-right .lm-TabBar-tab", has_text="Create Assignment").click()
    total = page.page.locator("input.nbgrader-TotalPointsInput")
    total.wait_for()
    assert float(total.input_value()) == sum(meta["points"] for meta in graded)
    types = page.page.evaluate("""() => [...document.querySelectorAll('select')]
        .map(select => select.selectedOptions.length ? select.selectedOptions[0].text : '')""")
    assert types.count("Autograded tests") == len(graded), "the sidebar must see every graded test cell"
    page.page.screenshot(path=str(screenshot_dir / "nbgrader-create-assignment.png"))
    assert page.console_errors() == []


def test_nbgrader_validate_passes_a_solution(open_notebook):
    page = open_notebook(SOLUTION_PATHS[0])
    page.page.locator(".validate-button").click()
    page.page.locator(".jp-Dialog").get_by_text("Success! Your notebook passes all the tests.").wait_for(
        timeout=VALIDATE_SECONDS * 1000)
    assert page.console_errors() == []
