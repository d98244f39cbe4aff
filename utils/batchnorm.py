"""Helpers for notebook 5 (BatchNorm) that its cells and its benchmark share.

* ``shapes_dataset``: a tiny synthetic image set (bars and blocks), so the notebook can train a
  real BatchNorm classifier in a second without downloading anything.
* ``running_stats_trace`` / ``draw_running_stats``: the running-statistics widget. The traces
  come from ``torch.nn.BatchNorm1d`` itself, so the widget shows the reference behaviour the
  students' layer must match, without giving their exercise away.
* ``small_cnn``: the notebook's two-block BatchNorm CNN for these images, which the benchmark times
  against its fused version.
* ``median_time``: one timing rule (warm up, then the median of several runs) for the notebook's
  speed comparisons and the benchmark script, so both report comparable figures.
"""
import time

import numpy as np
import torch

__all__ = ["CLASSES", "shapes_dataset", "small_cnn", "running_stats_trace", "running_stats_figure", "draw_running_stats",
           "median_time"]

CLASSES = ("horizontal bar", "vertical bar", "block")


def shapes_dataset(n_per_class, size=10, noise=0.3, seed=0):
    """``n_per_class`` noisy images of each class in ``CLASSES``, shuffled.

    Returns ``(x, y)``: float32 images of shape ``(3 * n_per_class, 1, size, size)`` and int64
    labels. Each image has a random position, brightness and background level, so the classes
    differ in *shape* only: a model has to look at the spatial pattern.
    """
    rng = np.random.default_rng(seed)
    images, labels = [], []
    for label in range(len(CLASSES)):
        for _ in range(n_per_class):
            image = np.zeros((size, size))
            if label == 0:                                   # a horizontal bar, 2 px thick
                row = rng.integers(0, size - 1)
                image[row:row + 2, 1:size - 1] = 1.0
            elif label == 1:                                 # a vertical bar, 2 px thick
                col = rng.integers(0, size - 1)
                image[1:size - 1, col:col + 2] = 1.0
            else:                                            # a 4 x 4 block
                row, col = rng.integers(0, size - 3, size=2)
                image[row:row + 4, col:col + 4] = 1.0
            image = image * rng.uniform(0.7, 1.3) + rng.uniform(-0.3, 0.3)
            images.append(image + noise * rng.normal(size=image.shape))
            labels.append(label)
    order = rng.permutation(len(labels))
    x = torch.tensor(np.array(images)[order, None], dtype=torch.float32)
    y = torch.tensor(np.array(labels)[order], dtype=torch.int64)
    return x, y


def small_cnn():
    """conv-BN-ReLU-pool, conv-BN-ReLU, global average pool, linear: 1 x 10 x 10 images -> 3 class scores."""
    nn = torch.nn
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, len(CLASSES)))


def running_stats_trace(momentum, batch_size, steps, mean=2.0, std=3.0, seed=0):
    """Running mean and variance of ``torch.nn.BatchNorm1d`` fed ``steps`` batches of N(mean, std²).

    ``momentum`` is PyTorch's (the weight of the *new* batch). Returns a dict of float64 arrays of
    length ``steps + 1`` (the initial buffers first): ``running_mean``, ``running_var``, and the
    per-batch ``batch_mean``/``batch_var`` (unbiased, as PyTorch stores it; nan at step 0).
    """
    generator = torch.Generator().manual_seed(seed)
    bn = torch.nn.BatchNorm1d(1, momentum=momentum, dtype=torch.float64)
    trace = {key: [np.nan] for key in ("batch_mean", "batch_var")}
    trace["running_mean"] = [bn.running_mean.item()]
    trace["running_var"] = [bn.running_var.item()]
    for _ in range(steps):
        batch = mean + std * torch.randn(batch_size, 1, generator=generator, dtype=torch.float64)
        bn(batch)
        trace["batch_mean"].append(batch.mean().item())
        trace["batch_var"].append(batch.var().item())
        trace["running_mean"].append(bn.running_mean.item())
        trace["running_var"].append(bn.running_var.item())
    return {key: np.array(values) for key, values in trace.items()}


def running_stats_figure(momentum=0.1, batch_size=16, steps=200, mean=2.0, std=3.0):
    """Two panels, running mean and running variance against the step, with the data's true values.

    Returns the figure (not pyplot's: the widget shows it as a PNG). One figure per (steps, mean,
    std) is built once and then only its data, limits and title change: building the axes, their
    legends and a layout on every slider move took about 0.6 s, twice the widget's target.
    """
    batch_size, steps = int(batch_size), int(steps)
    trace = running_stats_trace(momentum, batch_size, steps, mean, std)
    figure, axes, lines = _running_stats_axes(steps, mean, std)
    for ax, key in zip(axes, ("mean", "var")):
        lines[f"batch_{key}"].set_ydata(trace[f"batch_{key}"])
        lines[f"running_{key}"].set_ydata(trace[f"running_{key}"])
        ax.relim()
        ax.autoscale_view()
    # After k steps the initial buffer still carries weight (1 - momentum)^k.
    half_life = np.log(0.5) / np.log1p(-momentum) if 0 < momentum < 1 else float("nan")
    lines["title"].set_text(f"momentum {momentum:g} (lecture's 0.99/0.01 rule is momentum 0.01), "
                             f"batch {batch_size}: half-life {half_life:.0f} steps")
    return figure


_RUNNING_STATS_AXES = {}  # (steps, mean, std) -> (figure, axes, {name: artist}), see running_stats_figure


def _running_stats_axes(steps, mean, std):
    if (steps, mean, std) not in _RUNNING_STATS_AXES:
        from matplotlib.figure import Figure

        from utils.plotting import BACKWARD, FORWARD, apply_style, label_axes

        apply_style()
        figure = Figure(figsize=(8.4, 3.4))
        axes = figure.subplots(1, 2)
        figure.subplots_adjust(left=0.08, right=0.98, bottom=0.27, top=0.88, wspace=0.25)
        lines, nothing = {}, np.full(steps + 1, np.nan)
        for ax, key, true, name in ((axes[0], "mean", mean, "mean"), (axes[1], "var", std ** 2, "variance")):
            lines[f"batch_{key}"], = ax.plot(nothing, ".", color="0.6", markersize=3, label="one batch's statistic")
            lines[f"running_{key}"], = ax.plot(nothing, color=FORWARD, label="running estimate")
            ax.axhline(true, color=BACKWARD, linestyle="--", label="the data's true value")
            label_axes(ax, "training step", f"{name} (true {true:g})")
        # One legend below both panels: inside them, the search for a free spot cost as much as the
        # plot, and a small batch's scatter leaves none.
        figure.legend(*axes[0].get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8)
        lines["title"] = figure.suptitle("", fontsize=10)
        _RUNNING_STATS_AXES[steps, mean, std] = figure, axes, lines
    return _RUNNING_STATS_AXES[steps, mean, std]


def draw_running_stats(momentum=0.1, batch_size=16, steps=200, mean=2.0, std=3.0):
    """Show ``running_stats_figure`` as a PNG: the notebook's running-statistics widget calls this."""
    import io

    from IPython.display import Image, display

    buffer = io.BytesIO()
    running_stats_figure(momentum, batch_size, steps, mean, std).savefig(buffer, format="png")
    display(Image(buffer.getvalue()))


def median_time(function, repeats=20, warmup=2):
    """Median wall-clock seconds of ``function()`` over ``repeats`` calls, after ``warmup`` calls.

    The median, not the mean: on a shared machine a few runs are slowed down by other work.
    """
    for _ in range(warmup):
        function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return float(np.median(times))
