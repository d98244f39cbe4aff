"""One plotting style for the whole course, and the colours that carry meaning in it."""
import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = ["FORWARD", "BACKWARD", "apply_style", "label_axes", "subplots"]

FORWARD = "#2a7d2e"   # forward values are green, as in the lecture's circuit diagrams
BACKWARD = "#c0392b"  # gradients are red

STYLE = {
    "figure.figsize": (6.4, 4.0),
    "figure.dpi": 100,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.frameon": False,
    "image.cmap": "viridis",
}


def apply_style():
    """Apply the course's matplotlib defaults (idempotent)."""
    mpl.rcParams.update(STYLE)


def label_axes(ax, xlabel, ylabel, title=None):
    """Every plot in the course has labelled axes; this makes it one line."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title)
    return ax


def subplots(nrows=1, ncols=1, *, width=3.2, height=2.6, **kwargs):
    """``plt.subplots`` with the course style and a size that grows with the grid."""
    apply_style()
    kwargs.setdefault("constrained_layout", True)
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), **kwargs)
