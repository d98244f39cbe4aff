"""Tools for notebook 3 (convolution arithmetic): a photo and the conv-arithmetic explorer.

Nothing here computes an exercise's answer. The explorer draws what *your* ``conv_output_size``
says: it places that many windows along the padded input, so a wrong size shows up as windows
that run off the input or leave inputs unreached (when it raises, PyTorch's windows are drawn).
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook
from matplotlib.collections import PatchCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

__all__ = ["load_photo", "draw_conv_arithmetic", "conv_explorer"]

PAD_COLOUR = "#d9d9d9"
FIRST_COLOUR = "#e67e22"   # the first kernel position and the output pixel it produces
LAST_COLOUR = "#2e86c1"    # the last one
MISS_COLOUR = "#c0392b"    # input the kernel never reaches when the filter does not fit


def load_photo(step=2):
    """Grace Hopper's portrait, greyscale float64 in [0, 1], every ``step``-th pixel.

    The photo ships inside matplotlib (``mpl-data/sample_data``), so notebooks need no download
    and it exists wherever matplotlib is installed, Colab included. ``step=2`` gives 300 x 256.
    """
    with cbook.get_sample_data("grace_hopper.jpg") as file:
        rgb = plt.imread(file).astype(np.float64) / 255.0
    grey = rgb @ np.array([0.299, 0.587, 0.114])  # ITU-R 601 luma weights
    return np.ascontiguousarray(grey[::step, ::step])


def _window_count(output_size, n, f, stride, padding, dilation):
    """(windows to draw, title): what ``output_size`` returns, or what PyTorch keeps when it raises.

    The explorer never judges a size itself: it draws what your function says, and a picture with
    unreached inputs (red) or windows running off the input shows what is wrong.
    """
    import torch

    call = f"conv_output_size({n}, {f}, stride={stride}, padding={padding}, dilation={dilation})"
    try:
        m = int(output_size(n, f, stride, padding, dilation))
    except ValueError as error:
        title = f"{call} raised ValueError: {error}"
        try:
            m = torch.nn.functional.conv1d(torch.empty(1, 1, n, device="meta"), torch.empty(1, 1, f, device="meta"),
                                           stride=stride, padding=padding, dilation=dilation).shape[-1]
            title += "\n(drawn: the windows PyTorch would keep)"
        except RuntimeError:  # PyTorch refuses a filter larger than the padded input
            m = 0
        return m, title
    return m, f"{call} = {m}"


def draw_conv_arithmetic(output_size, n=7, f=3, stride=1, padding=0, dilation=1, ax=None):
    """Draw one spatial dimension pair of a convolution with ``output_size`` (your ``conv_output_size``).

    Padded input (padding grey), the first window and the output pixel it produces in orange, the
    last ones in blue, inputs no window reaches in red; the title says what ``output_size`` returned
    (or raised). Returns the axes.
    """
    n, f, stride, padding, dilation = (int(v) for v in (n, f, stride, padding, dilation))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    span = dilation * (f - 1) + 1
    length = n + 2 * padding
    m, title = _window_count(output_size, n, f, stride, padding, dilation)
    m = max(m, 0)
    starts = [i * stride for i in range(min(m, length + 1))]  # enough to show a size that is too large
    reached = min(length, starts[-1] + span) if starts else 0

    # One collection per kind of square: thousands of single patches took over a second to draw.
    cells, faces, edges, styles = [], [], [], []
    for r in range(length):                       # the padded input, top-left at (0, 0), rows going down
        for c in range(length):
            inside = padding <= r < padding + n and padding <= c < padding + n
            missed = r >= reached or c >= reached
            colour = MISS_COLOUR if missed and inside else ("white" if inside else PAD_COLOUR)
            alpha = 0.55 if missed else 1.0
            cells.append(Rectangle((c, -r - 1), 1, 1))
            faces.append(to_rgba(colour, alpha))
            edges.append(to_rgba("0.4", alpha))
            styles.append("-" if inside else ":")
    ax.add_collection(PatchCollection(cells, facecolors=faces, edgecolors=edges, linestyles=styles, gid="input"))
    windows, faces = [], []
    for start, colour in ([(starts[0], FIRST_COLOUR), (starts[-1], LAST_COLOUR)] if m else []):
        for a in range(f):
            for b in range(f):
                windows.append(Rectangle((start + b * dilation + 0.15, -(start + a * dilation) - 0.85), 0.7, 0.7))
                faces.append(to_rgba(colour, 0.75))
        ax.add_patch(Rectangle((start, -start - span), span, span, fill=False, edgecolor=colour, linewidth=2))
    ax.add_collection(PatchCollection(windows, facecolors=faces, edgecolors="none", gid="windows"))

    x0 = max(length, (starts[-1] + span) if m else 0) + 2   # the output grid, to the right of the input
    grid = len(starts)
    outputs, faces = [], []
    for r in range(grid):
        for c in range(grid):
            colour = FIRST_COLOUR if (r, c) == (0, 0) else LAST_COLOUR if (r, c) == (grid - 1, grid - 1) else "white"
            outputs.append(Rectangle((x0 + c, -r - 1), 1, 1))
            faces.append(to_rgba(colour, 0.8))
    ax.add_collection(PatchCollection(outputs, facecolors=faces, edgecolors=to_rgba("0.2", 0.8), gid="output"))
    ax.text(length / 2, 0.6, f"input {n}×{n}" + (f" + padding {padding}" if padding else ""), ha="center")
    ax.text(x0 + max(grid, 1) / 2, 0.6, f"output {m}×{m}" if m else "no output", ha="center")
    ax.set_title(title + (f"\n(the dilated filter spans {span} pixels)" if dilation > 1 else ""), fontsize=10,
                 y=1.0)  # an explicit y skips matplotlib's search for a title position, which measures every tick
    ax.set_xlim(-0.5, x0 + max(grid, 1) + 0.5)
    ax.set_ylim(-max(length, x0 - 2) - 0.5, 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def conv_explorer(output_size, exercise=None):
    """Display sliders for N, F, S, P and dilation that redraw ``draw_conv_arithmetic(output_size, ...)``.

    Outside a live kernel (or without ipywidgets) it draws the lecture's 7x7, 3x3 example once.
    ``exercise`` is the number of the exercise ``output_size`` comes from, named while unsolved.
    """
    from utils.widgets import slider_plot

    def draw(N=7, F=3, S=1, P=0, dilation=1):
        draw_conv_arithmetic(output_size, N, F, S, P, dilation)
        plt.show()

    slider_plot(draw, exercise=exercise, N=(3, 12, 1, 7), F=(1, 7, 1, 3), S=(1, 4, 1, 1), P=(0, 3, 1, 0),
                dilation=(1, 3, 1, 1))
