"""The instructor's tool: release student versions, autograde submissions, report grades.

Built on nbgrader's own pieces (course directory, gradebook, checksums, preprocessors); one
module per step of the flow:

* ``course``: a private nbgrader course built from ``solutions/``; ``release``: student versions;
* ``ingest``: folders and LMS zips (Canvas, Moodle) into submissions, read defensively, one per
  student and assignment;
* ``calibrate``: before anyone is graded, the solution must score full marks and the student
  version zero, graded the way students are;
* ``grade``: the coordinator (sanitize with nbgrader, dispatch, score into the gradebook);
* ``executors``: where notebooks run (local process pool, or Dask);
* ``execute``: a worker runs one notebook; ``sandbox``: the bubblewrap sandbox its kernel runs in;
  ``guard``: the in-kernel integrity guard;
* ``journal``: atomic per-submission results, for resuming; ``feedback``: HTML without hidden
  tests; ``report``: grades.csv, the table, the summary;
* ``examples``: the demo's submissions; ``cli``: ``python -m autograder``.
"""
import sys

# jsonschema, which nbformat imports, compiles some 35 Earley parsers for RFC 3987 (IRIs) at import
# time when the optional rfc3987-syntax is installed (jupyter-events pulls it in): 1.3 s of CPU in
# every grader process and pool worker, measured here. They check the "iri" formats of JSON
# schemas, which no schema of nbformat's or nbgrader's uses (nbformat checks no formats at all).
# Marked as missing, jsonschema leaves those two formats unchecked, as it does without the package.
sys.modules.setdefault("rfc3987_syntax", None)
