"""What the end of a grade run costs: class report + similarity + LMS files for 300 submissions.

    python tests/benchmarks/bench_report.py [--students 300] [--assignment 01_backprop]

The submissions are synthetic, built from the examples without running a kernel: each student
solves a random subset of the exercises with the reference answer, its local names renamed
(``x`` -> ``x_3``) and, for half of them, a line of their own added, so copydetect sees many
distinct answers, not one. Target: under 60 s on 2 cores.
"""
import argparse
import json
import random
import re
import shutil
import tempfile
import time
from pathlib import Path

import nbformat

from autograder.course import NOTEBOOKS, SOLUTIONS
from autograder.examples import answered, load_pair, test_points
from autograder.grade import Result, TestOutcome
from autograder.outputs import finish_run
from autograder.report import write_csv

NAMES = re.compile(r"\b(x|y|z|w|e|s|h|out|grad|result|value)\b")


def synthetic(out, assignment, students, seed=0):
    """A grading folder for ``students`` synthetic submissions (course notebooks, journal, grades.csv)."""
    rng = random.Random(seed)
    solution, student = load_pair(assignment)
    for kind, folder in (("source", SOLUTIONS), ("release", NOTEBOOKS)):
        shutil.copytree(folder / assignment, out / "course" / kind / assignment)
    points = test_points(solution)
    (out / "journal").mkdir(parents=True)
    results = []
    for k in range(students):
        solved = [t for t in points if rng.random() < 0.7]
        notebook = answered(student, solution, solved)
        for cell in notebook.cells:
            if cell.metadata.get("nbgrader", {}).get("solution") and "NotImplementedError" not in cell.source:
                cell.source = NAMES.sub(lambda m: f"{m.group(1)}_{k % 7}", cell.source)
                if k % 2:
                    cell.source = cell.source.replace(":\n", f":\n    _seen_{k} = {k} * 2 + 1\n", 1)
        path = out / "course" / "autograded" / f"s{k:03d}" / assignment / f"{assignment}.ipynb"
        path.parent.mkdir(parents=True)
        nbformat.write(notebook, path)
        tests = [TestOutcome(t, p if t in solved else 0.0, p, "" if t in solved else
                             "not attempted: the answer still raises NotImplementedError", "" if t in solved else "visible")
                 for t, p in points.items()]
        score = sum(t.score for t in tests)
        result = Result(f"s{k:03d}", assignment, score, sum(points.values()), "graded",
                        "all tests passed" if score == sum(points.values()) else "failed some", tests,
                        f"Student {k}", round(rng.uniform(8, 25), 2))
        (out / "journal" / f"{result.student}__{assignment}.json").write_text(json.dumps({"result": result.to_dict()}))
        results.append(result)
    write_csv(results, out / "grades.csv")
    return results


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--assignment", default="01_backprop")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dlf-bench-report-") as tmp:
        out = Path(tmp)
        started = time.perf_counter()
        synthetic(out, args.assignment, args.students)
        built = time.perf_counter() - started
        started, cpu = time.perf_counter(), time.process_time()
        finish_run(out)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        pairs = sum(1 for _ in open(out / "report" / "similarity.csv")) - 1
        print(f"{args.students} synthetic submissions of {args.assignment} (built in {built:.1f} s)")
        print(f"class report + similarity + LMS files: {seconds:.1f} s wall, {cpu:.1f} s CPU "
              f"({pairs} similar pairs); target < 60 s")


if __name__ == "__main__":
    main()
