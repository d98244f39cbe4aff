"""nbgrader's configuration for this course, used by `nbgrader ...` run from the repository root
and by the JupyterLab formgrader. `python -m autograder` builds the same settings into a
private course directory of its own (autograder/course.py), so it never writes here."""
import os
import sys

c = get_config()  # noqa: F821 (provided by nbgrader)

c.CourseDirectory.course_id = "deep-learning-foundations"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.source_directory = "solutions"   # the truth: solutions and hidden tests
c.CourseDirectory.release_directory = "notebooks"  # generated student versions, committed

# nbgrader's exchange (where `nbgrader release_assignment`/`collect` and the Assignments tab look).
# Kept inside the repository (git-ignored) so the formgrader finds it without a system folder.
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")
os.makedirs(c.Exchange.root, exist_ok=True)

c.Execute.timeout = 120          # seconds per cell while grading
c.Execute.kernel_name = "python3"
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# nbgrader creates a gradebook by running `alembic` by name. Look next to the interpreter that
# runs nbgrader first, so the formgrader works in a virtual environment that was never activated
# (`.venv/bin/python -m jupyter lab`), as `python -m autograder` does (autograder/course.py).
_scripts = os.path.dirname(sys.executable)
if os.environ.get("PATH", "").split(os.pathsep)[0] != _scripts:
    os.environ["PATH"] = os.pathsep.join(filter(None, [_scripts, os.environ.get("PATH")]))
del _scripts
