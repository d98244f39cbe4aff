"""Per-student HTML feedback, rendered by nbconvert, that never shows hidden test code.

Why not nbgrader's ``generate_feedback``: it renders the autograded notebook as it is, and that
notebook holds the restored test cells *with* their hidden tests (checked: nbgrader 0.9.6's
feedback pipeline has no ``ClearHiddenTests``). Hiding is structural, never by matching text:

* each test cell is shown with its hidden block left out by nbgrader's ``ClearHiddenTests``;
* a test's message is the grader's verdict (``autograder.grade``): a check's own message, or
  the grader's words, never text the student's code printed or raised; whether the failing
  line was a visible or a hidden check is said, never the line itself;
* nothing the kernel displayed from the first test cell on is copied into the page: from there
  student code runs with hidden inputs and could show them (or anything it read) in any output.

The page is nbconvert's (markdown rendered, code highlighted) with the score table on top. What
it renders is a copy the grader built: markdown is rendered only for the course's own cells (a
student's markdown is shown as text, so it cannot put HTML or script in the page), and outputs
are only text, error names and messages, and PNG figures (never HTML or JavaScript).
"""
import functools
import html
import re
import threading
from pathlib import Path

import nbformat

from utils.selfcheck import exercise_titles

MAX_TEXT = 20_000      # characters of text output shown per output
MAX_IMAGE = 300_000    # bytes of a PNG shown inline
BASE64 = re.compile(r"[A-Za-z0-9+/]+=*")
HIDDEN_FROM_HERE = ("Outputs from this cell on are not shown here: they were made while the hidden tests "
                    "ran. Run your notebook to see them.")
NEXT_STEP = {
    "rejected": "Your notebook could not be graded, so it scores 0. Download the released notebook again, "
                "copy your answers into it (cell by cell), save it, and submit that file.",
    "error": "Grading stopped early: tests that ran before keep their points, the rest score 0. Restart the "
             "kernel and run all cells: the first cell that stops or runs out of time is the one to fix. "
             "`python -m utils.selfcheck NOTEBOOK.ipynb` runs your notebook the way the grader does.",
    "flagged": "Part of your notebook was not graded as written (the reason says where). "
               "`python -m utils.policy NOTEBOOK.ipynb` shows what the answer policy refuses.",
}
STYLE = """<style>.dlf-summary{max-width:60em;margin:1em auto;font-family:sans-serif}
.dlf-summary table{border-collapse:collapse}.dlf-summary td,.dlf-summary th{border:1px solid #ccc;
padding:.3em .6em;vertical-align:top;text-align:left}.dlf-pass{color:#1a7f37}.dlf-fail{color:#c62828}
.dlf-next{background:#fff4e5;border-left:4px solid #f0a020;padding:.5em 1em}.dlf-verdict{border-left:4px solid #888;
padding:.2em .8em;background:#f6f6f6}.dlf-summary pre,.dlf-verdict pre{white-space:pre-wrap;margin:0}</style>"""


def _visible_source(cell):
    from nbgrader.preprocessors import ClearHiddenTests
    cell = nbformat.from_dict(dict(cell))
    cleared, _ = ClearHiddenTests().preprocess_cell(cell, {}, 0)
    return cleared.source


def _safe_outputs(cell):
    """The outputs a page may show: text, error name and message, PNG; nothing that runs."""
    kept = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            kept.append(nbformat.v4.new_output("stream", name=output.get("name", "stdout"),
                                               text=str(output.get("text", ""))[:MAX_TEXT]))
        elif kind == "error":
            kept.append(nbformat.v4.new_output("stream", name="stderr", text=(
                f"{output.get('ename')}: {str(output.get('evalue', ''))[:MAX_TEXT]}")))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            png = "".join(str(data.get("image/png", "")).split())
            if png and len(png) <= MAX_IMAGE and BASE64.fullmatch(png):
                kept.append(nbformat.v4.new_output("display_data", data={"image/png": png}))
            elif "text/plain" in data:
                kept.append(nbformat.v4.new_output("stream", name="stdout", text=str(data["text/plain"])[:MAX_TEXT]))
    return kept


def _as_text(source):
    """Markdown that shows ``source`` verbatim (a fence longer than any backtick run in it)."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", source)), default=0))
    return f"{fence}text\n{source}\n{fence}"


def _html_block(text):
    """Escaped text as one HTML block that markdown leaves alone."""
    return html.escape(text).replace("\n", "&#10;")


def outcome_words(test):
    if test.score >= test.max_score:
        return "passed"
    if test.message.startswith(("not attempted", "not run")):
        return test.message.split(":")[0]
    return f"failed a {test.failed_in} check" if test.failed_in else "failed"


def _verdict_cell(title, test):
    css = "dlf-pass" if test.score >= test.max_score else "dlf-fail"
    message = f"<pre>{_html_block(test.message)}</pre>" if test.message else ""
    return nbformat.v4.new_markdown_cell(
        f"<div class='dlf-verdict'><b>{html.escape(title)}</b>: <span class='{css}'>{test.score:g} / "
        f"{test.max_score:g}, {html.escape(outcome_words(test))}</span>{message}</div>")


def page_notebook(result, notebook, source=None):
    """The notebook the page renders: the hiding rules applied, the verdicts after their tests."""
    trusted = {c.source for c in (source or nbformat.v4.new_notebook()).cells if c.cell_type == "markdown"}
    titles = exercise_titles(source or notebook)
    outcomes = {t.grade_id: t for t in result.tests}
    cells, tests_started = [], False
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            shown = cell.source if cell.source in trusted else _as_text(cell.source)
            cells.append(nbformat.v4.new_markdown_cell(shown))
        elif cell.cell_type == "code":
            graded = bool(meta.get("grade"))
            if graded and not tests_started:
                tests_started = True
                cells.append(nbformat.v4.new_markdown_cell(f"*{HIDDEN_FROM_HERE}*"))
            code = nbformat.v4.new_code_cell(_visible_source(cell) if graded else cell.source)
            code.outputs = [] if tests_started else _safe_outputs(cell)
            cells.append(code)
            if graded and meta["grade_id"] in outcomes:
                cells.append(_verdict_cell(titles.get(meta["grade_id"], meta["grade_id"]), outcomes[meta["grade_id"]]))
                if any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in cell.outputs):
                    cells.append(nbformat.v4.new_markdown_cell("*This test printed warnings; warnings cost no points.*"))
    shown = nbformat.v4.new_notebook(cells=cells)
    shown.metadata["language_info"] = {"name": "python"}
    return shown


def summary(result, titles):
    """The top of the page: score, what happened and what to do next, and the score table."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(titles.get(t.grade_id, t.grade_id))}</td><td>{t.max_score:g}</td>"
        f"<td class='{'dlf-pass' if t.score >= t.max_score else 'dlf-fail'}'>{t.score:g} / {t.max_score:g}, "
        f"{e(outcome_words(t))}</td><td><pre>{e(t.message)}</pre></td></tr>" for t in result.tests)
    next_step = NEXT_STEP.get(result.status)
    return (f"<div class='dlf-summary'><h1>{e(result.assignment)}: feedback for {e(result.name or result.student)}</h1>"
            f"<p><b>Score: {result.score:g} / {result.max_score:g}</b> ({e(result.status)}: {e(result.reason)})</p>"
            + (f"<p class='dlf-next'><b>What to do next:</b> {e(next_step)}</p>" if next_step else "")
            + (f"<table><tr><th>exercise</th><th>points</th><th>result</th><th>message</th></tr>{rows}</table>"
               if rows else "") + "</div>")


_threads = threading.local()


def _exporter():
    """This thread's nbconvert exporter, made once (it compiles its templates once)."""
    if not hasattr(_threads, "exporter"):
        from nbconvert import HTMLExporter
        _threads.exporter = HTMLExporter(template_name="lab", filters={"clean_html": _clean_html})
    return _threads.exporter


@functools.lru_cache(maxsize=4096)
def _clean_html(text):
    """nbconvert's ``clean_html`` (bleach), once per distinct text: sanitizing the highlighted code
    is half of a page's time, and most cells (the course's set-up and test cells) are the same
    for every student. It depends on the text alone, so the page is the same byte for byte."""
    from nbconvert.filters import clean_html
    return clean_html(text)


def render(result, notebook, source=None):
    """The feedback page for one graded notebook (a string of HTML); ``source`` is the course's
    notebook (its markdown is rendered and its headings title the exercises)."""
    titles = exercise_titles(source or notebook)
    shown = page_notebook(result, notebook, source)
    body, _ = _exporter().from_notebook_node(
        shown, resources={"metadata": {"name": f"{result.assignment}: feedback for {result.name or result.student}"}})
    return body.replace("</head>", STYLE + "</head>", 1).replace("<main>", "<main>" + summary(result, titles), 1)


def write_feedback(path, result, notebook, source=None):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, notebook, source), encoding="utf-8", errors="replace")
    return path
