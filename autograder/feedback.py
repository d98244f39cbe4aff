"""Per-student HTML feedback that never shows hidden test code.

Why not nbgrader's ``generate_feedback``: it renders the autograded notebook as it is, and that
notebook holds the restored test cells *with* their hidden tests (checked: nbgrader 0.9.6's
feedback pipeline has no ``ClearHiddenTests``). Hiding is structural, never by matching text:

* each test cell is shown with its hidden block left out by nbgrader's ``ClearHiddenTests``;
* a test's message is the grader's verdict (``autograder.grade``): a check's own message, or
  the grader's words, never text the student's code printed or raised;
* nothing the kernel displayed from the first test cell on is copied into the page: from there
  student code runs with hidden inputs and could show them (or anything it read) in any output.

The page is plain, self-contained HTML: a score table (test, points, message) followed by the
student's notebook.
"""
import html
import re
from pathlib import Path

import nbformat

MAX_TEXT = 20_000      # characters of text output shown per output
MAX_IMAGE = 300_000    # bytes of a PNG shown inline
BASE64 = re.compile(r"[A-Za-z0-9+/]+=*")
HIDDEN_FROM_HERE = ("Outputs from this cell on are not shown here: they were made while the hidden tests "
                    "ran. Run your notebook to see them.")


def _visible_source(cell):
    from nbgrader.preprocessors import ClearHiddenTests
    cell = nbformat.from_dict(dict(cell))
    cleared, _ = ClearHiddenTests().preprocess_cell(cell, {}, 0)
    return cleared.source


def _outputs(cell):
    rendered = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            rendered.append(f"<pre>{html.escape(output.get('text', '')[:MAX_TEXT])}</pre>")
        elif kind == "error":
            rendered.append(f"<pre class='error'>{html.escape(str(output.get('ename')))}: "
                            f"{html.escape(str(output.get('evalue', ''))[:MAX_TEXT])}</pre>")
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            png = "".join(str(data.get("image/png", "")).split())
            if png and len(png) <= MAX_IMAGE and BASE64.fullmatch(png):  # never emit anything but base64
                rendered.append(f"<img alt='figure' src='data:image/png;base64,{png}'>")
            elif "text/plain" in data:
                rendered.append(f"<pre>{html.escape(str(data['text/plain'])[:MAX_TEXT])}</pre>")
    return "".join(rendered)


STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap}.error{background:#fdecea}
.test{border-left:4px solid #888;padding-left:.5em}.pass{color:#1a7f37}.fail{color:#c62828}
.note{color:#555;font-style:italic}"""


def render(result, notebook):
    """The feedback page for one graded notebook (a string of HTML)."""
    e = html.escape
    messages = {t.grade_id: t for t in result.tests}
    rows = "".join(
        f"<tr><td>{e(t.grade_id)}</td><td class='{'pass' if t.score >= t.max_score else 'fail'}'>"
        f"{t.score:g} / {t.max_score:g}</td><td><pre>{e(t.message) or 'passed'}</pre></td></tr>"
        for t in result.tests)
    cells, tests_started = [], False
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            cells.append(f"<div class='md'><pre>{e(cell.source)}</pre></div>")
        elif cell.cell_type == "code":
            graded = bool(meta.get("grade"))
            if graded and not tests_started:
                tests_started = True
                cells.append(f"<p class='note'>{e(HIDDEN_FROM_HERE)}</p>")
            if graded:
                outcome = messages.get(meta["grade_id"])
                verdict = (outcome.message or "passed") if outcome else ""
                warned = any(o.get("output_type") == "stream" and o.get("name") == "stderr" for o in cell.outputs)
                cells.append(f"<div class='test'><p><b>Test {e(meta['grade_id'])}</b> (hidden tests not shown)</p>"
                             f"<pre>{e(_visible_source(cell))}</pre><pre>{e(verdict)}</pre>"
                             + (f"<p class='note'>This test printed warnings; warnings cost no points.</p>"
                                if warned else "") + "</div>")
            else:
                cells.append(f"<pre>{e(cell.source)}</pre>{'' if tests_started else _outputs(cell)}")
    title = f"{result.assignment}: feedback for {result.name or result.student}"
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>"
            f"<p><b>Score: {result.score:g} / {result.max_score:g}</b> ({e(result.status)}: "
            f"{e(result.reason)})</p>"
            f"<table><tr><th>test</th><th>points</th><th>message</th></tr>{rows}</table>"
            f"<h2>Your notebook, as graded</h2>{''.join(cells)}</body></html>")


def write_feedback(path, result, notebook):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, notebook), encoding="utf-8", errors="replace")
    return path
