"""Generate the student versions in ``notebooks/`` from ``solutions/`` with nbgrader."""
import shutil
import tempfile
from pathlib import Path

from autograder.course import NOTEBOOKS, Course, assignments


def release(assignment_ids=None, destination=NOTEBOOKS):
    """Regenerate ``destination/<assignment>/`` for each assignment; returns the folders written."""
    assignment_ids = list(assignment_ids or assignments())
    destination = Path(destination)
    written = []
    with tempfile.TemporaryDirectory(prefix="dlf-release-") as tmp:
        released = Course(tmp, assignment_ids).generate()
        for assignment in assignment_ids:
            target = destination / assignment
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(released / assignment, target)
            written.append(target)
    return written
