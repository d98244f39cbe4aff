"""The coordinator: ingest, sanitize, check the answer policy, dispatch to workers, score.

One ``Result`` per (student, assignment), each with a status:

* ``graded``: nbgrader scored it;
* ``flagged``: scored, but the answer policy refused a cell (its exercise scores 0), a locked
  cell had been deleted or changed and was restored, or the integrity guard found and undid
  tampering (a test during which tampering happened earns nothing); the reason says where;
* ``error``: the kernel died or hit a limit; tests that ran before keep their points, the rest
  earn nothing (the reason says which limit, in the grader's words);
* ``rejected``: the file could not be read as one of the course's notebooks, or its locked
  cells were duplicated or reordered.

Only this process writes the gradebook. It uses nbgrader's own preprocessors: before execution
``ClearOutput``, ``DeduplicateIds``, ``OverwriteKernelspec``, ``OverwriteCells`` (locked and
test cells restored from the source by checksum) and ``CheckCellMetadata``; after it
``SaveAutoGrades``, on a copy whose test cells hold only the grader's verdict. Workers
(``autograder.execute``) only execute.
"""
import copy
import re
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from autograder.calibrate import setup_failure
from autograder.course import Course
from autograder.execute import NOT_RUN, POLICY, run_job
from autograder.ingest import STUDENT_ID, Rejected, read_submission
from autograder.journal import Journal, file_digest
from autograder.sandbox import Limits, check_sandbox
from utils.policy import Policy, check_notebook, exercise_of

# nbgrader's gradebook code trips SQLAlchemy's autoflush warnings on every run; they are noise here.
warnings.filterwarnings("ignore", message=".*not in session.*")
HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


@dataclass
class TestOutcome:
    grade_id: str
    score: float
    max_score: float
    message: str = ""
    failed_in: str = ""  # "visible" or "hidden": which part of the test cell raised (never its code)


@dataclass
class Result:
    student: str
    assignment: str
    score: float
    max_score: float
    status: str
    reason: str = ""
    tests: list = field(default_factory=list)
    name: str = ""
    seconds: float = 0.0

    def to_dict(self):
        return asdict(self)

    @classmethod
    def from_dict(cls, data):
        data = dict(data, tests=[TestOutcome(**t) for t in data.get("tests", [])])
        return cls(**data)


def _first_line(text, limit=300):
    lines = [line for line in str(text).strip().splitlines() if line.strip()]
    return lines[0][:limit] if lines else ""


@dataclass
class AssignmentInfo:
    """What the coordinator knows about an assignment, read once from the course."""
    notebook_id: str
    max_score: float
    grade_ids: set
    test_ids: list
    source_meta: dict          # grade_id -> the source notebook's nbgrader metadata
    files: Path                # the released folder (its non-notebook files go to the sandbox)


class Grader:
    """Grades submissions inside one nbgrader course at ``workdir`` (created or reopened)."""

    def __init__(self, workdir, assignment_ids=None, limits=Limits(), sandbox=True, executor=None,
                 feedback_dir=None, journal_dir=None, answer_policy=True):
        from nbgrader.api import Gradebook

        if sandbox:
            check_sandbox()
        self.limits, self.sandbox, self.executor = limits, sandbox, executor
        self.answer_policy = answer_policy  # False only to test the walls behind it (sandbox, guard)
        self.course = Course(workdir, assignment_ids)
        released = self.course.prepare()
        self.feedback_dir = Path(feedback_dir) if feedback_dir else None
        self.journal = Journal(journal_dir) if journal_dir else None
        self.info, self._sources = {}, {}
        with Gradebook(self.course.gradebook_url) as gradebook:
            for assignment in self.course.assignment_ids:
                source_path = next((self.course.root / "source" / assignment).glob("*.ipynb"))
                source = nbformat.read(source_path, as_version=4)
                metas = {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"] for c in source.cells
                         if c.metadata.get("nbgrader", {}).get("grade_id")}
                self.info[assignment] = AssignmentInfo(
                    source_path.stem, float(gradebook.find_assignment(assignment).max_score), set(metas),
                    [g for g, m in metas.items() if m.get("grade")], metas, released / assignment)

    # -- the three steps -------------------------------------------------------------------
    def prepare(self, submission):
        """A ``Result`` (rejected) or the job for a worker plus what ``finish`` needs."""
        grade_ids = {a: i.grade_ids for a, i in self.info.items()}
        try:
            notebook, assignment, notes = read_submission(submission, grade_ids)
            info = self.info[assignment]
            notebook, missing, refused = self._sanitize(notebook, assignment, submission.student)
        except Rejected as why:
            return self._unfinished(submission, "rejected", str(why))
        except Exception as error:  # nbgrader refused the metadata (CheckCellMetadata ...)
            return self._unfinished(submission, "rejected", f"the notebook's grading metadata is corrupted "
                                                            f"({type(error).__name__})")
        if submission.note:
            notes.insert(0, submission.note)
        notes += [f"restored the locked cell {m} from the course's copy" for m in missing]
        extra = [p for p in info.files.iterdir() if p.suffix != ".ipynb"] if info.files.is_dir() else []
        job = {"key": f"{submission.student}/{assignment}", "notebook": nbformat.writes(notebook),
               "limits": self.limits.to_dict(), "sandbox": self.sandbox,
               "files": str(info.files) if extra else None,
               "skip": {index: str(violations[0]) for index, violations in refused.items()}}
        context = {"student": submission.student, "assignment": assignment, "name": submission.name,
                   "notes": notes, "refused": refused, "restored": missing}
        return job, context

    def _sanitize(self, notebook, assignment, student):
        """The notebook as it will run, the locked cells restored, and the policy's refusals.

        Returns ``(notebook, restored grade ids, {cell index: [Violation]})``.
        """
        from nbgrader.preprocessors import (CheckCellMetadata, ClearOutput, DeduplicateIds, OverwriteCells,
                                            OverwriteKernelspec)
        info = self.info[assignment]
        source = self._source(assignment)
        for cell in notebook.cells:  # a known cell gets its source flags back (checksums cover them)
            grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
            if grade_id in info.source_meta:
                cell.metadata["nbgrader"] = copy.deepcopy(info.source_meta[grade_id])
        restored = require_locked_cells(notebook, source)
        resources = self._resources(assignment, student)
        for preprocessor in (ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells):
            notebook, resources = preprocessor(config=self.course.config).preprocess(notebook, resources)
        for cell in notebook.cells:  # cells nbgrader did not recognise lose their stray nbgrader flags
            if "nbgrader" in cell.metadata and "grade_id" not in cell.metadata["nbgrader"]:
                del cell.metadata["nbgrader"]
        notebook, resources = CheckCellMetadata(config=self.course.config).preprocess(notebook, resources)
        refused = check_notebook(notebook, Policy.from_notebook(source), source=source) if self.answer_policy else {}
        return notebook, restored, refused

    def _source(self, assignment):
        """The source notebook of an assignment (the trusted copy: locked cells, policy)."""
        if assignment not in self._sources:
            path = next((self.course.root / "source" / assignment).glob("*.ipynb"))
            self._sources[assignment] = nbformat.read(path, as_version=4)
        return self._sources[assignment]

    def _resources(self, assignment, student):
        return {"nbgrader": {"notebook": self.info[assignment].notebook_id, "assignment": assignment,
                             "student": student, "db_url": self.course.gradebook_url}}

    def finish(self, context, outcome):
        """Score an executed notebook into the gradebook; write its feedback; return the Result.

        A test earns its points when the client saw its cell finish with no error on the wire,
        no tampering happened during it, and the policy ran its exercise's answer. Nothing the
        kernel displayed becomes a score: nbgrader scores a copy whose graded cells hold only
        that verdict (its partial-credit and stderr rules never see the kernel's outputs).
        """
        from nbgrader.api import Gradebook
        from nbgrader.preprocessors import SaveAutoGrades

        student, assignment = context["student"], context["assignment"]
        info = self.info[assignment]
        notebook = nbformat.reads(outcome["notebook"], as_version=4)
        cells = {int(i): v for i, v in outcome.get("cells", {}).items()}
        refused = context["refused"]
        refused_exercises = {exercise_of(notebook, i) for i in refused}
        verdicts, failed_in = {}, {}
        for index, cell in enumerate(notebook.cells):
            meta = cell.metadata.get("nbgrader", {})
            if not (meta.get("grade") and cell.cell_type == "code"):
                continue
            verdicts[meta["grade_id"]] = verdict = _verdict(
                cell, cells.get(index, {}), meta["grade_id"] in outcome["tampered_tests"],
                meta["grade_id"] + "-answer" in refused_exercises)
            failed_in[meta["grade_id"]] = _failed_in(cell.source, cells.get(index, {})) if verdict else ""
            cell.outputs = [o for o in cell.outputs if o.get("output_type") == "stream" and o.get("name") == "stdout"]
            if verdict:
                cell.outputs.append(nbformat.v4.new_output("error", ename="TestFailed", evalue=verdict, traceback=[]))
        with Gradebook(self.course.gradebook_url) as gradebook:
            gradebook.update_or_create_student(student)
            gradebook.update_or_create_submission(assignment, student)
        SaveAutoGrades(config=self.course.config).preprocess(notebook, self._resources(assignment, student))
        target = self.course.root / "autograded" / student / assignment / f"{info.notebook_id}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(notebook, target)
        with Gradebook(self.course.gradebook_url) as gradebook:
            submitted = gradebook.find_submission_notebook(info.notebook_id, assignment, student)
            tests = [TestOutcome(g.name, float(g.score), float(g.max_score), verdicts.get(g.name, ""),
                                 failed_in.get(g.name, ""))
                     for g in sorted(submitted.grades, key=lambda g: info.test_ids.index(g.name)
                                     if g.name in info.test_ids else 0)]
            score = float(submitted.score)
        failed = [t.grade_id for t in tests if t.score < t.max_score]
        reasons = [f"failed {len(failed)} of {len(tests)}: {', '.join(failed)}" if failed else "all tests passed"]
        status = "graded"
        if outcome["stopped"]:
            status = "error"
            reasons.insert(0, outcome["stopped"])
        elif refused or outcome["repairs"] or context["restored"]:
            status = "flagged"
        if outcome["repairs"]:
            changed = sorted({name for names in outcome["repairs"].values() for name in names})
            reasons.insert(0, f"tampering undone: {', '.join(changed)[:300]}")
        if refused:
            first = [str(v[0]) for v in refused.values()]
            reasons.insert(0, f"the answer policy refused to run {len(refused)} cell(s): {'; '.join(first)[:600]}")
        result = Result(student, assignment, score, info.max_score, status,
                        "; ".join(reasons + context["notes"]), tests, context["name"], round(outcome["seconds"], 2))
        if self.feedback_dir:
            from autograder.feedback import write_feedback
            write_feedback(self.feedback_dir / student / f"{assignment}.html", result,
                           nbformat.reads(outcome["notebook"], as_version=4), self._source(assignment))
        return result

    # -- running many ----------------------------------------------------------------------
    def _isolated(self, step, what, submission):
        """``step()``, or this submission's error row if it raised: one submission never stops a run."""
        try:
            return step()
        except Exception as error:
            return self._unfinished(submission, "error", _failed(what, error))

    def _unfinished(self, submission, status, reason, assignment=None):
        """The row of a submission that was not scored (rejected, or a step of grading failed)."""
        assignment = assignment or submission.assignment
        info = self.info.get(assignment)
        return Result(submission.student, assignment, 0.0, info.max_score if info else 0.0, status, reason,
                      name=submission.name)

    def _settle(self, submission, context, outcome):
        """``finish``, where a set-up cell that raised makes the submission an error, and any
        failure while scoring becomes this submission's error row instead of stopping the run."""
        try:
            if not outcome.get("stopped"):
                outcome["stopped"] = setup_failure(nbformat.reads(outcome["notebook"], as_version=4))
            return self.finish(context, outcome)
        except Exception as error:
            return self._unfinished(submission, "error", _failed("scoring", error), context["assignment"])

    def grade(self, submission):
        """Grade one submission, executing in this process; never raises for its content."""
        prepared = self._isolated(lambda: self.prepare(submission), "reading", submission)
        if isinstance(prepared, Result):
            return prepared
        job, context = prepared
        return self._settle(submission, context, run_job(job))

    def grade_many(self, submissions, progress=None, regrade=False):
        """Grade ``submissions`` on the executor; ``progress(result, resumed)`` after each.

        Journalled results for unchanged files are reused unless ``regrade``. Whatever goes
        wrong with one submission becomes its row; the others are graded all the same. Results
        come back in the order of ``submissions`` (one per student and assignment: see
        ``ingest.latest_per_assignment``).
        """
        results, pending, here = {}, {}, []
        for index, submission in enumerate(submissions):
            digest = self._isolated(lambda: file_digest(submission.path), "reading", submission)
            if isinstance(digest, Result):
                self._record(results, index, submission, None, digest, progress)  # the error row
                continue
            cached = self.journal.get(submission.student, submission.assignment, digest) \
                if self.journal and not regrade else None
            if cached is not None:
                results[index] = Result.from_dict(cached)
                progress and progress(results[index], True)
                continue
            prepared = self._isolated(lambda: self.prepare(submission), "reading", submission)
            if isinstance(prepared, Result):
                self._record(results, index, submission, digest, prepared, progress)
                continue
            job, context = prepared
            if self.executor is None:
                here.append((index, submission, digest, job, context))
                continue
            future = self._isolated(lambda: self.executor.submit(run_job, job), "dispatching", submission)
            if isinstance(future, Result):
                self._record(results, index, submission, digest, future, progress)
                continue
            pending[future] = (index, submission, digest, context)
        for future in self.executor.as_completed(list(pending)) if pending else []:
            index, submission, digest, context = pending[future]
            try:
                outcome = future.result()
            except Exception as error:  # a worker died: its error row, which a rerun retries
                failed = self._unfinished(submission, "error", _failed("executing", error), context["assignment"])
                self._record(results, index, submission, digest, failed, progress)
                continue
            self._record(results, index, submission, digest, self._settle(submission, context, outcome), progress)
        for index, submission, digest, job, context in here:  # no executor: one at a time, in this process
            self._record(results, index, submission, digest, self._settle(submission, context, run_job(job)),
                         progress)
        return [results[i] for i in sorted(results)]

    def _record(self, results, index, submission, digest, result, progress):
        """Keep ``result``; journal it unless grading itself failed (a rerun retries those)."""
        if self.feedback_dir and result.status == "rejected" and STUDENT_ID.fullmatch(result.student):
            from autograder.feedback import write_feedback
            try:
                write_feedback(self.feedback_dir / result.student / f"{result.assignment}.html", result,
                               nbformat.v4.new_notebook())
            except Exception as error:  # the row still says why; only the page is missing
                result.reason += f"; no feedback page: {type(error).__name__}: {str(error)[:200]}"
        if self.journal and not result.reason.startswith(FAILED):
            self.journal.put(submission.student, submission.assignment, digest, result.to_dict())
        results[index] = result
        if progress:
            progress(result, False)


FAILED = "grading failed while"  # how the reason of a failure of grading itself starts: never journalled


def _failed(step, error):
    return f"{FAILED} {step} it: {type(error).__name__}: {str(error)[:300]}"


def require_locked_cells(notebook, source):
    """Every locked cell of ``source`` present once and in order; the deleted ones put back.

    A locked cell's content is restored by nbgrader from the source; a deleted one is inserted
    again after the locked cell before it. Two copies of a locked cell, or locked cells in
    another order, cannot be repaired without guessing: the submission is rejected. Returns
    the grade ids that were deleted or changed (test cells are released without their hidden
    part, and the published edition points its set-up cell at its own repository, so only the
    deletion of those counts).
    """
    def grade_id(cell):
        return cell.metadata.get("nbgrader", {}).get("grade_id")

    order = [grade_id(c) for c in source.cells if c.metadata.get("nbgrader", {}).get("locked")]
    wanted = set(order)
    present = [grade_id(c) for c in notebook.cells if grade_id(c) in wanted]
    for name in sorted(set(present)):
        if present.count(name) > 1:
            raise Rejected(f"the locked cell {name} appears {present.count(name)} times; start again from "
                           f"the released notebook and copy your answers into it")
    if present != [name for name in order if name in present]:
        raise Rejected("the locked cells are not in the released order; start again from the released "
                       "notebook and copy your answers into it")
    restored, position = [], 0
    originals = {grade_id(c): c for c in source.cells}
    for name in [grade_id(c) for c in source.cells if grade_id(c)]:  # answers too: they fix the places
        found = next((i for i, c in enumerate(notebook.cells) if grade_id(c) == name), None)
        original = originals[name]
        if name not in wanted:
            position = position if found is None else found + 1
            continue
        if found is not None and not original.metadata["nbgrader"].get("grade") and not name.endswith("-setup") \
                and notebook.cells[found].source != original.source:
            restored.append(name)  # changed: nbgrader's OverwriteCells puts the source's content back
        if found is None:
            cell = copy.deepcopy(original)
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            notebook.cells.insert(position, cell)
            restored.append(name)
            found = position
        position = found + 1
    return restored


def _failed_in(source, seen):
    """ "hidden" when a test cell's error came from a line of its hidden block, "visible" from
    another line, "" when no line is known (not run, policy, tampering)."""
    line = (seen.get("error") or {}).get("line")
    if not line:
        return ""
    for block in HIDDEN.finditer(source):
        first = source.count("\n", 0, block.start()) + 1
        if first <= line <= source.count("\n", 0, block.end()) + 1:
            return "hidden"
    return "visible"


def _verdict(cell, seen, tampered, refused):
    """Why a test cell failed, from what the client saw ("" when it passed)."""
    error = seen.get("error")
    not_run = next((o for o in cell.get("outputs", []) if o.get("output_type") == "error"
                    and o.get("ename") in (NOT_RUN, POLICY)), None)
    if refused:
        return "not run: the answer policy refused this exercise's answer (the reason says where)"
    if not_run is not None:
        return f"not run: {not_run.get('evalue', '')}"
    if tampered:
        return "the submission tampered with the checks during this test"
    if error:
        if error["from_checks"]:
            return error["message"]
        if error["ename"] == "NotImplementedError":
            return "not attempted: the answer still raises NotImplementedError"
        return (f"your code raised {error['ename']} during this test "
                f"(run the notebook and its visible checks to see the message)")
    if not seen.get("completed"):
        return "not run: the cell did not finish"
    return ""


def grade_all(submissions, workdir, assignment_ids=None, progress=None, **options):
    """Grade ``submissions`` in a course at ``workdir`` (see ``Grader`` for ``options``)."""
    grader = Grader(workdir, assignment_ids, **options)
    return grader.grade_many(submissions, progress)
