"""How long one update of notebook 2's initialization explorer takes (target: under 0.3 s on 2 cores).

An update is what the widget does when a control changes: ``Explorer.png``, i.e. the forward
pass through the cached network, the histograms put into the cached figure, and the PNG that the
widget's image shows (plus the small HTML table, which costs nothing). Each measured update
changes the settings; a change of depth switches to another cached figure, as in the notebook.

Run: ``python tests/benchmarks/bench_02_widget.py`` (on a quiet machine; pin it to two cores with
``taskset -c 0,1`` where there are more). Prints the median, quartiles and the ratio to the target.
"""
import itertools
import statistics
import time

import matplotlib

matplotlib.use("Agg")
import torch  # noqa: E402

from utils.init import ACTIVATIONS, Explorer  # noqa: E402

RULES = {"xavier": lambda din, dout: din ** -0.5, "kaiming": lambda din, dout: (2 / din) ** 0.5}  # exercise 2
INITS = ("std", *RULES)

TARGET_SECONDS = 0.3


def update(explorer, settings):
    """One widget update, timed: compute, redraw, encode the PNG and the table."""
    started = time.perf_counter()
    _, stats = explorer.png(**settings)
    explorer.table(stats)
    return time.perf_counter() - started


def main(repeats=3):
    torch.set_num_threads(2)
    started = time.perf_counter()
    explorer = Explorer(RULES, width=1024, max_depth=10)
    print(f"explorer set-up (random matrices drawn once): {time.perf_counter() - started:.2f} s")
    first = [update(explorer, {"depth": depth}) for depth in (6, 10)]  # builds the two figures, once
    print(f"first update at a new depth (builds its figure): {max(first):.3f} s at most")
    settings = [dict(init=init, std=0.02, activation=act, depth=depth)
                for init, act, depth in itertools.product(INITS, ACTIVATIONS, (6, 10))]
    times = {}
    for s in settings * repeats:
        times.setdefault(s["depth"], []).append(update(explorer, s))
    every = [t for ts in times.values() for t in ts]
    for depth, ts in sorted(times.items()):
        print(f"depth {depth:2d}: median {statistics.median(ts):.3f} s over {len(ts)} updates")
    q1, median, q3 = statistics.quantiles(every, n=4)
    print(f"all {len(every)} updates: median {median:.3f} s (quartiles {q1:.3f}-{q3:.3f} s), "
          f"{median / TARGET_SECONDS:.2f} x the {TARGET_SECONDS} s target, on {torch.get_num_threads()} torch threads")
    return median


if __name__ == "__main__":
    main()
