"""Find the submissions in a folder and read each notebook defensively.

A folder holds ``<student>/<assignment>.ipynb`` or nbgrader's
``<student>/<assignment>/<assignment>.ipynb``. Reading never raises for a bad file: it
returns a ``Rejected`` reason instead, so one broken submission cannot stop a grading run.
"""
import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str
    path: Path


class Rejected(Exception):
    """A submission that cannot be graded; the message says why, for the student."""


def find_submissions(folder):
    """Every ``Submission`` under ``folder``, sorted by student then assignment."""
    folder = Path(folder)
    found = []
    for student_dir in sorted(p for p in folder.iterdir() if p.is_dir()):
        for notebook in sorted(student_dir.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in notebook.parts:
                continue
            found.append(Submission(student_dir.name, notebook.stem, notebook))
    return found


def read_submission(submission, known_assignments):
    """The submission's notebook as an nbformat v4 node, or ``Rejected`` with a reason."""
    if not STUDENT_ID.fullmatch(submission.student):
        raise Rejected(f"student id {submission.student!r} is not a plain name")
    if submission.assignment not in known_assignments:
        raise Rejected(f"{submission.path.name}: no assignment of that name "
                       f"(expected one of {', '.join(known_assignments)})")
    try:
        text = submission.path.read_text(encoding="utf-8")
        notebook = nbformat.reads(text, as_version=4)
        nbformat.validate(notebook)
    except UnicodeDecodeError:
        raise Rejected("the file is not UTF-8 text, so not a notebook") from None
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        raise Rejected(f"the file is not valid notebook JSON ({str(error).splitlines()[0][:120]})") from None
    except nbformat.ValidationError as error:
        raise Rejected(f"the notebook does not follow the notebook format ({error.message[:120]})") from None
    except Exception as error:  # any other malformed content: reject, never crash the run
        raise Rejected(f"the notebook could not be read ({type(error).__name__}: {str(error)[:120]})") from None
    return notebook
