"""How long one update of notebook 04's explorer takes: recompute the trajectories with
torch.optim, redraw, and encode the PNG that the widget shows (target: < 0.3 s on 2 cores).

    python tests/benchmarks/bench_04_widget.py [--repeats N]

Each update changes one control to a value not seen before, as a slider move does, so the
explorer's trajectory cache helps only the optimizers that the control does not affect; surface
changes (which redraw the contours) and the default six optimizers x 100 steps are included. Prints the median and the
slowest update (wall clock) and their ratio to the target, and the median CPU time of this process
per update, which a busy shared machine inflates less than the wall clock.
"""
import argparse
import os
import statistics
import time

import matplotlib

matplotlib.use("Agg")

import torch  # noqa: E402

from utils.optim import OPTIMIZERS, Explorer  # noqa: E402

TARGET_SECONDS = 0.3



def moves(repeat):
    """One control changed per update, cycling through all of them; values shift with ``repeat``
    so that no update is answered from the cache alone."""
    shift = 0.001 * repeat
    return [
        {"lr": 0.05 + shift}, {"lr": 0.2 + shift}, {"beta1": 0.5 + shift}, {"beta1": 0.95 - shift},
        {"beta2": 0.99 + shift}, {"steps": 200 + 10 * repeat}, {"steps": 100 + 10 * repeat},
        {"surface": "rosenbrock", "lr": 0.01 + shift}, {"optimizers": ("SGD", "Adam")},
        {"optimizers": OPTIMIZERS}, {"surface": "saddle"}, {"surface": "two minima"}, {"surface": "noisy"},
        {"surface": "ill-conditioned", "lr": 0.1 + shift},
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="passes over the list of moves")
    args = parser.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))

    explorer = Explorer()
    settings = {"surface": "ill-conditioned", "optimizers": OPTIMIZERS, "lr": 0.1, "beta1": 0.9,
                "beta2": 0.999, "steps": 100}
    explorer.render(**settings)  # warm-up: imports, font cache

    times, cpu_times = [], []
    for repeat in range(args.repeats):
        for move in moves(repeat):
            settings.update(move)
            started, cpu_started = time.perf_counter(), time.process_time()
            explorer.render(**settings)
            times.append(time.perf_counter() - started)
            cpu_times.append(time.process_time() - cpu_started)
    median, worst = statistics.median(times), max(times)
    print(f"explorer updates: {len(times)} (CPU cores available: {os.cpu_count()}, torch threads: "
          f"{torch.get_num_threads()})")
    print(f"median {median:.3f} s per update ({median / TARGET_SECONDS:.2f} x the {TARGET_SECONDS} s target)")
    print(f"slowest {worst:.3f} s ({worst / TARGET_SECONDS:.2f} x the target)")
    cpu = statistics.median(cpu_times)
    print(f"median CPU time {cpu:.3f} s per update ({cpu / TARGET_SECONDS:.2f} x the target)")


if __name__ == "__main__":
    main()
