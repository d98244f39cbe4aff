"""The instructor's pages in a real browser: a student's feedback page and the class report, with
markdown rendered and plots drawn; a screenshot of each goes to the suite's screenshot folder."""
import pytest

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def graded(demo_run):
    """The demo class's grading folder: feedback pages, grades.csv, the class report (tests/shared.py)."""
    return demo_run["out"]


def test_a_feedback_page_renders_markdown_and_says_what_failed(browser, graded, screenshot_dir):
    page = browser.new_page()
    try:
        page.goto((graded / "feedback" / "cleo" / "01_backprop.html").as_uri())
        assert page.locator(".jp-RenderedMarkdown h2").count() >= 7  # the exercises' headings, rendered
        assert page.get_by_text("Exercise 4 — a scalar autograd engine").first.is_visible()
        assert page.locator(".dlf-summary td", has_text="not attempted").count() >= 1
        assert page.locator(".highlight .k, .highlight .kn").count() > 0  # code highlighted
        page.screenshot(path=str(screenshot_dir / "feedback-page.png"))
    finally:
        page.close()


def test_the_class_report_draws_its_plots_and_tables(browser, graded, screenshot_dir):
    page = browser.new_page()
    try:
        page.goto((graded / "report" / "index.html").as_uri())
        widths = page.eval_on_selector_all("img", "images => images.map(i => i.naturalWidth)")
        assert len(widths) == 4 and all(w > 0 for w in widths)
        assert page.locator("h2", has_text="Similar answers").count() == 1
        page.screenshot(path=str(screenshot_dir / "class-report.png"), full_page=True)
    finally:
        page.close()
