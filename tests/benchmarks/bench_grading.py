"""Benchmark: this grader (2 workers, sandboxed) against plain ``nbgrader autograde``, one run.

The same N submissions of 01_backprop (default 24: a mix of full, partial and untouched) are
graded three ways, one after the other:

1. ``nbgrader autograde`` (its command line, one notebook at a time, no sandbox);
2. this grader with 2 local workers and the bubblewrap sandbox, calibration included (the
   solution and the student version graded first, as every ``grade`` run does);
3. this grader with 2 local workers WITHOUT the sandbox (to isolate the sandbox's own cost).

It prints the wall-clock times, the speed-up 1 / 2, what calibration costs per run (when it
runs, and when an earlier run's result is reused), and the sandbox's overhead per notebook:
the mean per-notebook execution time of 2 minus that of 3, and, separately, the bare cost of
starting a process in the sandbox (bwrap + interpreter) against starting it directly. It also
checks that all three agree on every score. Usage: ``python tests/benchmarks/bench_grading.py [N]``.
"""
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.calibrate import calibrate
from autograder.course import Course
from autograder.examples import answered, load_pair, test_points
from autograder.executors import LocalExecutor
from autograder.grade import Grader
from autograder.ingest import find_submissions
from autograder.sandbox import Limits, bwrap_argv

A = "01_backprop"


def make_class(folder, n):
    solution, student = load_pair(A)
    tests = sorted(test_points(solution))
    variants = [answered(student, solution), student, answered(student, solution, tests[::2]),
                answered(student, solution, tests[1::2])]
    for k in range(n):
        path = folder / f"s{k:02d}" / f"{A}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(variants[k % len(variants)], path)


def plain_nbgrader(folder, root):
    """nbgrader's own command line on an nbgrader course: returns ({student: score}, seconds)."""
    course = Course(root, [A])
    course.generate()
    for student_dir in folder.iterdir():
        target = root / "submitted" / student_dir.name / A / f"{A}.ipynb"
        target.parent.mkdir(parents=True)
        target.write_bytes((student_dir / f"{A}.ipynb").read_bytes())
    started = time.perf_counter()
    subprocess.run(["nbgrader", "autograde", A, f"--CourseDirectory.root={root}",
                    "--CourseDirectory.course_id=deep-learning-foundations", "--Execute.timeout=120",
                    "--log-level=ERROR"], check=True, cwd=root)
    seconds = time.perf_counter() - started
    from nbgrader.api import Gradebook
    with Gradebook(course.gradebook_url) as gradebook:
        scores = {s.student.id: float(s.score) for s in gradebook.assignment_submissions(A)}
    return scores, seconds


def this_grader(folder, root, sandbox):
    """({student: score}, seconds in all, [seconds per notebook], (calibration s, cached calibration s))."""
    executor = LocalExecutor(2)
    try:
        grader = Grader(root / "course", [A], limits=Limits(), sandbox=sandbox, executor=executor)
        started = time.perf_counter()  # like nbgrader's, from a generated course
        calibrate(grader, root)
        calibration = time.perf_counter() - started
        results = grader.grade_many(find_submissions(folder))
        seconds = time.perf_counter() - started
        reused = time.perf_counter()
        calibrate(grader, root)  # a rerun, or the next class of the same assignment: remembered
        cached = time.perf_counter() - reused
    finally:
        executor.close()
    return {r.student: r.score for r in results}, seconds, [r.seconds for r in results], (calibration, cached)


def bare_start_cost(tmp, repeats=10):
    """Median seconds to run ``python -c pass`` in the sandbox minus directly."""
    def median_run(argv):
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(argv, check=True)
            times.append(time.perf_counter() - started)
        return statistics.median(times)
    direct = median_run([sys.executable, "-S", "-c", "pass"])
    boxed = median_run(bwrap_argv(Limits(), tmp) + [sys.executable, "-S", "-c", "pass"])
    return boxed - direct


def main(n=24):
    with tempfile.TemporaryDirectory(prefix="dlf-bench-") as tmp:
        tmp = Path(tmp)
        make_class(tmp / "class", n)
        print(f"{n} submissions of {A}; timings are wall-clock on this machine (noisy if it is shared)")
        reference, t_nbgrader = plain_nbgrader(tmp / "class", tmp / "nbgrader")
        print(f"  nbgrader autograde (sequential, no sandbox): {t_nbgrader:7.1f} s")
        boxed, t_boxed, per_boxed, (calibration, cached) = this_grader(tmp / "class", tmp / "boxed", sandbox=True)
        print(f"  this grader, 2 workers, sandbox, calibrated: {t_boxed:7.1f} s")
        plain, t_plain, per_plain, _ = this_grader(tmp / "class", tmp / "plain", sandbox=False)
        print(f"  this grader, 2 workers, no sandbox:          {t_plain:7.1f} s")
        start = bare_start_cost(tmp)
        print(f"speed-up over nbgrader autograde: {t_nbgrader / t_boxed:.2f}x (calibration included)")
        print(f"calibration per run: {calibration:.1f} s when it runs (once per assignment and environment), "
              f"{cached:.2f} s when an earlier run's is reused")
        print(f"sandbox overhead per notebook: {statistics.mean(per_boxed) - statistics.mean(per_plain):+.2f} s "
              f"(mean execution {statistics.mean(per_boxed):.2f} s sandboxed vs {statistics.mean(per_plain):.2f} s "
              f"not); bare process start in bwrap: {1000 * start:+.0f} ms")
        agree = reference == boxed == plain
        print(f"scores agree across the three runs: {agree}")
        if not agree:
            print({s: (reference.get(s), boxed.get(s), plain.get(s)) for s in sorted(boxed)})
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 24))
