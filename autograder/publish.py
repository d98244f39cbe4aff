"""Publish the student edition: the tree an instructor pushes as the course's public repository.

It holds what students get and nothing else: the student notebooks (``notebooks/``, their set-up
cells pointing at the edition's own address), the ``utils`` package, ``data/``, a README, the
students' requirements, a ``pyproject.toml`` (so ``pip install -e .`` makes ``utils`` importable
from any folder) and the licence. Solutions, hidden tests, the autograder and the grader-only
``oracles`` stay behind, and publishing refuses to write a file that holds a solution region or a
hidden-test block. The same repository gives a byte-identical tree: walks are sorted, texts are
fixed, nothing records a time.
"""
import re
import shutil
import tomllib
from pathlib import Path

import nbformat

from autograder.course import NOTEBOOKS, REPO, assignments
from utils.colab import BRANCH, COURSE_REPO, colab_url, setup_code

DATA_FILES = ("README.md", "make_mnist_subset.py", "mnist_5k.npz")  # not data/MNIST/, a local download
STUDENT_PACKAGES = ("torch", "torchvision", "numpy", "matplotlib", "ipywidgets", "tqdm", "jupyterlab")
FORBIDDEN = ("### BEGIN SOLUTION", "### END SOLUTION", "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS")
EDITION_MARK = "<!-- the student edition, written by python -m autograder publish -->"


class PublishError(RuntimeError):
    """The edition cannot be written as asked (the target holds other files, or an answer would leak)."""


def publish(destination, repo=COURSE_REPO, branch=BRANCH):
    """Write the student edition into ``destination``; returns the paths written, relative and sorted.

    ``destination`` may be empty, missing, or an earlier edition (say, a clone of the public
    repository: its ``.git`` is kept and everything else is replaced).
    """
    destination = Path(destination)
    files = edition_files(repo, branch)
    _clear(destination)
    for relative, content in sorted(files.items()):
        if isinstance(content, Path):
            content = content.read_bytes()
        leaked = [marker for marker in FORBIDDEN if marker.encode() in content]
        if leaked:
            raise PublishError(f"{relative} contains {leaked[0]!r}: run python -m autograder release first")
        path = destination / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    return sorted(files)


def edition_files(repo=COURSE_REPO, branch=BRANCH):
    """edition path -> bytes to write (or the repository file to copy), for every file of the edition."""
    files = {}
    for assignment in assignments():
        for source in sorted((NOTEBOOKS / assignment).iterdir()):
            relative = source.relative_to(REPO).as_posix()
            if source.suffix == ".ipynb":
                files[relative] = _pointed_at(source, repo, branch)
            elif source.is_file():
                files[relative] = source
    for source in sorted((REPO / "utils").glob("*.py")):
        files[f"utils/{source.name}"] = source
    files["utils/colab.py"] = _colab_module(repo, branch)
    for name in DATA_FILES:
        files[f"data/{name}"] = REPO / "data" / name
    files["README.md"] = student_readme(repo, branch).encode()
    files["requirements.txt"] = _requirements().encode()
    files["pyproject.toml"] = _pyproject().encode()
    files["LICENSE"] = LICENSE.encode()
    files[".gitignore"] = b"__pycache__/\n*.egg-info/\n.ipynb_checkpoints/\n/data/MNIST/\n"
    return files


def _clear(destination):
    """Empty ``destination`` but for ``.git``; refuse a folder that is not an earlier edition."""
    if not destination.exists():
        return
    entries = [p for p in destination.iterdir() if p.name != ".git"]
    readme = destination / "README.md"
    if entries and not (readme.is_file() and EDITION_MARK in readme.read_text(errors="replace")):
        raise PublishError(f"{destination} is not empty and is not a student edition: choose a new folder")
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink()


def _pointed_at(path, repo, branch):
    """The student notebook with its set-up cell for ``repo``/``branch`` (nbgrader checksum updated)."""
    from nbgrader.utils import compute_checksum

    notebook = nbformat.read(path, as_version=4)
    setup = notebook.cells[0]
    if setup.source != setup_code():
        raise PublishError(f"{path} does not start with the set-up cell: run python -m autograder release")
    setup.source = setup_code(repo, branch)
    if "checksum" in setup.metadata.get("nbgrader", {}):
        setup.metadata["nbgrader"]["checksum"] = compute_checksum(setup)
    return (nbformat.writes(notebook) + "\n").encode()


def _colab_module(repo, branch):
    """utils/colab.py with ``COURSE_REPO`` and ``BRANCH`` naming the edition, so that its
    ``setup_code()`` and ``colab_url()`` agree with the published notebooks."""
    source = (REPO / "utils" / "colab.py").read_text()
    for name, value in (("COURSE_REPO", repo), ("BRANCH", branch)):
        source, found = re.subn(rf'^{name} = ".*"$', f'{name} = "{value}"', source,
                                count=1, flags=re.MULTILINE)
        if not found:
            raise PublishError(f"utils/colab.py has no line {name} = \"...\" to point at the edition")
    return source.encode()


def _title(path):
    """The notebook's title: its first markdown heading without the leading '#'."""
    notebook = nbformat.read(path, as_version=4)
    first = next(c.source for c in notebook.cells if c.cell_type == "markdown")
    return first.splitlines()[0].lstrip("# ").strip()


def student_readme(repo=COURSE_REPO, branch=BRANCH):
    """The edition's README: what the course is, how to run it locally and in Colab, how to check work."""
    rows = []
    for assignment in assignments():
        notebook = f"notebooks/{assignment}/{assignment}.ipynb"
        try:
            badge = f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook, repo, branch)})"
        except ValueError:  # Colab opens GitHub repositories only
            badge = ""
        rows.append(f"| [{_title(NOTEBOOKS / assignment / f'{assignment}.ipynb')}]({notebook}) | {badge} |")
    table = "\n".join(["| Notebook | |", "|---|---|", *rows])
    return README.format(mark=EDITION_MARK, table=table, repo=repo, branch=branch)


def _requirements():
    """The students' lines of the course's requirements.txt (same pins), and this edition's utils."""
    lines = []
    for line in (REPO / "requirements.txt").read_text().splitlines():
        name = re.split(r"[\s<>=!~\[;#]", line.strip(), maxsplit=1)[0].lower()
        if name in STUDENT_PACKAGES:
            lines.append(line.split("#")[0].rstrip())
    return ("# Run the notebooks locally: python -m pip install -r requirements.txt\n"
            + "\n".join(lines) + "\n-e .   # this edition's utils, importable from every notebook folder\n")


def _pyproject():
    """A pyproject for ``utils`` alone, with the course's run-time dependencies."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    dependencies = ", ".join(f'"{d}"' for d in project["dependencies"])
    return f'''[build-system]
requires = ["setuptools>=64"]
build-backend = "setuptools.build_meta"

[project]
name = "{project["name"]}-student"
version = "{project["version"]}"
description = "The helper package of the Deep Learning Foundations notebooks"
requires-python = "{project["requires-python"]}"
license = {{ text = "MIT" }}
dependencies = [{dependencies}]

[tool.setuptools]
packages = ["utils"]
'''


README = """{mark}
# Deep Learning Foundations

Interactive notebooks that teach the foundations of deep learning by having you build them:
backpropagation, initialization, convolution arithmetic, optimizers, BatchNorm and training a CNN on
a GPU. Every exercise has checks you can run yourself; your instructor's grader runs more.

{table}

## In Google Colab

Click a notebook's *Open in Colab* badge. Run its first cell: in Colab it fetches this repository's
`utils` package and `data/` (Colab already has torch, numpy, matplotlib and ipywidgets), and on your
own machine it does nothing. If it says *Set-up failed*, it names the address it tried
({repo}, branch {branch}); set the right one with `%env DLF_COURSE_REPO=...` in a new cell and run
the first cell again. Choose *Runtime → Change runtime type → GPU* for notebook 6, and *File → Save a
copy in Drive* to keep your work.

## On your own machine (Python 3.10 or newer)

```bash
git clone {repo} course && cd course
python -m pip install -r requirements.txt   # torch, JupyterLab, and this repository's utils
jupyter lab notebooks/
```

Nothing downloads while you work: notebook 6 uses full MNIST if it is on disk or can be fetched, and
otherwise the 5,000 digits in `data/` (`DLF_OFFLINE=1` forbids even trying).

## Working through a notebook

Go top to bottom. Fill in each cell marked `# YOUR CODE HERE` (delete the `raise NotImplementedError()`),
then run the cell of checks below it: it says what is wrong and often why (expected vs got, and a hint).
The plots and widgets after an exercise use your code. Do not rename the answers or edit the other
cells: the grader puts them back.

## Before you submit

1. *Kernel → Restart Kernel and Run All Cells*: every check cell must finish without an error. A notebook
   that only works in the order you happened to run it fails when it is graded.
2. Run it the way the grader does: the answer policy first, then a fresh kernel, top to bottom, with
   the visible checks. It prints each exercise as passed, failed (with the message) or not attempted,
   and warns about cells run out of order and answers that lean on a cell you added:

   ```bash
   python -m utils.selfcheck notebooks/01_backprop/01_backprop.ipynb
   ```

   In Colab, save the notebook (*File → Save*), mount your Drive, and run in a new cell
   `from utils.selfcheck import check; check("/content/drive/MyDrive/Colab Notebooks/01_backprop.ipynb")`.

3. The answer policy on its own: it refuses to run an answer that
   imports beyond numpy, torch, matplotlib and a few standard modules, reaches into Python's
   machinery (`getattr`, `eval`, `open`, dunder attributes, the notebook's history), patches the
   checks, or calls the library function an exercise asks you to write yourself (each exercise's
   text names it). It prints the cell and line of anything it would refuse:

   ```bash
   python -m utils.policy notebooks/01_backprop/01_backprop.ipynb
   ```

4. Submit the `.ipynb` file as your instructor asks. Passing the visible checks is necessary, not
   sufficient: the grader also tests cases you cannot see.

## Licence

The code and notebooks are under the MIT licence (`LICENSE`); the MNIST digits in `data/` under
CC BY-SA 3.0 (see `data/README.md`).
"""

LICENSE = """MIT License

Copyright (c) The Deep Learning Foundations authors

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
