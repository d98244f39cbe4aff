"""Find the submissions in a folder or an LMS download zip, and read each notebook defensively.

Layouts understood:

* a folder of ``<student>/<notebook>.ipynb`` or nbgrader's ``<student>/<assignment>/<notebook>.ipynb``;
* a Canvas zip: ``<name>[_LATE]_<user id>_<submission id>_<file>``, where Canvas appends ``-1``,
  ``-2`` ... to a file a student uploaded again: the highest submission id (then the highest
  suffix) is the latest and the only one graded;
* a Moodle zip: ``<Full Name>_<id>_assignsubmission_file_/<file>``.

Who submitted comes only from the LMS's outermost naming, never from folders inside an upload.
After notebooks are matched to assignments, ``latest_per_assignment`` keeps one per student and
assignment: the latest (by the LMS's order; in a folder, the last modified). A damaged zip
member, like any unreadable file, is that member's rejection.

For LMS zips the student is the LMS id (what the gradebook import needs) and the display name is
kept for the report. A notebook is matched to its assignment by its nbgrader cell ids, so a
renamed file (``Copy of 01_backprop (2).ipynb``) is still graded. Reading never raises for a bad
file: it raises ``Rejected`` with a reason for the student, so one broken submission cannot stop
a run. Zip members are read with size caps and never extracted by their own path (no zip-slip).
"""
import json
import re
import shutil
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path

import nbformat

STUDENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@+-]{0,99}")
CANVAS = re.compile(r"^(?P<name>[^_/]+?)(?:_LATE)?_(?P<id>\d+)_(?P<subid>\d+)_(?P<file>.+)$")
MOODLE = re.compile(r"^(?P<name>.+)_(?P<id>\d+)_assignsubmission_file_?$")
RESUBMITTED = re.compile(r"^(?P<stem>.+?)-(?P<n>\d+)$")
MAX_BYTES = 50 << 20  # a bigger notebook is rejected unread (outputs are cleared before grading anyway)


@dataclass(frozen=True)
class Submission:
    student: str
    assignment: str  # as named by the path; ``read_submission`` matches the notebook's content
    path: Path
    name: str = ""   # the student's display name, from an LMS download
    note: str = ""   # what ingest noticed (a resubmission that superseded others ...)
    upload: str = ""  # the file's name as the student uploaded it
    order: tuple = field(default=(), compare=False)  # the LMS's upload order: the greatest is the latest


class Rejected(Exception):
    """A submission that cannot be graded; the message says why, for the student."""


def find_submissions(source, workdir=None):
    """Every ``Submission`` in a folder or an LMS zip (extracted under ``workdir``), sorted."""
    source = Path(source)
    if source.is_file() and zipfile.is_zipfile(source):
        if workdir is None:
            raise ValueError("a zip needs a workdir to extract into")
        return _from_zip(source, Path(workdir))
    found = []
    for student_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        for notebook in sorted(student_dir.rglob("*.ipynb")):
            if ".ipynb_checkpoints" in notebook.parts:
                continue
            relative = notebook.relative_to(student_dir)
            assignment = relative.parts[0] if len(relative.parts) > 1 else notebook.stem
            found.append(Submission(student_dir.name, assignment, notebook, upload=str(relative),
                                    order=(notebook.stat().st_mtime_ns, str(relative))))
    return found


def _from_zip(archive, workdir):
    """LMS submissions in ``archive``: members copied (capped) to ``workdir/<n>.ipynb``."""
    uploads = {}  # (student, notebook stem) -> [Submission]
    extracted = workdir / "extracted"
    extracted.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(archive) as zipped:
        for number, info in enumerate(zipped.infolist()):
            parts = [p for p in info.filename.replace("\\", "/").split("/") if p not in ("", ".", "..")]
            if info.is_dir() or not parts or not parts[-1].endswith(".ipynb") or "__MACOSX" in parts:
                continue
            parsed = _parse_lms_name(parts)
            if parsed is None:
                continue
            student, name, subid, upload = parsed
            stem = upload.split("/")[-1][: -len(".ipynb")]
            match = RESUBMITTED.match(stem)
            resubmission, stem = (int(match["n"]), match["stem"]) if match else (0, stem)
            target = _extract(zipped, info, extracted / str(number))
            uploads.setdefault((student, stem), []).append(Submission(
                student, stem, target, name, upload=upload,
                order=(subid, resubmission, info.date_time, info.filename)))
    return [_latest(uploads[key]) for key in sorted(uploads)]


def _latest(versions):
    """The latest of one student's uploads of one notebook, its note naming the others."""
    latest = max(versions, key=lambda version: version.order)
    others = sorted(v.upload or v.path.name for v in versions if v is not latest)
    if not others:
        return latest
    note = f"latest of {len(versions)} uploads (not graded: {', '.join(others)})"
    return replace(latest, note="; ".join(filter(None, [latest.note, note])))


def _extract(zipped, info, target):
    """Copy one member to ``target`` + ``.ipynb``; or leave a marker that says why it can't be read."""
    if info.file_size > MAX_BYTES:  # declared size; never inflated
        marker = target.with_suffix(".toolarge")
        marker.write_text(str(info.file_size))
        return marker
    notebook = target.with_suffix(".ipynb")
    try:
        with zipped.open(info) as member, open(notebook, "wb") as out:
            shutil.copyfileobj(member, out)
        return notebook
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as error:
        notebook.unlink(missing_ok=True)
        marker = target.with_suffix(".damaged")
        marker.write_text(f"{type(error).__name__}: {error}"[:200])
        return marker


def _parse_lms_name(parts):
    """(student id, display name, submission id, file path in the upload) from an LMS path, or None.

    Only the LMS's own, outermost naming says who submitted: folders inside a student's upload
    never do, whatever they are called.
    """
    for depth, folder in enumerate(parts[:-1]):
        moodle = MOODLE.match(folder)
        if moodle:
            return moodle["id"], moodle["name"], 0, "/".join(parts[depth + 1:])
    canvas = CANVAS.match(parts[-1])
    if canvas:
        return canvas["id"], canvas["name"], int(canvas["subid"]), canvas["file"]
    if len(parts) >= 2 and STUDENT_ID.fullmatch(parts[0]):  # a zipped folder of <student>/.../<notebook>.ipynb
        return parts[0], "", 0, "/".join(parts[1:])
    return None


def latest_per_assignment(submissions, grade_ids):
    """One submission per (student, assignment) once notebooks are matched to assignments by
    their content: the latest in the LMS's order; the others are named in its note.

    A file that cannot be read keeps the assignment its name gives, so it is still reported.
    """
    groups = {}
    for submission in submissions:
        try:
            assignment = read_submission(submission, grade_ids)[1]
        except Exception:  # unreadable: grading rejects it in its own row
            assignment = submission.assignment
        groups.setdefault((submission.student, assignment), []).append(submission)
    kept = [_latest(versions) for versions in groups.values()]
    return sorted(kept, key=lambda s: (s.student, s.assignment, s.order))


def identify(notebook, grade_ids):
    """The assignment whose nbgrader cell ids the notebook carries most of (None if none)."""
    present = {c.get("metadata", {}).get("nbgrader", {}).get("grade_id") for c in notebook.cells}
    overlap = {a: len(ids & present) for a, ids in grade_ids.items()}
    best = max(overlap, key=overlap.get, default=None)
    return best if best is not None and overlap[best] > 0 else None


def assignments_present(submissions, grade_ids):
    """The assignments that some submission is (by name or by content): the course to build."""
    found = set()
    for submission in submissions:
        if submission.assignment in grade_ids:
            found.add(submission.assignment)
            continue
        try:
            notebook, assignment, _ = read_submission(submission, grade_ids)
            found.add(assignment)
        except Rejected:
            pass
    return sorted(found)


def read_submission(submission, grade_ids, max_bytes=MAX_BYTES):
    """(notebook, assignment id, notes) for a submission, or ``Rejected`` with a reason.

    ``grade_ids`` maps each assignment to the nbgrader cell ids of its notebook.
    """
    notes = []
    if not STUDENT_ID.fullmatch(submission.student):
        raise Rejected(f"student id {submission.student!r} is not a plain name")
    path = submission.path
    if path.suffix == ".damaged":
        raise Rejected(f"the file is damaged in the zip and cannot be unpacked ({path.read_text()})")
    if path.suffix == ".toolarge" or path.stat().st_size > max_bytes:
        size = int(path.read_text()) if path.suffix == ".toolarge" else path.stat().st_size
        raise Rejected(f"the file is {size / 2**20:.0f} MB, over the {max_bytes / 2**20:.0f} MB limit "
                       f"(clear the outputs before submitting)")
    try:
        text = path.read_text(encoding="utf-8")
        version = json.loads(text).get("nbformat")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            notebook = nbformat.reads(text, as_version=4)
            nbformat.validate(notebook)
        nbformat.writes(notebook).encode("utf-8")  # JSON escapes can spell text no file can hold
        if any("cell id" in str(w.message).lower() for w in caught):
            notes.append("duplicate cell ids repaired")
    except UnicodeDecodeError:
        raise Rejected("the file is not UTF-8 text, so not a notebook") from None
    except UnicodeEncodeError as error:
        raise Rejected(f"the notebook holds text that is not valid Unicode ({error.object[error.start:error.end]!r}, "
                       f"a lone surrogate), so it cannot be saved") from None
    except (json.JSONDecodeError, nbformat.reader.NotJSONError) as error:
        raise Rejected(f"the file is not valid notebook JSON ({str(error).splitlines()[0][:120]})") from None
    except nbformat.ValidationError as error:
        raise Rejected(f"the notebook does not follow the notebook format ({error.message[:120]})") from None
    except Exception as error:  # any other malformed content: reject, never crash the run
        raise Rejected(f"the notebook could not be read ({type(error).__name__}: {str(error)[:120]})") from None
    if version != 4:
        notes.append(f"converted from nbformat {version}")
    assignment = identify(notebook, grade_ids)
    if assignment is None:
        if submission.assignment in grade_ids:
            assignment = submission.assignment  # every nbgrader cell deleted: graded, and it scores zero
        else:
            raise Rejected(f"{path.name}: not a notebook of this course's assignments "
                           f"({', '.join(grade_ids)})")
    elif assignment != submission.assignment:
        notes.append(f"submitted as {submission.assignment}")
    kernel = notebook.metadata.get("kernelspec", {}).get("name")
    if kernel not in (None, "python3"):
        notes.append(f"kernel {kernel!r} replaced by python3")
    return notebook, assignment, notes
