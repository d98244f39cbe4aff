"""Every notebook's widget in Chromium: how long from a slider change to the redrawn plot.

    python tests/benchmarks/bench_widgets_browser.py [--moves N] [--notebooks 03 05]

What a student feels: the time from the key press that moves a slider one step (in the page)
to the moment the widget shows a different, fully loaded image. That covers the front end
sending the new value, the kernel redrawing, the PNG's trip back and its decoding. The script
starts its own JupyterLab server (on a copy of ``solutions/``, as the browser suite does) and
Debian's Chromium, runs each notebook that has a widget, then moves its sliders in turn, one
step each time (right, or left at the maximum) so that most moves ask for a new value. It prints,
per widget, the median and the worst of ``--moves`` redraws against the target: a median of
300 ms on a quiet 2-core machine. The load average is printed too: on a busy machine the
figures are slower than what a student sees; the kernel's CPU time per redraw (read with psutil)
is printed beside them, as it hardly depends on the load. A first row times a one-line plot
behind ``slider_plot``: what any redraw costs before the notebook's own drawing.

The notebooks run in grading mode (``NBGRADER_EXECUTION``), the suite's fast path: it shrinks
the notebooks' experiments, not the widgets, whose code does not look at it.
"""
import argparse
import importlib.util
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BROWSER_TESTS = REPO / "tests" / "browser"
sys.path.insert(0, str(BROWSER_TESTS))

from lab import NotebookPage  # noqa: E402

TARGET_MS = 300
SERVER_START_SECONDS = 120
REDRAW_SECONDS = 30

# Runs in the page: ``window.redrawTimer`` waits for the next key press on one slider handle and
# resolves with the milliseconds from that key press to a changed, fully loaded plot (null after
# the timeout).
TIME_NEXT_REDRAW = """([area, handle, timeout]) => { window.redrawTimer = new Promise(resolve => {
    const shown = () => {
        const images = [...area.querySelectorAll('img')];
        return [images.map(img => img.src).join('|'), images.every(img => img.complete && img.naturalWidth > 0),
                images.length];
    };
    const [before] = shown();
    handle.addEventListener('keydown', event => {
        const pressed = performance.now();
        const poll = () => {
            const [now, loaded, count] = shown();
            if (now !== before && loaded && count > 0) resolve(performance.now() - pressed);
            else if (performance.now() - pressed > timeout) resolve(null);
            else setTimeout(poll, 2);
        };
        poll();
    }, {once: true, capture: true});
}); }"""


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=15, help="slider moves timed per widget")
    parser.add_argument("--notebooks", nargs="*", default=None,
                        help="notebook numbers to run (default: every solution notebook with a widget)")
    return parser.parse_args()


def browser_conftest():
    """tests/browser/conftest.py as a module: its server settings and Chromium flags."""
    spec = importlib.util.spec_from_file_location("browser_conftest", BROWSER_TESTS / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def start_server(base, suite):
    """A JupyterLab server on a copy of solutions/, configured as the browser suite's."""
    root = base / "course"
    shutil.copytree(REPO / "solutions", root / "solutions",
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    suite._write_settings(base / "settings")
    port, token = suite.free_port(), secrets.token_hex(16)
    env = dict(os.environ, NBGRADER_EXECUTION="autograde", DLF_OFFLINE="1",
               JUPYTER_CONFIG_DIR=str(base / "config"), JUPYTER_RUNTIME_DIR=str(base / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(base / "settings"),
               JUPYTERLAB_WORKSPACES_DIR=str(base / "workspaces"), IPYTHONDIR=str(base / "ipython"))
    log = open(base / "server.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
         f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={root}", "--LabApp.expose_app_in_browser=True"],
        cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT)
    server = suite.LabServer(root, port, token, process, base / "server.log")
    deadline = time.monotonic() + SERVER_START_SECONDS
    while True:
        try:
            server.api("status")
            return server
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterLab did not start:\n{server.log_tail()}") from None
            time.sleep(0.5)


BASELINE = ("import matplotlib.pyplot as plt\nfrom utils.widgets import slider_plot",
            "def draw(a=1.0):\n    plt.plot([0, a])\n    plt.show()\n\nslider_plot(draw, a=(0, 10, 0.5, 1.0))")


def write_baseline(root):
    """A notebook of ``BASELINE``'s cells in the server's root; returns its path there."""
    import nbformat

    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in BASELINE])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / "baseline").mkdir()
    nbformat.write(notebook, root / "baseline" / "one-line-plot.ipynb")
    return "baseline/one-line-plot.ipynb"


def widget_notebooks(wanted):
    """Solution notebooks (relative paths) whose code cells build a widget."""
    found = []
    for path in sorted((REPO / "solutions").glob("*/*.ipynb")):
        text = path.read_text()
        if any(call in text for call in ("slider_plot(", "explorer.show()", "explorer()", "conv_explorer(")):
            if wanted is None or path.name[:2] in wanted:
                found.append(path.relative_to(REPO).as_posix())
    return found


def kernel_cpu_ms(server):
    """CPU milliseconds used so far by the server's kernels (its child processes; one runs at a time)."""
    import psutil

    kernels = psutil.Process(server.process.pid).children(recursive=True)
    return 1000 * sum(sum(k.cpu_times()[:2]) for k in kernels if k.is_running())


def time_moves(page, area, moves):
    """(milliseconds to the redrawn plot, kernel CPU milliseconds) of ``moves`` slider moves (None
    where no redraw came), cycling over the sliders. The kernel's CPU time hardly depends on the
    machine's load, the wall clock does."""
    handles = area.locator(".noUi-handle")
    times, cpu = [], []
    for move in range(moves):
        handle = handles.nth(move % handles.count())
        handle.scroll_into_view_if_needed()
        at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
        handle.focus()
        page.page.evaluate(TIME_NEXT_REDRAW, [area.element_handle(), handle.element_handle(), REDRAW_SECONDS * 1000])
        cpu_before = kernel_cpu_ms(page.server)
        page.page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
        times.append(page.page.evaluate("() => window.redrawTimer"))
        page.page.wait_for_timeout(200)  # let the kernel go idle, as between a student's moves
        cpu.append(kernel_cpu_ms(page.server) - cpu_before)
    return times, cpu


def report(name, times, cpu):
    done = [t for t in times if t is not None]
    if not done:
        return f"{name:<28} no redraw seen within {REDRAW_SECONDS} s"
    median, worst = statistics.median(done), max(done)
    verdict = "ok" if median <= TARGET_MS else "SLOW"
    missed = f", {len(times) - len(done)} without a redraw" if len(done) < len(times) else ""
    return (f"{name:<28} median {median:5.0f} ms   worst {worst:5.0f} ms   "
            f"kernel CPU median {statistics.median(cpu):4.0f} ms   ({len(done)} moves{missed})  {verdict}")


def main():
    args = parse_args()
    from playwright.sync_api import sync_playwright

    suite = browser_conftest()
    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores")
    lines = []
    with tempfile.TemporaryDirectory(prefix="bench-widgets-") as base:
        server = start_server(Path(base), suite)
        try:
            with sync_playwright() as playwright:
                context = playwright.chromium.launch_persistent_context(
                    str(Path(base) / "profile"), executable_path=suite.CHROMIUM, args=suite.CHROMIUM_ARGS,
                    headless=True, viewport={"width": 1280, "height": 1600})
                context.set_default_timeout(30_000)
                for path in [write_baseline(server.root), *widget_notebooks(args.notebooks)]:
                    page = NotebookPage(context, server, path).open()
                    page.run_all()
                    for k, area in enumerate(page.widget_outputs(page.cells()), start=1):
                        area.locator("img").first.wait_for()
                        line = report(f"{Path(path).stem} widget {k}", *time_moves(page, area, args.moves))
                        print(line, flush=True)
                        lines.append(line)
                    page.close()
                    server.shut_down_kernels()
                context.close()
        finally:
            server.process.terminate()
            server.process.wait(timeout=20)
    print(f"load average after: {' '.join(f'{x:.1f}' for x in os.getloadavg())}; target: median <= {TARGET_MS} ms")
    return 1 if any("SLOW" in line or "no redraw" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
