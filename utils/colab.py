"""Google Colab support: the one place that names this course's public repository.

A notebook opened in Colab has numpy, torch, matplotlib and ipywidgets but not this course's
``utils`` package or its ``data/``. Every notebook therefore starts with the set-up cell that
``setup_code()`` returns: outside Colab it does nothing; in Colab it clones ``COURSE_REPO`` once
and installs the package without its dependencies (so Colab's own torch is never replaced).
The README's "Open in Colab" links come from ``colab_url()``, built from the same constant.

A fork changes ``COURSE_REPO`` (and ``BRANCH``) here and rebuilds the notebooks;
``tests/test_colab_setup.py`` fails while any notebook still carries an old set-up cell.

``python -m utils.colab`` prints the Colab link of every student notebook.
"""
from pathlib import PurePosixPath

COURSE_REPO = "https://github.com/deep-learning-foundations/course"
BRANCH = "main"
CLONE_DIR = "/content/course"  # Colab's working folder is /content

__all__ = ["BRANCH", "CLONE_DIR", "COURSE_REPO", "colab_url", "setup_code"]


def setup_code(repo=COURSE_REPO, branch=BRANCH, clone_dir=CLONE_DIR):
    """Source of the first cell of every notebook (no IPython magics, so a test can ``exec`` it)."""
    return f'''\
# Set-up: on your own machine this cell does nothing. In Google Colab it fetches this course's
# helper package (`utils`) and data, once. Colab already has numpy, torch, matplotlib and ipywidgets.
import os, subprocess, sys
COURSE_REPO, BRANCH, CLONE = "{repo}", "{branch}", "{clone_dir}"
if "google.colab" in sys.modules:
    if not os.path.isdir(CLONE):
        subprocess.run(["git", "clone", "--depth", "1", "--branch", BRANCH, COURSE_REPO, CLONE], check=True)
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "-e", CLONE], check=True)
    if CLONE not in sys.path:
        sys.path.insert(0, CLONE)  # this kernel started before the install, so it would not see it'''


def colab_url(notebook_path, repo=COURSE_REPO, branch=BRANCH):
    """The "Open in Colab" address of a notebook given by its path inside the repository.

    >>> colab_url("notebooks/01_backprop/01_backprop.ipynb")
    'https://colab.research.google.com/github/deep-learning-foundations/course/blob/main/notebooks/01_backprop/01_backprop.ipynb'
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
    from autograder.course import NOTEBOOKS, REPO

    for notebook in sorted(NOTEBOOKS.glob("*/*.ipynb")):
        print(colab_url(notebook.relative_to(REPO).as_posix()))
