"""Notebook 04's explorer in the window students start with: 1280x900, the file browser open.

JupyterLab opens with its file browser beside the notebook, which leaves the output area
about 850 px. The explorer must still show every control at a usable width (it once squeezed
them to nothing beside its 760-px plot). A screenshot goes to the browser-screenshots folder.
"""
import pytest

from autograder.course import REPO, SOLUTIONS
from lab import _KERNEL_IDLE, RUN_SECONDS, NotebookPage, screenshot_of

pytestmark = pytest.mark.browser

NB04 = next(SOLUTIONS.glob("04_*/*.ipynb")).relative_to(REPO).as_posix()
WINDOW = {"width": 1280, "height": 900}
MIN_PART_PX = 40  # a label, list or slider track narrower than this cannot be read or used
# Each control (the boxes in the controls' column) by its label, and for each part a student uses
# (its label, select list, slider track): the width left inside the column, which clips what
# overflows it, and whether that part is on top where it is drawn (not hidden under the plot).
CONTROL_PARTS = """area => [...area.querySelectorAll('.widget-vbox > .jupyter-widgets')].map(control => {
    const column = control.parentElement.getBoundingClientRect();
    const parts = [...control.querySelectorAll('.widget-label, select, .slider-container, .ui-slider, .noUi-target')];
    return {
        name: (control.querySelector('.widget-label') || {}).textContent,
        parts: parts.map(part => {
            const box = part.getBoundingClientRect();
            const shown = Math.min(box.right, column.right) - Math.max(box.left, column.left);
            const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
            return {width: Math.round(shown), on_top: !!top && (part === top || part.contains(top))};
        }),
    };
})"""


@pytest.fixture
def nb04_with_the_file_browser_open(browser, lab_server):
    page = NotebookPage(browser, lab_server, NB04)
    page.page.set_viewport_size(WINDOW)
    page.goto(NB04)  # not page.open(): that folds the file browser away
    page.page.wait_for_function(_KERNEL_IDLE, arg=NB04, timeout=RUN_SECONDS * 1000, polling=250)
    file_browser = page.page.locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]')
    if "lm-mod-current" not in (file_browser.get_attribute("class") or ""):
        file_browser.click()
    page.page.locator(".jp-FileBrowser").wait_for(state="visible")
    yield page
    page.close()
    lab_server.shut_down_kernels()


def test_the_explorer_s_controls_keep_their_width_beside_the_file_browser(nb04_with_the_file_browser_open,
                                                                           screenshot_dir):
    page = nb04_with_the_file_browser_open
    page.run_all()
    [explorer] = page.widget_outputs(page.cells())
    explorer.locator("img").first.wait_for()
    screenshot_of(explorer, screenshot_dir / "04_optimizers-explorer-1280-file-browser.png")
    page.page.screenshot(path=str(screenshot_dir / "04_optimizers-window-1280-file-browser.png"))
    assert page.page.locator(".jp-FileBrowser").is_visible(), "the file browser was folded away"
    controls = explorer.evaluate(CONTROL_PARTS)
    assert len(controls) == 6, controls  # surface, optimizers, lr, ρ / β1, decay / β2, steps
    hidden = [c for c in controls if len(c["parts"]) < 2
              or any(part["width"] < MIN_PART_PX or not part["on_top"] for part in c["parts"])]
    assert hidden == [], f"controls squeezed or covered: {hidden}"
    image = explorer.locator("img").first.bounding_box()
    assert image["width"] > 300, image
    assert explorer.bounding_box()["x"] + explorer.bounding_box()["width"] <= WINDOW["width"], "clipped"
