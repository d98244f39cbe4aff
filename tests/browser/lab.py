"""Drive a notebook in JupyterLab the way a student does, and read back what the page shows.

Actions go through the UI (menus, a slider's keyboard handle); the state the checks need
(cell outputs, the kernel's status) is read from the application object JupyterLab exposes
with ``--LabApp.expose_app_in_browser``, which is the same model the page renders.
"""
import itertools
import re
import threading
import time
import urllib.parse
from pathlib import Path

RUN_SECONDS = 300          # one "Run ..." until the kernel is idle again; notebooks take < 60 s
WIDGET_SECONDS = 30        # a widget to render, or to redraw after a slider moved
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'
WIDGET_FAILURES = ("Loading widget...", "Error displaying widget")

_PANEL = "window.jupyterapp.shell.currentWidget"
# The notebook at ``path`` is the current one and its kernel is ready: idle, and no longer
# "initializing" for the notebook either (until then Run All only shows a notification).
_KERNEL_IDLE = f"""(path) => {{
    const panel = window.jupyterapp && {_PANEL};
    const kernel = panel && panel.context && panel.context.path === path && panel.sessionContext
                   && panel.sessionContext.session && panel.sessionContext.session.kernel;
    return !!kernel && kernel.status === 'idle' && panel.sessionContext.kernelDisplayStatus === 'idle';
}}"""
_RUN_STATE = f"""(index) => {{
    const panel = {_PANEL};
    if (panel.sessionContext.session.kernel.status !== 'idle'
        || [...panel.node.querySelectorAll('.jp-InputPrompt')].some(p => p.textContent.includes('*')))
        return 'running';
    return panel.content.model.cells.get(index).executionCount !== null ? 'done' : 'idle';
}}"""
STALL_SECONDS = 15  # idle this long without having run the cell: the run never reached it
POLL_SECONDS = 0.1
_NOT_RUN = f"""() => {{
    const cells = {_PANEL}.content.model.cells;
    return [...Array(cells.length).keys()].filter(i => cells.get(i).type === 'code'
                                                       && cells.get(i).executionCount === null);
}}"""

_workspaces = itertools.count(1)


def kernel_list_race(message, server_log):
    """Whether the console error ``message`` is the page's GET /api/kernels answered 500 by a race
    in jupyter_server, as ``server_log`` shows: the list takes in a kernel that has just started,
    a moment before the server sets its ``last_activity``, and ``kernel_model`` fails on it
    (jupyter-server/enterprise_gateway#1395). Lab polls that list while the tests start kernels
    and asks again seconds later; any other failure still counts."""
    failed = re.search(r"status of 500 .*\[(\S+)\]$", message)
    url = urllib.parse.urlsplit(failed.group(1)) if failed else None
    if url is None or url.path != "/api/kernels":
        return False
    lines = server_log.splitlines()
    start = f"Uncaught exception GET /api/kernels?{url.query} "
    for i, line in enumerate(lines):
        if start in line:
            record = "\n".join(itertools.takewhile(lambda rest: not rest.startswith("["), lines[i + 1:]))
            return "in kernel_model" in record and "TraitError: The 'last_activity' trait" in record
    return False


# Open a notebook in a tab where JupyterLab already runs, once its document is loaded and shown.
_OPEN = """async (path) => {
    const panel = await window.jupyterapp.commands.execute('docmanager:open', {path, factory: 'Notebook'});
    await panel.context.ready;
    await panel.revealed;
}"""
# Close it without the "save your changes?" dialog (running cells changed it; the file stays as it was).
_CLOSE = """(path) => {
    for (const widget of [...window.jupyterapp.shell.widgets('main')])
        if (widget.context && widget.context.path === path) {
            widget.context.model.dirty = false;
            widget.dispose();
        }
}"""


class NotebookPage:
    """One notebook open in JupyterLab, with the console messages logged while it was open.

    By default the notebook gets a browser tab of its own, in a workspace of its own: JupyterLab
    restores a workspace's open tabs, so with a shared one every page would reopen what the
    tests before it had opened. Given ``tab``, a tab where JupyterLab already runs (see
    ``start_lab``), it opens there and is closed again by ``close``: starting JupyterLab costs
    some 8 s of both cores, opening a notebook in it one or two.
    """

    def __init__(self, context, server, path, tab=None):
        self.server, self.path, self.shared = server, path, tab is not None
        self.page = tab or context.new_page()
        self.console = []
        self._listeners = {
            "console": lambda m: self.console.append((m.type, f"{m.text} [{m.location.get('url', '')}]")),
            "pageerror": lambda e: self.console.append(("pageerror", str(e)))}
        for event, listener in self._listeners.items():
            self.page.on(event, listener)

    def goto(self, path=""):
        """Open JupyterLab (and the file at ``path`` in it) in a fresh workspace."""
        start_lab(self.page, self.server, path)

    def open(self):
        """Open the notebook once its kernel is idle; the kernel starts while the page loads."""
        self.server.wait_until_stopped(self.path)  # an earlier test's session of the same notebook
        starting = threading.Thread(target=self.server.start_kernel, args=(self.path,))
        starting.start()
        if self.shared:
            self.page.evaluate(_OPEN, self.path)
        else:
            self.goto(self.path)
        starting.join()
        self.page.wait_for_function(_KERNEL_IDLE, arg=self.path, timeout=RUN_SECONDS * 1000, polling=250)
        # The file browser is not under test: fold it away so screenshots show the notebook.
        open_sidebar = self.page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab.lm-mod-current')
        if open_sidebar.count():
            open_sidebar.click()
        return self

    def close(self):
        if not self.shared:
            self.page.close()
            return
        self.page.evaluate(_CLOSE, self.path)
        for event, listener in self._listeners.items():
            self.page.remove_listener(event, listener)

    def menu(self, top, item):
        self.page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
        self.page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()

    def cells(self):
        """The notebook as the page holds it (nbformat JSON cells, with outputs)."""
        return self.page.evaluate(f"() => {_PANEL}.content.model.toJSON().cells")

    def _wait_run(self, index, stall=STALL_SECONDS):
        """Wait until the run that starts at cell ``index`` is over (that cell has run, all idle).

        Returns False when the kernel stays idle ``stall`` seconds without having run that cell.
        """
        deadline, idle_since = time.monotonic() + RUN_SECONDS, None
        while (state := self.page.evaluate(_RUN_STATE, index)) != "done":
            now = time.monotonic()
            idle_since = (idle_since or now) if state == "idle" else None
            assert now < deadline, f"{self.path}: still running after {RUN_SECONDS} s"
            if idle_since and now - idle_since >= stall:
                return False
            time.sleep(POLL_SECONDS)
        return True

    def select(self, index):
        """Make cell ``index`` the only selected cell (command mode), as a click on it would."""
        self.page.evaluate(f"""(index) => {{
            const notebook = {_PANEL}.content;
            notebook.mode = 'command';
            notebook.deselectAll();
            notebook.activeCellIndex = index;
        }}""", index)

    def run_all(self, keep_going=False):
        """Run > Run All Cells, then keep going past errors the way a student would.

        JupyterLab stops a run at the first cell that raises (an unsolved exercise in a student
        notebook, and each cell that then misses its names); each further round selects the first
        cell that has not run and uses Run > Run Selected Cell and All Below (for the last cell:
        ... and Do not Advance), until every code cell has run once. The second round goes
        through the menu; later ones run the menu item's command directly (two menu clicks cost
        half a second each), and the menu again should the kernel not run it.

        ``keep_going`` first tags every code cell ``raises-exception`` in the page's model (the
        file is not changed): JupyterLab then asks the kernel not to drop the queued cells after
        that cell's error (``stop_on_error: false``), so the one Run All runs each cell once, in
        order, as the rounds would (a student notebook needs some 25 of them).
        Returns the number of rounds.
        """
        if keep_going:
            self.page.evaluate(f"""() => {{
                for (const cell of {_PANEL}.content.model.cells)
                    if (cell.type === 'code')
                        cell.setMetadata('tags', [...(cell.getMetadata('tags') || []), 'raises-exception']);
            }}""")
        code_cells = self.page.evaluate(_NOT_RUN)  # a fresh notebook: all its code cells
        last_cell = self.page.evaluate(f"() => {_PANEL}.content.model.cells.length") - 1
        self.menu("Run", "Run All Cells")
        waited_for = code_cells[-1] if keep_going else code_cells[0]
        assert self._wait_run(waited_for), f"{self.path}: the kernel is idle but cell {waited_for} never ran"
        rounds = 1
        while True:
            pending = self.page.evaluate(_NOT_RUN)  # the code cells not run yet (no outputs fetched)
            if not pending:
                return rounds
            self.select(pending[0])
            last = pending[0] == last_cell  # JupyterLab greys "...and All Below" there
            ran = rounds > 1 and self._run_command("notebook:run-cell" if last else "notebook:run-all-below",
                                                   pending[0])
            if not ran:  # the second round, or a command the kernel never ran: through the menu
                self.select(pending[0])  # a dropped command has still moved the selection to the end
                self.menu("Run", "Run Selected Cell and Do not Advance" if last else "Run Selected Cell and All Below")
                assert self._wait_run(pending[0]), f"{self.path}: the kernel is idle but cell {pending[0]} never ran"
            rounds += 1

    def _run_command(self, command, index):
        """Run a notebook command as its menu item would; False if cell ``index`` did not run.

        (A request that reaches the kernel while it still aborts the queue after an error is
        dropped; the menu's round then runs it.)"""
        self.page.evaluate("(command) => window.jupyterapp.commands.execute(command)", command)
        return self._wait_run(index, stall=2)

    def errors(self):
        """(cell index, nbgrader grade_id or None, 'Ename: evalue') of every cell that raised."""
        found = []
        for index, cell in enumerate(self.cells()):
            for output in cell.get("outputs", []):
                if output["output_type"] == "error":
                    grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                    found.append((index, grade_id, f"{output['ename']}: {output['evalue']}"))
        return found

    def widget_outputs(self, cells):
        """Locators of the cell outputs that hold an ipywidget, once none is still loading.

        Found through the model (the output's mime type), since the widget renderer's node
        carries no mime type of its own: output j of cell i is the j-th child of that cell's
        output area.
        """
        self.page.wait_for_function(
            """(loading) => [...document.querySelectorAll(
                   '.jp-Cell-outputArea > .jp-OutputArea-child > .jp-OutputArea-output')]
                   .every(node => !node.textContent.includes(loading))""",
            arg=WIDGET_FAILURES[0], timeout=WIDGET_SECONDS * 1000, polling=250)
        found = []
        for i, cell in enumerate(cells):
            for j, output in enumerate(cell.get("outputs", [])):
                if WIDGET_MIME in output.get("data", {}):
                    found.append(self.page.locator(".jp-Notebook .jp-Cell").nth(i)
                                 .locator(".jp-Cell-outputArea > .jp-OutputArea-child").nth(j)
                                 .locator(":scope > .jp-OutputArea-output"))
        return found

    def console_errors(self):
        """Every console error and uncaught exception of the tab: with the Chromium flags and Lab
        settings of conftest.py (no news, update check, background networking or autosave) a
        healthy JupyterLab 4 logs none. Only a 500 the server's log shows to be its known
        kernel-list race is left out (see ``kernel_list_race``)."""
        errors = [text for kind, text in self.console if kind in ("error", "pageerror")]
        server_log = Path(self.server.log).read_text(errors="replace") if errors else ""
        return [text for text in errors if not kernel_list_race(text, server_log)]

    def screenshot(self, path, part_height=8000):
        """The whole notebook: ``path``, then ``<stem>-2.png``... for each further ``part_height`` px.

        The page is made as tall as the notebook (up to ``part_height``) and the notebook is
        scrolled part by part, since JupyterLab scrolls inside the notebook, not the page.
        """
        scroller = f"""(() => {{
            const notebook = {_PANEL}.content.node;
            return notebook.querySelector('.jp-WindowedPanel-outer') || notebook;
        }})()"""
        height, top = self.page.evaluate(
            f"() => {{ const s = {scroller}; return [s.scrollHeight, s.getBoundingClientRect().top]; }}")
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": size["width"], "height": int(top + min(height, part_height) + 40)})
        paths = []
        for part, offset in enumerate(range(0, int(height), part_height), start=1):
            self.page.evaluate(f"(offset) => {{ {scroller}.scrollTop = offset; }}", offset)
            next_frames(self.page)  # laid out and painted at the new size and position
            paths.append(path if part == 1 else path.with_name(f"{path.stem}-{part}{path.suffix}"))
            self.page.screenshot(path=str(paths[-1]), **({"quality": 85} if path.suffix == ".jpg" else {}))
        self.page.set_viewport_size(size)
        return paths


def start_lab(page, server, path=""):
    """Load JupyterLab in ``page`` (and the file at ``path`` in it), in a workspace of its own."""
    tree = f"/tree/{path}" if path else ""
    page.goto(server.url(f"lab/workspaces/test-{next(_workspaces)}{tree}"))
    page.locator(".lm-MenuBar-itemLabel").first.wait_for()


def next_frames(page, frames=2):
    """Wait for the browser to lay out and paint ``frames`` more frames (what a screenshot needs)."""
    page.evaluate("""(frames) => new Promise(done => {
        const step = left => left ? requestAnimationFrame(() => step(left - 1)) : done();
        step(frames);
    })""", frames)


def screenshot_of(element, path):
    """An element as shown, once its images have loaded (a clip of the page, measured after
    scrolling: JupyterLab scrolls inside the notebook, where element screenshots can slip)."""
    element.scroll_into_view_if_needed()
    element.page.wait_for_function("node => [...node.querySelectorAll('img')].every(img => img.complete)",
                                   arg=element.element_handle())
    next_frames(element.page)
    element.page.screenshot(path=str(path), clip=element.bounding_box())


def plotted(area):
    """What a widget currently shows: its images (as data URLs), or its text where it has none."""
    return area.evaluate("""node => {
        const images = [...node.querySelectorAll('img')].map(img => img.src);
        return images.length ? images.join('|') : node.innerText;
    }""")


# From now on, note the widget messages the page sends the kernel (a slider's new value) and which
# of them the kernel has finished handling: whatever it drew for them is on the wire before that.
_COUNT_WIDGET_REPLIES = f"""() => {{
    window.dlfSent = new Set();
    window.dlfDone = new Set();
    const kernel = {_PANEL}.sessionContext.session.kernel;
    if (window.dlfCounting === kernel.id) return;
    window.dlfCounting = kernel.id;
    kernel.anyMessage.connect((_, args) => {{
        const msg = args.msg;
        if (args.direction === 'send' && msg.header.msg_type === 'comm_msg') window.dlfSent.add(msg.header.msg_id);
        if (args.direction === 'recv' && msg.header.msg_type === 'status' && msg.content.execution_state === 'idle'
            && msg.parent_header && window.dlfSent.has(msg.parent_header.msg_id)) window.dlfDone.add(msg.parent_header.msg_id);
    }});
}}"""
_KERNEL_ANSWERED = "() => window.dlfSent.size > 0 && [...window.dlfSent].every(id => window.dlfDone.has(id))"
RENDER_SECONDS = 2  # after the kernel answered a slider, for its redraw to reach the page


def move_slider(area, page):
    """Move the widget's first slider one step with the keyboard, as a student may.

    Returns True when the widget has a slider (False: nothing to move).
    """
    handles = area.locator(".noUi-handle")
    if handles.count() == 0:
        return False
    handle = handles.first
    at_max = handle.get_attribute("aria-valuenow") == handle.get_attribute("aria-valuemax")
    page.evaluate(_COUNT_WIDGET_REPLIES)
    handle.focus()
    page.keyboard.press("ArrowLeft" if at_max else "ArrowRight")
    return True


def wait_for_change(area, before, seconds=WIDGET_SECONDS):
    """What the widget shows once it changed, or ``before``: after ``seconds``, or soon after the
    kernel finished handling the slider's messages without the picture changing."""
    deadline, answered = time.monotonic() + seconds, None
    while time.monotonic() < deadline:
        now = plotted(area)
        if now != before:
            return now
        if answered is None and area.page.evaluate(_KERNEL_ANSWERED):
            answered = time.monotonic()
        if answered is not None and time.monotonic() - answered > RENDER_SECONDS:
            return before
        time.sleep(0.25)
    return before
