"""``python -m autograder``: release, grade and demo."""
import argparse
import sys
import tempfile
import time
from pathlib import Path

from autograder.course import assignments


def cmd_release(args):
    from autograder.release import release
    for folder in release(args.assignments or None):
        print(f"wrote {folder}")
    return 0


def _run_grading(submissions, workdir, assignment_ids, out=None):
    from autograder.grade import grade_all
    from autograder.report import format_table, write_csv

    started = time.perf_counter()

    def progress(result):
        print(f"  graded {result.student}/{result.assignment}: {result.status} "
              f"{result.score:g}/{result.max_score:g}", file=sys.stderr, flush=True)

    results = grade_all(submissions, workdir, assignment_ids, progress)
    print(format_table(results))
    if out:
        out.mkdir(parents=True, exist_ok=True)
        print(f"\nwrote {write_csv(results, out / 'grades.csv')}")
    print(f"\n{len(results)} submissions in {time.perf_counter() - started:.1f} s")
    return results


def cmd_grade(args):
    from autograder.ingest import find_submissions
    submissions = find_submissions(args.submissions)
    if not submissions:
        print(f"no notebooks found under {args.submissions}", file=sys.stderr)
        return 2
    wanted = sorted({s.assignment for s in submissions} & set(assignments())) or assignments()
    with tempfile.TemporaryDirectory(prefix="dlf-grade-") as workdir:
        _run_grading(submissions, workdir, wanted, args.out)
    return 0


def cmd_demo(args):
    from autograder.examples import write_demo_submissions
    from autograder.ingest import find_submissions
    with tempfile.TemporaryDirectory(prefix="dlf-demo-") as tmp:
        tmp = Path(tmp)
        print(f"Demo course for {args.assignment}: generating the student version, then grading "
              f"five example submissions:")
        for student, what in write_demo_submissions(tmp / "submissions", args.assignment).items():
            print(f"  {student:5s} {what}")
        print()
        _run_grading(find_submissions(tmp / "submissions"), tmp / "course", [args.assignment], args.out)
    return 0


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("release", help="generate the student versions in notebooks/ from solutions/")
    p.add_argument("assignments", nargs="*", help="assignment ids (default: all)")
    p.set_defaults(run=cmd_release)

    p = sub.add_parser("grade", help="autograde a folder of submissions")
    p.add_argument("submissions", type=Path, help="folder of <student>/<assignment>.ipynb")
    p.add_argument("--out", type=Path, required=True, help="folder for grades.csv")
    p.set_defaults(run=cmd_grade)

    p = sub.add_parser("demo", help="grade bundled example submissions in a temporary course")
    p.add_argument("--assignment", default="01_backprop", choices=assignments())
    p.add_argument("--out", type=Path, default=None, help="also write grades.csv here")
    p.set_defaults(run=cmd_demo)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.run(args)
