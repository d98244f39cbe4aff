"""utils/batchnorm.py: the synthetic images, the running-statistics trace behind the widget,
the notebook's small CNN and the median timer."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from utils.batchnorm import (CLASSES, draw_running_stats, median_time, running_stats_figure,  # noqa: E402
                             running_stats_trace, shapes_dataset, small_cnn)


def test_shapes_dataset_is_balanced_shuffled_and_seeded():
    x, y = shapes_dataset(20, size=8, seed=3)
    assert x.shape == (60, 1, 8, 8) and x.dtype == torch.float32
    assert y.dtype == torch.int64 and torch.bincount(y).tolist() == [20] * len(CLASSES)
    assert len(set(y[:20].tolist())) > 1                   # shuffled, not stored class by class
    again_x, again_y = shapes_dataset(20, size=8, seed=3)
    assert torch.equal(x, again_x) and torch.equal(y, again_y)
    assert not torch.equal(x, shapes_dataset(20, size=8, seed=4)[0])


def test_shapes_classes_differ_in_shape_not_in_brightness():
    x, y = shapes_dataset(200, noise=0.0, seed=0)
    rows = x[:, 0].std(dim=2).mean(dim=1)   # bars along rows: rows differ little within, a lot across
    cols = x[:, 0].std(dim=1).mean(dim=1)
    assert rows[y == 0].mean() < cols[y == 0].mean()      # horizontal bars
    assert cols[y == 1].mean() < rows[y == 1].mean()      # vertical bars
    means = [x[y == c].mean().item() for c in range(3)]
    assert max(means) - min(means) < 0.15                 # no class is simply brighter


def test_small_cnn_maps_images_to_class_scores():
    model = small_cnn()
    assert model(torch.randn(5, 1, 10, 10)).shape == (5, len(CLASSES))
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in model) == 2


def test_running_stats_trace_is_the_exponential_moving_average():
    trace = running_stats_trace(momentum=0.2, batch_size=8, steps=30, mean=2.0, std=3.0, seed=1)
    assert all(len(values) == 31 for values in trace.values())
    assert (trace["running_mean"][0], trace["running_var"][0]) == (0.0, 1.0)
    for k in range(1, 31):
        for key in ("mean", "var"):
            expected = 0.8 * trace[f"running_{key}"][k - 1] + 0.2 * trace[f"batch_{key}"][k]
            assert np.isclose(trace[f"running_{key}"][k], expected, rtol=1e-12)


def test_running_stats_converge_to_the_data_statistics():
    trace = running_stats_trace(momentum=0.1, batch_size=256, steps=200, mean=2.0, std=3.0)
    assert abs(trace["running_mean"][-1] - 2.0) < 0.2
    assert abs(trace["running_var"][-1] - 9.0) < 1.0


def test_running_stats_figure_labels_both_panels_and_shows_the_trace():
    figure = running_stats_figure(momentum=0.05, batch_size=4.0, steps=20)   # sliders pass floats
    axes = figure.axes
    assert len(axes) == 2 and all(ax.get_xlabel() and ax.get_ylabel() for ax in axes)
    trace = running_stats_trace(0.05, 4, 20)
    assert np.array_equal(axes[1].lines[1].get_ydata(), trace["running_var"])
    assert figure.get_suptitle().startswith("momentum 0.05") and "batch 4:" in figure.get_suptitle()


def test_moving_a_slider_updates_the_same_figure_and_its_limits():
    first = running_stats_figure(momentum=0.5, batch_size=2, steps=20)
    low = first.axes[1].get_ylim()
    second = running_stats_figure(momentum=0.5, batch_size=128, steps=20)
    assert second is first and second.axes[1].get_ylim() != low
    assert "batch 128" in second.get_suptitle()


def test_draw_running_stats_displays_one_png(monkeypatch):
    import IPython.display
    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda *objects: shown.extend(objects))
    draw_running_stats(momentum=0.05, batch_size=4.0, steps=20)
    [image] = shown
    assert image.data.startswith(b"\x89PNG") and plt.get_fignums() == []


def test_median_time_calls_warmup_plus_repeats():
    calls = []
    seconds = median_time(lambda: calls.append(1), repeats=5, warmup=2)
    assert len(calls) == 7 and 0.0 <= seconds < 0.1
