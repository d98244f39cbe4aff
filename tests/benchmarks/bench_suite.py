"""Benchmark: the whole test suite's wall time, its test count and its planted wrong answers.

Runs ``python -m pytest`` (the README's test command; extra arguments are passed on, e.g.
``-m "not browser"``) in a fresh process, and prints what a contributor and the issue
"a fast test suite" need: wall seconds, the outcome counts pytest reports, the number of tests
collected, the ten test files that took longest, and the planted wrong answers (the ``MUTANTS`` tables of ``tests/test_NN_*.py`` and
the hostile submissions of ``tests/test_hostile.py``), so a faster suite can be shown to have
lost none of them. It also prints the CPU time the machine spent during the run and a census of
the notebook kernels the run started, with their CPU time (psutil, sampled every 0.2 s): what the
suite costs at least on this many cores, whatever the scheduling. Usage: ``python tests/benchmarks/bench_suite.py [pytest args...]``.
"""
import importlib.util
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil

TESTS = Path(__file__).resolve().parents[1]
REPO = TESTS.parent


def _module(path):
    sys.path.insert(0, str(TESTS))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def planted_wrong_answers():
    """notebook test file -> its number of planted wrong answers, and the hostile submissions."""
    counts = {}
    for path in sorted(TESTS.glob("test_[0-9][0-9]_*.py")):
        counts[path.stem] = sum(len(options) for options in _module(path).MUTANTS.values())
    hostile = _module(TESTS / "test_hostile.py")
    counts["test_hostile (submissions)"] = len(hostile.CASES) + len(hostile.WALL_CASES)
    return counts


def collected(args):
    run = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *args], cwd=REPO,
                         capture_output=True, text=True)
    found = re.search(r"(\d+) tests? collected", run.stdout)
    return int(found.group(1)) if found else None


def busy_cpu_seconds():
    """CPU-seconds all cores have spent neither idle nor waiting for I/O since boot."""
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


class KernelCensus(threading.Thread):
    """Every notebook kernel alive during the run (``ipykernel_launcher`` in its command line,
    sandboxed or not, bubblewrap itself left out) and the CPU time it had used when last seen."""

    def __init__(self):
        super().__init__(daemon=True)
        self.kernels, self.done = {}, threading.Event()

    def run(self):
        while not self.done.wait(0.2):
            for process in psutil.process_iter(["cmdline", "create_time", "cpu_times"]):
                argv, cpu = process.info["cmdline"] or [""], process.info["cpu_times"]
                if cpu is None or "bwrap" in argv[0] or not any("ipykernel_launcher" in a for a in argv):
                    continue  # not a kernel, or it ended meanwhile
                self.kernels[(process.pid, process.info["create_time"])] = cpu.user + cpu.system

    def stop(self):
        self.done.set()
        self.join()


def main(args):
    counts = planted_wrong_answers()
    for name, count in counts.items():
        print(f"{name}: {count} planted wrong answers")
    print(f"planted wrong answers in all: {sum(counts.values())}")
    print(f"tests collected: {collected(args)}")
    census, busy_before = KernelCensus(), busy_cpu_seconds()
    census.start()
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", "--durations=0", *args], cwd=REPO,
                         env=dict(os.environ), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    census.stop()
    summary = run.stdout.strip().splitlines()[-1] if run.stdout.strip() else run.stderr[-400:]
    print(f"python -m pytest {' '.join(args)}: {seconds:.0f} s wall ({seconds / 60:.1f} min), exit {run.returncode}")
    print(f"pytest says: {summary}")
    for line in run.stdout.splitlines():
        if line.startswith(("FAILED", "ERROR")):
            print(line)
    busy, cores, kernel_cpu = busy_cpu_seconds() - busy_before, os.cpu_count(), sum(census.kernels.values())
    print(f"the machine was busy {busy:.0f} CPU-s of {cores * seconds:.0f} ({busy / (cores * seconds):.0%}) on {cores} cores")
    print(f"notebook kernels started: {len(census.kernels)}, using {kernel_cpu:.0f} CPU-s "
          f"({kernel_cpu / busy:.0%} of it): {kernel_cpu / cores:.0f} s of wall time on {cores} cores for them alone")
    print("where the time went (seconds of test set-up, call and teardown, summed over the workers):")
    for name, spent in sorted(time_per_file(run.stdout).items(), key=lambda item: -item[1])[:10]:
        print(f"  {spent:6.0f} s  {name}")
    return run.returncode


def time_per_file(report):
    """test file -> seconds, from pytest's ``--durations`` lines (``12.3s call  tests/x.py::test``)."""
    spent = {}
    for found in re.finditer(r"^([0-9.]+)s (?:setup|call|teardown) +([^:\s]+)::", report, re.MULTILINE):
        spent[found.group(2)] = spent.get(found.group(2), 0.0) + float(found.group(1))
    return spent


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
