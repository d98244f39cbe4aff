"""``python -m autograder``: release, grade and demo.

``grade SUBMISSIONS --out DIR`` grades a folder or an LMS zip in parallel, each notebook in a
sandboxed kernel, and writes ``DIR/grades.csv``, ``DIR/feedback/<student>/<assignment>.html``,
nbgrader's course (``DIR/course``: gradebook, autograded notebooks) and the results journal
(``DIR/journal``) that lets a second run resume where a killed one stopped. Every run is first
calibrated (``autograder.calibrate``): it stops before grading anyone if grading here is broken.
Refusals (no sandbox, a failed calibration, changed solutions) are one message and exit status 2.
"""
import argparse
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from autograder.course import assignments


def cmd_release(args):
    from autograder.release import release
    for folder in release(args.assignments or None):
        print(f"wrote {folder}")
    return 0


def cmd_publish(args):
    from autograder.publish import PublishError, publish
    try:
        written = publish(args.destination, args.repo, args.branch)
    except PublishError as error:
        print(f"publish: {error}", file=sys.stderr)
        return 2
    size = sum((args.destination / path).stat().st_size for path in written)
    print(f"wrote the student edition for {args.repo} ({args.branch}) to {args.destination}: "
          f"{len(written)} files, {size / 1e6:.1f} MB")
    return 0


def _limits(args):
    from autograder.sandbox import Limits
    return Limits(memory_mb=args.memory_mb, cell_timeout=args.cell_timeout,
                  notebook_timeout=args.notebook_timeout, cpu_seconds=args.notebook_timeout)


def _calibrate(grader, out):
    """Calibrate before grading anyone, saying what was checked and what it cost."""
    from autograder.calibrate import BLANK, SOLUTION, calibrate
    started = time.perf_counter()
    checked = calibrate(grader, out)
    for assignment, results in checked.items():
        solution, blank = results[SOLUTION], results[BLANK]
        print(f"calibration of {assignment} passed: the solution scores {solution.score:g}/{solution.max_score:g}, "
              f"the untouched student version {blank.score:g}/{blank.max_score:g}", file=sys.stderr)
    print(f"calibration took {time.perf_counter() - started:.1f} s" if checked else
          f"calibration: unchanged since it last passed ({out / 'calibration.json'})", file=sys.stderr)


def run_grading(submissions, out, assignment_ids, args):
    """Calibrate, then grade ``submissions`` into ``out``; prints progress, the table and a summary."""
    from tqdm import tqdm

    from autograder.executors import make_executor
    from autograder.grade import Grader
    from autograder.report import format_table, summary, write_csv

    started = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    executor = make_executor(args.workers, args.dask_scheduler)
    resumed = []
    try:
        grader = Grader(out / "course", assignment_ids, limits=_limits(args), sandbox=not args.unsafe_no_sandbox,
                        executor=executor, feedback_dir=out / "feedback", journal_dir=out / "journal")
        where = f"Dask at {args.dask_scheduler}" if args.dask_scheduler else f"{executor.workers} local workers"
        print(f"grading {len(submissions)} submissions on {where}, "
              f"{'in the sandbox' if grader.sandbox else 'WITHOUT the sandbox'}", file=sys.stderr)
        _calibrate(grader, out)
        with tqdm(total=len(submissions), unit="nb", file=sys.stderr, disable=args.no_progress) as bar:
            def progress(result, from_journal):
                resumed.extend([result] if from_journal else [])
                bar.set_postfix_str(f"{result.student}: {result.status} {result.score:g}/{result.max_score:g}")
                bar.update(1)
            results = grader.grade_many(submissions, progress, regrade=args.regrade)
    finally:
        executor.close()
    print(format_table(results))
    print(f"\nwrote {write_csv(results, out / 'grades.csv')} and feedback in {out / 'feedback'}")
    print(summary(results, time.perf_counter() - started, len(resumed)))
    from autograder.outputs import finish_run
    finish_run(out, results, getattr(args, "late_policy", None), getattr(args, "submissions", None))
    return results


def cmd_grade(args):
    from autograder.calibrate import CalibrationFailed
    from autograder.course import CourseChanged, grade_ids
    from autograder.ingest import assignments_present, find_submissions, latest_per_assignment
    from autograder.sandbox import SandboxUnavailable, check_sandbox

    source = args.submissions
    if not (source.is_dir() or source.is_file() and zipfile.is_zipfile(source)):
        return _refuse(f"{source} is not a folder or a zip file of submissions")
    try:
        if not args.unsafe_no_sandbox:
            check_sandbox()
        args.out.mkdir(parents=True, exist_ok=True)
        submissions = find_submissions(source, args.out / "incoming")
        if not submissions:
            return _refuse(f"no notebooks found in {source}")
        course = grade_ids()
        wanted = args.assignment or assignments_present(submissions, course) or assignments()
        run_grading(latest_per_assignment(submissions, course), args.out, wanted, args)
    except SandboxUnavailable as why:
        return _refuse(f"the sandbox cannot start: {why}.\n(--unsafe-no-sandbox runs student code with your "
                       f"own privileges: only for notebooks you trust)")
    except CalibrationFailed as why:
        return _refuse(f"calibration failed, so grading here would give wrong grades; no student was graded.\n"
                       f"{why}")
    except (CourseChanged, zipfile.BadZipFile) as why:
        return _refuse(str(why))
    return 0


def _refuse(why):
    print(f"refusing to grade: {why}", file=sys.stderr)
    return 2


def cmd_demo(args):
    from autograder.calibrate import CalibrationFailed
    from autograder.examples import write_demo_submissions
    from autograder.ingest import find_submissions
    from autograder.sandbox import SandboxUnavailable, check_sandbox
    if not args.unsafe_no_sandbox:
        try:
            check_sandbox()
        except SandboxUnavailable as why:  # the examples are the course's own: safe to run without it
            print(f"notice: no sandbox here ({str(why).splitlines()[0]}), so the demo runs its own examples "
                  f"without it; grading students needs it: apt-get install -y bubblewrap", file=sys.stderr)
            args.unsafe_no_sandbox = True
    with tempfile.TemporaryDirectory(prefix="dlf-demo-") as tmp:
        tmp = Path(tmp)
        print(f"Demo course for {args.assignment}: generating the student version, then grading "
              f"six example submissions:")
        for student, what in write_demo_submissions(tmp / "submissions", args.assignment).items():
            print(f"  {student:5s} {what}")
        print()
        try:
            run_grading(find_submissions(tmp / "submissions"), args.out or tmp / "out", [args.assignment], args)
        except CalibrationFailed as why:
            return _refuse(f"calibration failed, so this machine would give wrong grades.\n{why}")
    return 0


def cmd_report(args):
    from autograder.late import PolicyError
    from autograder.outputs import finish_run
    if not (args.out / "grades.csv").exists():
        print(f"{args.out / 'grades.csv'} does not exist: run python -m autograder grade ... --out {args.out} first",
              file=sys.stderr)
        return 2
    wrong = [item for item in args.canvas_column if "=" not in item]
    if wrong:
        print(f"report: --canvas-column wants ASSIGNMENT=HEADER, not {wrong[0]!r}", file=sys.stderr)
        return 2
    columns = dict(item.split("=", 1) for item in args.canvas_column)
    try:
        page = finish_run(args.out, None, args.late_policy, args.submissions, columns, args.roster, args.threshold)
    except (PolicyError, ValueError) as why:
        print(f"report: {why}", file=sys.stderr)
        return 2
    print(page)
    return 0


def cmd_check(args):
    from utils.selfcheck import main
    return main([str(path) for path in args.notebooks])


def _execution_options(parser):
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default: one per core)")
    parser.add_argument("--dask-scheduler", metavar="ADDRESS", default=None,
                        help="run notebooks on a dask.distributed cluster (e.g. tcp://host:8786)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="run student code WITHOUT the bubblewrap sandbox (only for trusted notebooks)")
    parser.add_argument("--cell-timeout", type=int, default=120, help="seconds per cell (default 120)")
    parser.add_argument("--notebook-timeout", type=int, default=600, help="seconds per notebook (default 600)")
    parser.add_argument("--memory-mb", type=int, default=4096, help="memory per kernel (default 4096)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--regrade", action="store_true", help="grade again what an earlier run finished")


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate the student versions in notebooks/ from solutions/")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.set_defaults(run=cmd_release)

    from utils.colab import BRANCH, COURSE_REPO
    p = sub.add_parser("publish", help="write the student edition (no solutions, no hidden tests) to DIR")
    p.add_argument("destination", type=Path, metavar="DIR", help="an empty folder, or an earlier edition")
    p.add_argument("--repo", default=COURSE_REPO, help=f"the edition's public git URL (default {COURSE_REPO})")
    p.add_argument("--branch", default=BRANCH, help=f"its branch (default {BRANCH})")
    p.set_defaults(run=cmd_publish)

    p = sub.add_parser("grade", help="autograde a folder or an LMS zip (Canvas, Moodle) of submissions")
    p.add_argument("submissions", type=Path,
                   help="folder of <student>/<notebook>.ipynb or <student>/<assignment>/<notebook>.ipynb, or a zip")
    p.add_argument("--out", type=Path, required=True,
                   help="folder for grades.csv, feedback/, the gradebook and the journal (reuse it to resume)")
    p.add_argument("--assignment", action="append", choices=assignments(),
                   help="only these assignments (default: those the submissions are)")
    _execution_options(p)
    p.add_argument("--late-policy", type=Path, metavar="TOML", help="due dates, extensions, penalty (see docs/)")
    p.set_defaults(run=cmd_grade)

    p = sub.add_parser("report", help="class report, similarity and LMS files of a grading folder")
    p.add_argument("out", type=Path, metavar="OUT", help="the --out folder of a grade run")
    p.add_argument("--late-policy", type=Path, metavar="TOML", help="apply a late policy (rewrites grades.csv)")
    p.add_argument("--submissions", type=Path, metavar="ZIP", help="the LMS zip, for its upload times")
    p.add_argument("--canvas-column", action="append", default=[], metavar="ASSIGNMENT=HEADER",
                   help='the Canvas column to update, e.g. 01_backprop="Backprop (1234)"')
    p.add_argument("--roster", type=Path, metavar="CSV", help="student,email: key the Moodle files by e-mail")
    p.add_argument("--threshold", type=float, default=None, help="similarity to report (default 0.8)")
    p.set_defaults(run=cmd_report)

    p = sub.add_parser("check", help="a student's self-check: run a notebook as the grader does, visible checks only")
    p.add_argument("notebooks", type=Path, nargs="+", metavar="NOTEBOOK")
    p.set_defaults(run=cmd_check)

    p = sub.add_parser("demo", help="grade bundled example submissions in a temporary course")
    p.add_argument("--assignment", default="01_backprop", choices=assignments())
    p.add_argument("--out", type=Path, default=None, help="keep grades.csv and the feedback here")
    _execution_options(p)
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)
