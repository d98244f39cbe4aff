"""The late policy: due dates, per-student extensions, and a penalty rule, from a small TOML file.

```toml
[due]                       # per assignment, ISO 8601 with its time zone
01_backprop = "2026-03-02T23:59:00+01:00"

[penalty]
percent_per_day = 10        # of the raw score, per day or part of a day late
max_percent = 50            # the cap (100: no cap)
zero_after_days = 7         # optional: later than this scores zero
grace_minutes = 5           # optional

[files]                     # optional, relative to this file
extensions = "extensions.csv"   # student,assignment,days   (extra days for that student)
times = "times.csv"             # student,assignment,submitted   (ISO 8601)
```

Submission times come from ``times.csv`` when it has the row; otherwise from the LMS zip (the
entry's timestamp, which Canvas and Moodle set to the upload time). A file Canvas marked
``LATE`` that has no usable time is never silently forgiven: its penalty is left at zero and the
reason says that a time is needed.
"""
import csv
import math
import tomllib
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from autograder.ingest import CANVAS, RESUBMITTED, _parse_lms_name


class PolicyError(ValueError):
    """The late-policy file cannot be used as written; the message says where."""


@dataclass(frozen=True)
class Penalty:
    days: int        # days (or parts of a day) late, after extensions and grace
    percent: float   # of the raw score
    points: float    # what is taken off
    note: str = ""   # for the reason column


@dataclass
class LatePolicy:
    due: dict                  # assignment -> aware datetime
    percent_per_day: float = 0.0
    max_percent: float = 100.0
    zero_after_days: int | None = None
    grace: timedelta = timedelta()
    extensions: dict = None    # (student, assignment) -> days
    times: dict = None         # (student, assignment) -> aware datetime

    @classmethod
    def load(cls, path):
        path = Path(path)
        try:
            config = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise PolicyError(f"{path}: {error}") from None
        penalty, files = config.get("penalty", {}), config.get("files", {})
        due = {a: _time(v, f"{path} [due] {a}") for a, v in config.get("due", {}).items()}
        if not due:
            raise PolicyError(f"{path}: no [due] dates")
        extensions = {(r["student"], r["assignment"]): float(r["days"])
                      for r in _rows(path.parent / files["extensions"], ("student", "assignment", "days"))} \
            if "extensions" in files else {}
        times = {(r["student"], r["assignment"]): _time(r["submitted"], f"{files['times']}: {r['student']}")
                 for r in _rows(path.parent / files["times"], ("student", "assignment", "submitted"))} \
            if "times" in files else {}
        return cls(due, float(penalty.get("percent_per_day", 0)), float(penalty.get("max_percent", 100)),
                   penalty.get("zero_after_days"), timedelta(minutes=float(penalty.get("grace_minutes", 0))),
                   extensions, times)

    def penalty(self, result, submitted, marked_late=False):
        """The ``Penalty`` for a result submitted at ``submitted`` (None: unknown)."""
        due = self.due.get(result.assignment)
        if due is None:
            return Penalty(0, 0.0, 0.0)
        if submitted is None:
            note = "marked LATE by the LMS but no submission time is known: give it in times.csv" \
                if marked_late else ""
            return Penalty(0, 0.0, 0.0, note)
        extension = (self.extensions or {}).get((result.student, result.assignment), 0.0)
        late = submitted - (due + timedelta(days=extension) + self.grace)
        if late <= timedelta():
            return Penalty(0, 0.0, 0.0)
        days = math.ceil(late / timedelta(days=1))
        if self.zero_after_days is not None and days > self.zero_after_days:
            percent = 100.0
        else:
            percent = min(self.max_percent, self.percent_per_day * days)
        points = round(result.score * percent / 100, 2)
        return Penalty(days, percent, points, f"{days} day(s) late: -{percent:g}%")


def _time(text, where):
    try:
        moment = datetime.fromisoformat(str(text))
    except ValueError:
        raise PolicyError(f"{where}: {text!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise PolicyError(f"{where}: {text!r} has no time zone (add +00:00 or Z)")
    return moment


def _rows(path, columns):
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as error:
        raise PolicyError(f"{path}: {error}") from None
    if rows and not set(columns) <= set(rows[0]):
        raise PolicyError(f"{path}: needs the columns {','.join(columns)}")
    return rows


def zip_times(archive, assignment_of):
    """(student, assignment) -> (upload time or None, marked LATE) from an LMS zip's entries.

    ``assignment_of(student, file stem)`` says which assignment an upload is (ingest's match).
    Zip timestamps carry no zone; Canvas and Moodle write them in UTC.
    """
    found = {}
    with zipfile.ZipFile(archive) as zipped:
        for info in zipped.infolist():
            parts = [p for p in info.filename.replace("\\", "/").split("/") if p]
            if info.is_dir() or not parts or not parts[-1].endswith(".ipynb"):
                continue
            parsed = _parse_lms_name(parts)
            if parsed is None:
                continue
            student, _, _, filename = parsed
            stem = filename[: -len(".ipynb")]
            resubmitted = RESUBMITTED.match(stem)
            assignment = assignment_of(student, resubmitted["stem"] if resubmitted else stem)
            if assignment is None:
                continue
            marked = bool(CANVAS.match(parts[-1])) and "_LATE_" in parts[-1]
            when = datetime(*info.date_time, tzinfo=timezone.utc) if info.date_time[0] > 1980 else None
            previous = found.get((student, assignment))
            if previous is None or (when and (previous[0] is None or when > previous[0])):
                found[(student, assignment)] = (when, marked)
    return found


def penalties(results, policy, lms=None):
    """(student, assignment) -> ``Penalty`` for every result that is not rejected."""
    found = {}
    for r in results:
        if r.status == "rejected":
            continue
        key = (r.student, r.assignment)
        when, marked = (lms or {}).get(key, (None, False))
        found[key] = policy.penalty(r, (policy.times or {}).get(key, when), marked)
    return found
