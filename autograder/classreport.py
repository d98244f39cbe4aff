"""The class report of a grading folder: ``OUT/report/index.html``, its CSVs and plots.

Rows come from ``OUT/grades.csv`` (what the LMS gets: the authority on who has what score);
each row's tests and time from its journal entry. Every figure in the page is a count over
those rows, and the CSVs hold the same counts, so the page can be checked against a spreadsheet.
"""
import base64
import csv
import html
import io
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import nbformat

from utils.selfcheck import exercise_titles

NUMBER = re.compile(r"-?\d+(\.\d+)?(e-?\d+)?")
TOP_MESSAGES = 5


def load(out):
    """The rows of ``out/grades.csv``, each with ``tests`` and ``seconds`` from the journal."""
    out = Path(out)
    if not (out / "grades.csv").exists():
        raise FileNotFoundError(f"{out / 'grades.csv'} does not exist: grade into {out} first")
    with open(out / "grades.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        entry = out / "journal" / f"{row['student']}__{row['assignment']}.json"
        result = json.loads(entry.read_text(encoding="utf-8"))["result"] if entry.exists() else {}
        row["tests"], row["seconds"] = result.get("tests", []), float(result.get("seconds", 0.0))
        row["score"], row["max_score"] = float(row["score"]), float(row["max_score"])
        row["final"] = float(row.get("final_score") or row["score"])
    return rows


def titles(out):
    """grade id -> exercise title, from the course's source notebooks."""
    found = {}
    for path in sorted((Path(out) / "course" / "source").glob("*/*.ipynb")):
        found.update(exercise_titles(nbformat.read(path, as_version=4)))
    return found


def group(message):
    """A failure message with its numbers blanked, so "got 3.1" and "got 2.7" count together."""
    return NUMBER.sub("#", message.splitlines()[0] if message else "")


def tables(rows, names=None):
    """The report's counts: statuses, per-test pass rates, grouped failures, flagged rows."""
    names = names or {}
    statuses = Counter(row["status"] for row in rows)
    tests = defaultdict(lambda: Counter())
    failures = defaultdict(Counter)
    for row in rows:
        if row["status"] == "rejected":
            continue
        for t in row["tests"]:
            counts = tests[(row["assignment"], t["grade_id"])]
            counts["graded"] += 1
            counts["points"] += t["score"]
            counts["max"] = t["max_score"]
            if t["score"] >= t["max_score"]:
                counts["passed"] += 1
            elif t["message"].startswith("not attempted"):
                counts["not attempted"] += 1
            else:
                counts[f"failed ({t.get('failed_in') or 'not run'})"] += 1
                failures[(row["assignment"], t["grade_id"])][group(t["message"])] += 1
    per_test = [{"assignment": a, "grade_id": g, "title": names.get(g, g), "points": f"{c['max']:g}",
                 "graded": c["graded"], "passed": c["passed"], "pass_rate": f"{c['passed'] / c['graded']:.3f}",
                 "not_attempted": c["not attempted"], "failed_visible": c["failed (visible)"],
                 "failed_hidden": c["failed (hidden)"], "failed_not_run": c["failed (not run)"],
                 "mean_points": f"{c['points'] / c['graded']:.2f}"}
                for (a, g), c in sorted(tests.items(), key=lambda item: (item[0][0], _order(names, item[0][1])))]
    common = [{"assignment": a, "grade_id": g, "message": m, "count": n}
              for (a, g), counter in sorted(failures.items()) for m, n in counter.most_common(TOP_MESSAGES)]
    flagged = [{"student": r["student"], "assignment": r["assignment"], "status": r["status"], "reason": r["reason"]}
               for r in rows if r["status"] != "graded"]
    return {"statuses": dict(sorted(statuses.items())), "tests": per_test, "failures": common, "flagged": flagged}


def _order(names, grade_id):
    """A test's place in its notebook (``names`` keeps the notebooks' order)."""
    order = list(names)
    return (order.index(grade_id), grade_id) if grade_id in order else (len(order), grade_id)


def _plot(draw):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    figure, axes = plt.subplots(figsize=(6.4, 3.2), dpi=100)
    if draw(axes) == "counts":
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # whole notebooks
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", metadata={"Software": None})  # no version stamp: same bytes each run
    plt.close(figure)
    return buffer.getvalue()


def plots(rows, counted):
    """name -> PNG bytes: score distribution, pass rate per test, statuses, time per submission."""
    graded = [100 * r["final"] / r["max_score"] for r in rows if r["status"] != "rejected" and r["max_score"]]
    seconds = [r["seconds"] for r in rows if r["seconds"]]

    def scores(ax):
        ax.hist(graded, bins=range(0, 105, 5), color="#3b6ea8")
        ax.set(xlabel="score (% of the maximum)", ylabel="notebooks", title="Score distribution")
        return "counts"

    def rates(ax):
        labels = [t["title"][:40] for t in counted["tests"]]
        ax.barh(labels[::-1], [float(t["pass_rate"]) * 100 for t in counted["tests"]][::-1], color="#1a7f37")
        ax.set(xlim=(0, 100), xlabel="passed (% of graded notebooks)", title="Pass rate per exercise")

    def statuses(ax):
        ax.bar(list(counted["statuses"]), list(counted["statuses"].values()), color="#888")
        ax.set(ylabel="submissions", title="Statuses")
        return "counts"

    def times(ax):
        ax.hist(seconds, bins=20, color="#a86b3b")
        ax.set(xlabel="seconds per submission", ylabel="notebooks", title="Time per submission")
        return "counts"

    return {"scores": _plot(scores), "pass_rate": _plot(rates), "statuses": _plot(statuses), "time": _plot(times)}


def _write_csv(path, rows, columns):
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        writer.writerows({k: _text(v) for k, v in row.items()} for row in rows)


def _text(value):
    """A cell a spreadsheet will not run as a formula."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@") else value


def _table(rows, columns):
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{e(str(r[c]))}</td>" for c in columns) + "</tr>" for r in rows)
    return f"<table><tr>{head}</tr>{body}</table>" if rows else "<p>none</p>"


STYLE = """body{font-family:sans-serif;max-width:70em;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin-bottom:1em}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}
img{max-width:48%;margin:.5em 1% .5em 0}pre{white-space:pre-wrap;margin:0}mark{background:#ffe08a}
.side{display:flex;gap:1em}.side pre{flex:1;background:#f6f6f6;padding:.5em;font-size:85%}"""


def write_report(out, pairs=None):
    """Write ``out/report/``: index.html, the CSVs, the plots; returns the page's path."""
    out = Path(out)
    rows = load(out)
    names = titles(out)
    counted = tables(rows, names)
    folder = out / "report"
    folder.mkdir(parents=True, exist_ok=True)
    test_columns = list(counted["tests"][0]) if counted["tests"] else ["assignment", "grade_id"]
    _write_csv(folder / "tests.csv", counted["tests"], test_columns)
    _write_csv(folder / "failures.csv", counted["failures"], ["assignment", "grade_id", "message", "count"])
    _write_csv(folder / "flagged.csv", counted["flagged"], ["student", "assignment", "status", "reason"])
    _write_csv(folder / "statuses.csv", [{"status": s, "count": n} for s, n in counted["statuses"].items()],
               ["status", "count"])
    images = plots(rows, counted)
    for name, png in images.items():
        (folder / f"{name}.png").write_bytes(png)
    figures = "".join(f"<img alt='{name}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
                      for name, png in images.items())
    failures = _table([dict(f, exercise=names.get(f["grade_id"], f["grade_id"])) for f in counted["failures"]],
                      ["exercise", "message", "count"])
    graded = [r for r in rows if r["status"] != "rejected"]
    mean = sum(r["final"] for r in graded) / len(graded) if graded else 0.0
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class report</title>"
            f"<style>{STYLE}</style></head><body><h1>Class report</h1>"
            f"<p>{len(rows)} submissions: " + ", ".join(f"{n} {s}" for s, n in counted["statuses"].items())
            + f". Mean score of the {len(graded)} graded notebooks: {mean:.1f}.</p>{figures}"
            f"<h2>Exercises</h2>" + _table(counted["tests"], ["title", "points", "graded", "passed", "pass_rate",
                                                            "not_attempted", "failed_visible", "failed_hidden",
                                                            "failed_not_run", "mean_points"])
            + f"<h2>Most common failure messages</h2>{failures}"
            f"<h2>Flagged, error and rejected submissions</h2>"
            + _table(counted["flagged"], ["student", "assignment", "status", "reason"])
            + (similarity_section(pairs, names) if pairs is not None else "") + "</body></html>")
    (folder / "index.html").write_text(page, encoding="utf-8")
    return folder / "index.html"


def similarity_section(pairs, names):
    """The similar pairs per exercise, the first ones side by side."""
    e = html.escape
    parts = [f"<h2>Similar answers</h2><p>{len(pairs)} pairs above the threshold (given code excluded; "
             f"'solution' is the reference answer).</p>"]
    for pair in pairs:
        parts.append(f"<h3>{e(names.get(pair.exercise, pair.exercise))}: {e(pair.first)} and {e(pair.second)}, "
                     f"{100 * pair.similarity:.0f}%</h3>")
        if pair.snippets:
            parts.append(f"<div class='side'><pre>{pair.snippets[0]}</pre><pre>{pair.snippets[1]}</pre></div>")
    return "".join(parts)
