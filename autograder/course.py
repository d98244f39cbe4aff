"""A private nbgrader course directory, built from this repository's ``solutions/``.

Release and grading both run inside a throw-away course, so nbgrader's gradebook and its
``submitted``/``autograded`` folders never land in the repository, and two runs never share
state by accident.
"""
import os
import shutil
import sys
from pathlib import Path

from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
SOLUTIONS = REPO / "solutions"
NOTEBOOKS = REPO / "notebooks"

CELL_TIMEOUT = 120  # seconds per cell while grading
CODE_STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def assignments():
    """Assignment ids (``01_backprop``, ...): the folders of ``solutions/`` that hold a notebook."""
    return sorted(p.name for p in SOLUTIONS.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))


def scripts_on_path():
    """Put this interpreter's script folder first on PATH.

    nbgrader runs some tools by name (``alembic`` when it creates a gradebook) and the
    kernel is found as ``python3``; without an activated virtual environment they would
    otherwise come from somewhere else, or not at all.
    """
    scripts = str(Path(sys.executable).parent)
    if os.environ.get("PATH", "").split(os.pathsep)[0] != scripts:
        os.environ["PATH"] = scripts + os.pathsep + os.environ.get("PATH", "")


def nbgrader_config(root, cell_timeout=CELL_TIMEOUT):
    """The course's nbgrader settings (the same as ``nbgrader_config.py``) for a course at ``root``."""
    config = Config()
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.course_id = "deep-learning-foundations"
    config.Execute.timeout = cell_timeout
    config.Execute.kernel_name = "python3"
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    return config


class Course:
    """An nbgrader course at ``root`` whose ``source/`` is a copy of ``solutions/``."""

    def __init__(self, root, assignment_ids=None, cell_timeout=CELL_TIMEOUT):
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        scripts_on_path()
        self.root = Path(root)
        self.assignment_ids = list(assignment_ids or assignments())
        for assignment in self.assignment_ids:
            shutil.copytree(SOLUTIONS / assignment, self.root / "source" / assignment,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        self.config = nbgrader_config(self.root, cell_timeout)
        self.api = NbGraderAPI(CourseDirectory(config=self.config), config=self.config)

    def generate(self):
        """Generate every assignment's student version into ``release/``; fail loudly."""
        for assignment in self.assignment_ids:
            result = self.api.generate_assignment(assignment, force=True, create=True)
            if not result["success"]:
                raise RuntimeError(f"nbgrader could not generate {assignment}:\n"
                                   f"{result.get('error') or result.get('log')}")
        return self.root / "release"

    @property
    def gradebook_url(self):
        return f"sqlite:///{self.root / 'gradebook.db'}"
