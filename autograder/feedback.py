"""Per-student HTML feedback that never shows hidden test code.

Why not nbgrader's ``generate_feedback``: it renders the autograded notebook as it is, and that
notebook holds the restored test cells *with* their hidden tests (checked: nbgrader 0.9.6's
feedback pipeline has no ``ClearHiddenTests``). Here each test cell is shown with its hidden
block removed by nbgrader's own ``ClearHiddenTests`` preprocessor, tracebacks are reduced to
the check's message, and every output line that quotes a line of hidden test code (student code
can read the source of the cell that calls it) is redacted. The page is plain, self-contained
HTML: a score table (test, points, message) followed by the student's notebook.
"""
import html
import re
from pathlib import Path

import nbformat

REDACTED = "[redacted: hidden test code]"
MAX_TEXT = 20_000      # characters of text output shown per output
MAX_IMAGE = 300_000    # bytes of a PNG shown inline
BASE64 = re.compile(r"[A-Za-z0-9+/]+=*")


def redact(text, hidden_lines):
    """``text`` with every line that contains a line of hidden test code replaced."""
    if not hidden_lines:
        return text
    return "\n".join(REDACTED if any(h in line for h in hidden_lines) else line for line in text.split("\n"))


def _visible_source(cell):
    from nbgrader.preprocessors import ClearHiddenTests
    cell = nbformat.from_dict(dict(cell))
    cleared, _ = ClearHiddenTests().preprocess_cell(cell, {}, 0)
    return cleared.source


def _outputs(cell, hidden_lines):
    parts = []
    for output in cell.get("outputs", []):
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(("pre", output.get("text", "")))
        elif kind == "error":
            parts.append(("pre class='error'", f"{output.get('ename')}: {output.get('evalue', '')}"))
        elif kind in ("execute_result", "display_data"):
            data = output.get("data", {})
            png = "".join(str(data.get("image/png", "")).split())
            if png and len(png) <= MAX_IMAGE and BASE64.fullmatch(png):  # never emit anything but base64
                parts.append(("img", png))
            elif "text/plain" in data:
                parts.append(("pre", data["text/plain"]))
    rendered = []
    for tag, content in parts:
        if tag == "img":
            rendered.append(f"<img alt='figure' src='data:image/png;base64,{content}'>")
        else:
            text = redact(str(content)[:MAX_TEXT], hidden_lines)
            rendered.append(f"<{tag}>{html.escape(text)}</{tag.split()[0]}>")
    return "".join(rendered)


STYLE = """body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.3em .6em;vertical-align:top;text-align:left}
pre{background:#f6f6f6;padding:.5em;overflow-x:auto;white-space:pre-wrap}.error{background:#fdecea}
.test{border-left:4px solid #888;padding-left:.5em}.pass{color:#1a7f37}.fail{color:#c62828}"""


def render(result, notebook, hidden_lines):
    """The feedback page for one graded notebook (a string of HTML)."""
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(t.grade_id)}</td><td class='{'pass' if t.score >= t.max_score else 'fail'}'>"
        f"{t.score:g} / {t.max_score:g}</td><td><pre>{e(redact(t.message, hidden_lines)) or 'passed'}</pre></td></tr>"
        for t in result.tests)
    cells = []
    for cell in notebook.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "markdown":
            cells.append(f"<div class='md'><pre>{e(cell.source)}</pre></div>")
        elif cell.cell_type == "code":
            if meta.get("grade"):
                source = _visible_source(cell)
                cells.append(f"<div class='test'><p><b>Test {e(meta['grade_id'])}</b> (hidden tests not shown)</p>"
                             f"<pre>{e(redact(source, hidden_lines))}</pre>{_outputs(cell, hidden_lines)}</div>")
            else:
                cells.append(f"<pre>{e(redact(cell.source, hidden_lines))}</pre>{_outputs(cell, hidden_lines)}")
    title = f"{result.assignment}: feedback for {result.name or result.student}"
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{e(title)}</title>"
            f"<style>{STYLE}</style></head><body><h1>{e(title)}</h1>"
            f"<p><b>Score: {result.score:g} / {result.max_score:g}</b> ({e(result.status)}: "
            f"{e(redact(result.reason, hidden_lines))})</p>"
            f"<table><tr><th>test</th><th>points</th><th>message</th></tr>{rows}</table>"
            f"<h2>Your notebook, as graded</h2>{''.join(cells)}</body></html>")


def write_feedback(path, result, notebook, hidden_lines):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result, notebook, hidden_lines), encoding="utf-8")
    return path
