"""Google Colab support: the set-up cell every notebook starts with, and "Open in Colab" links.

A notebook opened in Colab has numpy, torch, matplotlib and ipywidgets but not this course's
``utils`` package or its ``data/``. Every notebook therefore starts with the cell that
``setup_code()`` returns: outside Colab it does nothing; in Colab it clones the course's student
edition once (its ``utils`` and ``data/``, nothing else, and never a torch) and imports from the
clone. A clone that fails says so in one line that names the URL and the environment variables
that override it (``DLF_COURSE_REPO``, ``DLF_BRANCH``: the cell itself is read-only), and stops
"Run all" there, before the imports cell could fail with a ModuleNotFoundError.

``COURSE_REPO`` is where the notebooks in this repository point. ``python -m autograder publish
DIR --repo URL`` writes the student edition with every set-up cell and badge pointing at URL.
``python -m utils.colab`` prints the Colab link of every notebook next to this package.
"""
from pathlib import Path, PurePosixPath

COURSE_REPO = "https://github.com/deep-learning-foundations/course"
BRANCH = "main"
CLONE_DIR = "/content/course"  # Colab's working folder is /content

__all__ = ["BRANCH", "CLONE_DIR", "COURSE_REPO", "colab_url", "setup_code"]


def setup_code(repo=COURSE_REPO, branch=BRANCH, clone_dir=CLONE_DIR):
    """Source of the first cell of every notebook (no IPython magics, so a test can ``exec`` it).

    ipywidgets 8 needs Colab's custom widget manager; Colab's own manager serves 7.x. The exception
    that stops a failed set-up renders as its one-line message (IPython's ``_render_traceback_``).
    """
    return f'''\
# Set-up: on your own machine this cell does nothing. In Google Colab it fetches this course's
# helper package (`utils`) and data, once. Colab already has numpy, torch, matplotlib and ipywidgets.
import os, subprocess, sys
COURSE_REPO = os.environ.get("DLF_COURSE_REPO", "{repo}")
BRANCH, CLONE = os.environ.get("DLF_BRANCH", "{branch}"), "{clone_dir}"
if "google.colab" in sys.modules:
    if not os.path.isdir(CLONE):
        git = subprocess.run(["git", "clone", "-q", "--depth", "1", "--branch", BRANCH, COURSE_REPO, CLONE],
                             capture_output=True, text=True)
        if git.returncode != 0:
            class SetupFailed(Exception):
                _render_traceback_ = lambda self: [str(self)]  # shown as this one line, no traceback
            reason = next((line[7:] for line in git.stderr.splitlines() if line.startswith("fatal: ")), "git failed")
            raise SetupFailed(f"Set-up failed: git could not clone {{COURSE_REPO}} (branch {{BRANCH}}): {{reason.rstrip('.')}}. "
                              "Run %env DLF_COURSE_REPO=<your course's repository URL> (and DLF_BRANCH=<branch>) "
                              "in a new cell, then this cell again.")
    if CLONE not in sys.path:
        sys.path.insert(0, CLONE)  # `import utils` now finds the clone's package, and utils finds its data/
    import ipywidgets
    if int(ipywidgets.__version__.split(".")[0]) >= 8:
        from google.colab import output
        output.enable_custom_widget_manager()'''


def colab_url(notebook_path, repo=COURSE_REPO, branch=BRANCH):
    """The "Open in Colab" address of a notebook given by its path inside the repository.

    >>> colab_url("notebooks/01_backprop/01_backprop.ipynb", "https://github.com/school/course", "main")
    'https://colab.research.google.com/github/school/course/blob/main/notebooks/01_backprop/01_backprop.ipynb'
    """
    prefix = "https://github.com/"
    if not repo.startswith(prefix):
        raise ValueError(f"Colab opens notebooks from GitHub only, not from {repo!r}")
    owner_and_name = repo[len(prefix):].removesuffix(".git").strip("/")
    path = PurePosixPath(notebook_path)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"expected a path inside the repository, got {notebook_path!r}")
    return f"https://colab.research.google.com/github/{owner_and_name}/blob/{branch}/{path}"


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[1]
    for notebook in sorted((root / "notebooks").glob("*/*.ipynb")):
        print(colab_url(notebook.relative_to(root).as_posix()))
