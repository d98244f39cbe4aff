"""The results journal that makes ``grade`` resumable: one JSON file per finished submission.

Each file is written to a temporary name (``.tmp-*.part``: no listing of ``*.json`` sees it),
flushed to disk and renamed over its final name (``os.replace`` is atomic on POSIX), so a run
killed at any moment, even with ``kill -9``, leaves every entry either complete or absent: a
resumed run regrades only what is absent. An entry remembers the SHA-256 of the file it graded,
so a new upload is graded again.
"""
import hashlib
import json
import os
import tempfile
from pathlib import Path


def file_digest(path):
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class Journal:
    """``folder/<student>__<assignment>.json`` entries: {"digest": ..., "result": {...}}."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _path(self, student, assignment):
        return self.folder / f"{student}__{assignment}.json"

    def get(self, student, assignment, digest):
        """The journalled result for this exact file, or None."""
        try:
            entry = json.loads(self._path(student, assignment).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return entry["result"] if entry.get("digest") == digest else None

    def put(self, student, assignment, digest, result):
        path = self._path(student, assignment)
        handle, temporary = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".part")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump({"digest": digest, "result": result}, out, indent=1)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
