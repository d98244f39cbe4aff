"""What the answer policy costs: milliseconds to check each solution notebook (median of 20 runs).

    python tests/benchmarks/bench_policy.py

The first check in a process also imports IPython's input transformer (about 0.2 s, once).
"""
import statistics
import time

import nbformat

from autograder.course import SOLUTIONS, assignments
from utils.policy import check_notebook


def main(repeats=20):
    check_notebook(nbformat.read(next((SOLUTIONS / assignments()[0]).glob("*.ipynb")), as_version=4))  # warm-up
    for assignment in assignments():
        notebook = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            check_notebook(notebook)
            times.append(time.perf_counter() - started)
        cells = sum(c.cell_type == "code" for c in notebook.cells)
        print(f"{assignment:22s} {cells:3d} code cells  {1000 * statistics.median(times):6.1f} ms")


if __name__ == "__main__":
    main()
