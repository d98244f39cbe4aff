"""Activation statistics of a deep fully connected network (notebook 2): the lecture's
per-layer histogram grid, and a live explorer of initializations and activations.

The explorer must redraw in under 0.3 s on two CPU cores, while the lecture's network is 4096
units wide. Three things make that possible without changing the statistics:

* the standard-normal input and weight matrices are drawn once and cached, so an update
  is only a handful of small matrix products (the scale is applied to the activations);
* the network is narrower (1024 by default), and a fixed ``std`` is rescaled by
  ``sqrt(reference_width / width)``: the pre-activation variance is ``Din * std**2 * E[x**2]``,
  so the narrow network then behaves like the lecture's 4096-wide one. The Xavier and Kaiming
  rules are the student's own functions (exercise 2), given to the explorer; they depend on
  ``Din`` by construction and need no rescaling;
* the figure is built once per depth and only its data change (see ``Explorer``).
"""
import io
import math

import numpy as np
import torch

from utils.plotting import apply_style
from utils.widgets import unsolved

__all__ = ["ACTIVATIONS", "histogram_grid", "Explorer"]

ACTIVATIONS = {
    "tanh": torch.tanh,
    "relu": torch.relu,
    "sigmoid": torch.sigmoid,
    "leaky_relu": lambda z: torch.nn.functional.leaky_relu(z, 0.01),
}


def histogram_grid(axes, activations, *, bins=40, value_range=None, label="layer"):
    """One histogram per layer on ``axes`` (a sequence), mean and std in each panel's title.

    ``activations`` is a sequence of tensors or arrays, one per layer. All panels share one
    value range (by default that of all layers together), so a collapse or a pile-up at the
    ends is visible at a glance. Returns the list of ``(mean, std)`` per layer.
    """
    arrays = [np.asarray(a.detach().cpu() if hasattr(a, "detach") else a, dtype=np.float64).ravel()
              for a in activations]
    if value_range is None:
        low = min(a.min() for a in arrays)
        high = max(a.max() for a in arrays)
        value_range = (low, high) if high > low else (low - 0.5, high + 0.5)
    stats = []
    for index, (ax, values) in enumerate(zip(axes, arrays), start=1):
        counts, edges = np.histogram(values, bins=bins, range=value_range)
        ax.stairs(counts / values.size, edges, fill=True, alpha=0.8)
        mean, std = float(values.mean()), float(values.std())
        ax.set_title(f"{label} {index}\nmean={mean:.2f} std={std:.2f}", fontsize=9)
        ax.set_xlim(*value_range)
        ax.tick_params(labelsize=7)
        stats.append((mean, std))
    return stats


class Explorer:
    """Forward passes of a deep tanh/ReLU/... network under different initializations, fast.

    ``activations``/``stats`` compute; ``draw`` updates a histogram grid in place and ``png``
    renders it; ``show`` wires them to ipywidgets (or draws once, statically, without them).
    One figure per depth is built once and then only its data change: building the axes, their
    ticks and a tight bounding box on every update more than doubled its time (and missed 0.3 s).
    """

    def __init__(self, rules, width=1024, max_depth=10, batch=16, reference_width=4096, seed=1, bins=40,
                 exercise=None):
        """``rules`` maps "xavier" and "kaiming" to functions ``std(din, dout)``: your exercise
        (number ``exercise``, named while a rule is unsolved)."""
        self.rules, self.exercise = dict(rules), exercise
        generator = torch.Generator().manual_seed(seed)
        self.width, self.max_depth, self.reference_width, self.bins = width, max_depth, reference_width, bins
        self.x = torch.randn(batch, width, generator=generator)
        self.bases = [torch.randn(width, width, generator=generator) for _ in range(max_depth)]
        self._figures = {}

    def scale(self, init, std):
        """The weight std of one layer (all layers are width x width)."""
        if init == "std":
            return std * math.sqrt(self.reference_width / self.width)
        if init in self.rules:
            return float(self.rules[init](self.width, self.width))
        raise ValueError(f"unknown init {init!r}; expected one of {('std', *self.rules)}")

    def activations(self, init="xavier", std=0.01, activation="tanh", depth=6):
        """Every layer's activations, shape (batch, width) each; x @ (s Z) computed as s (x @ Z)."""
        if not 1 <= depth <= self.max_depth:
            raise ValueError(f"depth must be between 1 and {self.max_depth}")
        act, s = ACTIVATIONS[activation], self.scale(init, std)
        h, layers = self.x, []
        threads = torch.get_num_threads()
        # One thread: for products this small a second one saves a few ms on an idle machine and,
        # waiting for a core, costs about 80 ms on a busy one (a shared server).
        torch.set_num_threads(1)
        try:
            for basis in self.bases[:depth]:
                h = act(s * (h @ basis))
                layers.append(h)
        finally:
            torch.set_num_threads(threads)
        return layers

    def stats(self, **settings):
        """(mean, std) of every layer's activations."""
        return [(float(h.mean()), float(h.std())) for h in self.activations(**settings)]

    def _figure(self, depth):
        """The cached figure for ``depth`` layers: (figure, axes, one histogram artist per layer)."""
        if depth not in self._figures:
            from matplotlib.figure import Figure

            apply_style()
            columns = depth if depth <= 5 else math.ceil(depth / 2)
            rows = math.ceil(depth / columns)
            height = 1.9 * rows + 0.7
            width = 2.2 * columns + 0.4
            fig = Figure(figsize=(width, height), dpi=90)
            axes = fig.subplots(rows, columns, squeeze=False, sharex=True, sharey=True).flat
            fig.subplots_adjust(left=0.6 / width, right=1 - 0.15 / width, bottom=0.5 / height, top=1 - 0.75 / height,
                                wspace=0.2, hspace=0.55)
            for index, ax in enumerate(axes):
                if index >= depth:
                    ax.set_visible(False)
                elif index + columns >= depth:  # nothing visible below it: it shows the shared x ticks
                    ax.tick_params(labelbottom=True)
            artists = []
            for ax in axes[:depth]:
                artists.append(ax.stairs(np.zeros(self.bins), np.linspace(-1, 1, self.bins + 1), fill=True))
                ax.grid(False)
                ax.tick_params(labelsize=7)
                ax.locator_params(axis="x", nbins=3)
            axes[0].set_ylabel("fraction", fontsize=8)
            fig.supxlabel("activation value", fontsize=8)
            self._figures[depth] = (fig, list(axes[:depth]), artists)
        return self._figures[depth]

    def draw(self, init="xavier", std=0.01, activation="tanh", depth=6):
        """Update the histogram grid for these settings; returns (figure, [(mean, std) per layer])."""
        layers = [h.numpy().ravel() for h in self.activations(init=init, std=std, activation=activation, depth=depth)]
        fig, axes, artists = self._figure(depth)
        low, high = min(a.min() for a in layers), max(a.max() for a in layers)
        if high - low < 1e-6:
            low, high = low - 0.5, high + 0.5
        edges = np.linspace(low, high, self.bins + 1)
        stats, top = [], 0.0
        for index, (ax, artist, values) in enumerate(zip(axes, artists, layers), start=1):
            counts = np.histogram(values, bins=edges)[0] / values.size
            artist.set_data(counts, edges)
            top = max(top, counts.max())
            stats.append((float(values.mean()), float(values.std())))
            # an explicit y skips matplotlib's search for a title position, which measures every tick
            ax.set_title(f"layer {index}: mean {stats[-1][0]:.2f}, std {stats[-1][1]:.2f}", fontsize=8, y=1.0)
        axes[0].set_xlim(low, high)
        axes[0].set_ylim(0, 1.05 * top)
        rule = (f"std {std:.3g} (as at width {self.reference_width})" if init == "std" else
                f"{init}: your rule gives std {self.scale(init, std):.4g} at Din = {self.width}")
        fig.suptitle(f"{activation}, {rule}", fontsize=10)
        return fig, stats

    def png(self, **settings):
        """The PNG bytes of the updated grid, and the per-layer stats."""
        fig, stats = self.draw(**settings)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue(), stats

    @staticmethod
    def table(stats):
        """The per-layer mean and std as a small HTML table."""
        cells = "".join(f"<td>{i}</td>" for i in range(1, len(stats) + 1))
        means = "".join(f"<td>{m:.2f}</td>" for m, _ in stats)
        stds = "".join(f"<td>{s:.2f}</td>" for _, s in stats)
        return (f"<table><tr><th>layer</th>{cells}</tr><tr><th>mean</th>{means}</tr>"
                f"<tr><th>std</th>{stds}</tr></table>")

    def show(self):
        """Menus and sliders that redraw the grid and the table; a static plot without ipywidgets or a kernel."""
        try:
            for rule in self.rules.values():
                rule(self.width, self.width)
        except NotImplementedError as error:
            if unsolved(error, self.exercise) is None:
                raise
            print(f"The explorer uses your {' and '.join(self.rules)} rules. {unsolved(error, self.exercise)}")
            return None
        try:
            import ipywidgets as widgets
            from IPython import get_ipython
            from IPython.display import HTML, Image, display
        except ImportError:
            widgets = None
        if widgets is None or getattr(get_ipython(), "kernel", None) is None:
            print("Interactive explorer: its controls need a running Jupyter kernel with ipywidgets; "
                  "these are the default settings.")
            png, stats = self.png()
            if widgets is not None:
                display(Image(png), HTML(self.table(stats)))
            return None
        controls = {
            "init": widgets.Dropdown(options=("std", *self.rules), value="xavier", description="init"),
            "std": widgets.FloatLogSlider(value=0.01, base=10, min=-3, max=-0.5, step=0.05,
                                          description="std", continuous_update=False, readout_format=".3f"),
            "activation": widgets.Dropdown(options=list(ACTIVATIONS), value="tanh", description="activation"),
            "depth": widgets.IntSlider(value=6, min=1, max=self.max_depth, description="depth",
                                       continuous_update=False),
        }
        image, table = widgets.Image(format="png"), widgets.HTML()

        def update(_change=None):
            image.value, stats = self.png(**{name: c.value for name, c in controls.items()})
            table.value = self.table(stats)

        def std_moved(_change):
            """Moving the std slider means "use a fixed std": switch to it (that redraws), or redraw."""
            if controls["init"].value != "std":
                controls["init"].value = "std"
            else:
                update()

        controls["std"].observe(std_moved, names="value")
        for name in ("init", "activation", "depth"):
            controls[name].observe(update, names="value")
        update()
        names = list(controls.values())
        display(widgets.VBox([widgets.HBox(names[:2]), widgets.HBox(names[2:]), image, table]))
        return None  # returning the view as well would make Jupyter show it twice
