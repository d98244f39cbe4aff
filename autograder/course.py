"""A private nbgrader course directory, built from this repository's ``solutions/``.

Release and grading both run inside a course folder of their own, so nbgrader's gradebook and
its ``submitted``/``autograded`` folders never land in the repository. ``grade --out DIR`` keeps
its course in ``DIR/course`` so that a resumed run finds its gradebook again; a digest of
``solutions/`` guards against resuming after the tests changed.
"""
import hashlib
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


def grade_ids(assignment_ids=None):
    """assignment -> the nbgrader cell ids of its source notebook (read from ``solutions/``)."""
    import nbformat
    ids = {}
    for assignment in assignment_ids or assignments():
        notebook = nbformat.read(next((SOLUTIONS / assignment).glob("*.ipynb")), as_version=4)
        ids[assignment] = {c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
                           if c.metadata.get("nbgrader", {}).get("grade_id")}
    return ids


def scripts_on_path():
    """Put this interpreter's script folder first on PATH.

    nbgrader finds the kernel as ``python3`` (and its formgrader runs ``alembic`` by name);
    without an activated virtual environment they would otherwise come from somewhere else,
    or not at all.
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


def schema_revision():
    """The revision of nbgrader's gradebook schema, as ``alembic heads`` prints it.

    nbgrader runs ``alembic heads`` in a subprocess each time it creates a gradebook: a second of
    CPU per course. The revision is read here from the same migration scripts, nbgrader's own.
    """
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR
    return ScriptDirectory(ALEMBIC_DIR).get_current_head()


class CourseChanged(RuntimeError):
    """The solutions changed since this course folder was generated."""


def solutions_digest(assignment_ids):
    """SHA-256 over the assignments' source files: what the grades in a course folder depend on."""
    digest = hashlib.sha256()
    for assignment in sorted(assignment_ids):
        for path in sorted((SOLUTIONS / assignment).rglob("*")):
            if path.is_file() and ".ipynb_checkpoints" not in path.parts and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(SOLUTIONS)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


class Course:
    """An nbgrader course at ``root`` whose ``source/`` is a copy of ``solutions/``."""

    def __init__(self, root, assignment_ids=None, cell_timeout=CELL_TIMEOUT):
        import nbgrader.api
        from nbgrader.apps import NbGraderAPI
        from nbgrader.coursedir import CourseDirectory

        scripts_on_path()
        nbgrader.api.get_alembic_version = schema_revision  # a new gradebook asks it; see its docstring
        self.root = Path(root)
        self.assignment_ids = list(assignment_ids or assignments())
        for assignment in self.assignment_ids:
            if not (self.root / "source" / assignment).exists():
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

    def prepare(self):
        """Generate once; a course folder reopened by a resumed run keeps its gradebook as it is."""
        stamp = self.root / "solutions.sha256"
        digest = solutions_digest(self.assignment_ids)
        if stamp.exists():
            if stamp.read_text().strip() != digest:
                raise CourseChanged(f"the solutions changed since {self.root} was graded; "
                                    f"grade into a fresh --out folder")
            return self.root / "release"
        released = self.generate()
        stamp.write_text(digest + "\n")
        return released

    @property
    def gradebook_url(self):
        return f"sqlite:///{self.root / 'gradebook.db'}"
