"""Check a notebook before submitting, the way the grader runs it: ``python -m utils.selfcheck NB``.

"It passes on my machine" usually means cells were run out of order, or an answer leans on a
cell the grader sees differently. This runs the saved notebook as the grader does: the answer
policy first (``utils.policy``; a refused cell never runs), then a fresh kernel, top to bottom,
with ``NBGRADER_EXECUTION=autograde`` (heavy cells shrink). It has only the visible checks, so a
pass here is necessary, not sufficient. It prints, per exercise, passed, failed (with the
message) or not attempted, and warns about what the grader cares about. It needs nothing but
Jupyter (nbclient, nbformat), so it runs in the student edition and in Colab.
"""
import ast
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from utils.policy import Policy, bound_names, check_notebook, digest, exercise_of

HEADING = re.compile(r"^#{1,4}\s*(\d+)\.\s+(.+?)\s*$", re.M)
NOT_ATTEMPTED = "NotImplementedError"


def _nbgrader(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def exercise_titles(notebook):
    """test grade id -> "Exercise 4 — a scalar autograd engine", from the numbered heading above it."""
    titles, current = {}, None
    for cell in notebook["cells"]:
        if cell["cell_type"] == "markdown":
            found = HEADING.search(cell["source"])
            if found:
                text = found.group(2)
                word = text.split()[0]
                text = text[0].lower() + text[1:] if word[1:] == word[1:].lower() else text  # keep "CUDA"
                current = f"Exercise {found.group(1)} — {text}"
        elif _nbgrader(cell).get("grade"):
            titles[_nbgrader(cell)["grade_id"]] = current or _nbgrader(cell)["grade_id"]
    return titles


@dataclass
class Verdict:
    grade_id: str
    title: str
    points: float
    status: str      # "passed", "failed" or "not attempted"
    message: str = ""


def warnings_for(notebook):
    """What the grader would see differently from the student's kernel, in plain sentences."""
    found = []
    counts = [(i, c.get("execution_count")) for i, c in enumerate(notebook["cells"])
              if c["cell_type"] == "code" and c.get("execution_count")]
    late = [i + 1 for (i, n), (_, previous) in zip(counts[1:], counts) if n < previous]
    if late:
        found.append(f"cells were run out of order (cell {', '.join(map(str, late[:5]))} ran before a cell "
                     f"above it): the grader runs top to bottom, so restart and run all before submitting")
    added = {}
    policy = Policy.from_notebook(notebook)
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] != "code":
            continue
        if not _nbgrader(cell) and digest(cell["source"]) not in policy.given:
            for name in bound_names(cell["source"]):
                added.setdefault(name, index + 1)
        elif _nbgrader(cell).get("solution") or _nbgrader(cell).get("grade"):
            used = {n.id for n in ast.walk(_tree(cell["source"])) if isinstance(n, ast.Name)}
            for name in sorted(used & set(added)):
                found.append(f"cell {index + 1} ({_nbgrader(cell)['grade_id']}) uses `{name}`, defined in "
                             f"cell {added[name]} that you added: the grader runs added cells too, but the "
                             f"answer policy judges them as part of the next exercise; keep answers in their cell")
    return found


def _tree(source):
    try:
        return ast.parse(source)
    except SyntaxError:
        return ast.Module(body=[], type_ignores=[])


def run(notebook, folder=".", timeout=600):
    """(verdicts, policy violations) for a notebook, executed in a fresh kernel in ``folder``."""
    import copy

    from nbclient import NotebookClient
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    notebook = copy.deepcopy(notebook)
    refused = check_notebook(notebook)
    refused_exercises = {exercise_of(notebook, i) for i in refused}
    for index in refused:
        notebook["cells"][index]["source"] = ""
    root = str(Path(__file__).resolve().parents[1])
    env = dict(os.environ, NBGRADER_EXECUTION="autograde",
               PYTHONPATH=os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")])))
    client = NotebookClient(notebook, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}})
    stopped = None
    try:
        with client.setup_kernel(env=env):
            for index, cell in enumerate(notebook.cells):
                if cell.cell_type == "code":
                    client.execute_cell(cell, index)
    except (DeadKernelError, CellTimeoutError) as error:
        stopped = "the kernel died" if isinstance(error, DeadKernelError) else f"a cell ran past {timeout} s"
    titles = exercise_titles(notebook)
    verdicts = []
    for index, cell in enumerate(notebook.cells):
        meta = _nbgrader(cell)
        if not meta.get("grade") or cell.cell_type != "code":
            continue
        error = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"), None)
        ran = cell.get("execution_count") is not None or error is not None
        verdict = Verdict(meta["grade_id"], titles[meta["grade_id"]], float(meta.get("points", 0)), "passed")
        if meta["grade_id"] + "-answer" in refused_exercises:
            verdict.status, verdict.message = "failed", "not run: the answer policy refused this exercise's answer"
        elif error is not None and error.get("ename") == NOT_ATTEMPTED:
            verdict.status = "not attempted"
        elif error is not None:
            verdict.status, verdict.message = "failed", f"{error.get('ename')}: {error.get('evalue', '')}".strip()
        elif not ran:
            verdict.status, verdict.message = "failed", f"not run: {stopped or 'the cell did not run'}"
        verdicts.append(verdict)
    return verdicts, refused


def check(path, timeout=600, out=sys.stdout):
    """Print the self-check of the notebook at ``path``; True when every visible check passed."""
    import nbformat
    path = Path(path)
    try:
        notebook = nbformat.read(path, as_version=4)
    except Exception as error:  # a broken file: say so, as the grader would reject it
        print(f"{path}: cannot be read as a notebook ({type(error).__name__}: {str(error)[:200]}); "
              f"the grader would reject it. Start again from the released notebook.", file=out)
        return False
    for warning in warnings_for(notebook):
        print(f"warning: {warning}", file=out)
    verdicts, refused = run(notebook, path.parent, timeout)
    for violations in refused.values():
        for violation in violations:
            print(f"policy: {violation} (the grader will not run this cell)", file=out)
    if not verdicts:
        print(f"{path}: no graded checks found: is this one of the course's notebooks?", file=out)
        return False
    for v in verdicts:
        print(f"{v.title} ({v.points:g} points): {v.status}" + (f": {v.message}" if v.message else ""), file=out)
    passed = sum(v.points for v in verdicts if v.status == "passed")
    print(f"visible checks passed for {passed:g} of {sum(v.points for v in verdicts):g} points "
          f"(the grader also runs hidden tests)", file=out)
    return all(v.status == "passed" for v in verdicts) and not refused


def main(argv=None):
    """``python -m utils.selfcheck NOTEBOOK.ipynb ...``: exit 0 when every visible check passed."""
    paths = argv if argv is not None else sys.argv[1:]
    if not paths:
        print("usage: python -m utils.selfcheck NOTEBOOK.ipynb ...")
        return 2
    return int(not all([check(path) for path in paths]))


if __name__ == "__main__":
    sys.exit(main())
