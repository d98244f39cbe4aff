"""Tools for notebook 3 (convolution arithmetic): a photo, receptive-field measurement, the explorer.

Nothing here computes an exercise's answer by formula. The receptive field is *measured* (by
backpropagating from one output pixel of a real PyTorch model and looking where the gradient
lands), so it can check a student's formula independently; the explorer finds kernel positions
by sliding the window along the padded input, the way the lecture's pictures do.
"""
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook
from matplotlib.patches import Rectangle

__all__ = ["load_photo", "stack_model", "measure_receptive_field", "kernel_positions",
           "draw_conv_arithmetic", "conv_explorer"]

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


def stack_model(layers):
    """A PyTorch stack of single-channel convolutions with all-ones weights and no bias.

    ``layers`` lists ``(kernel, stride, dilation)`` from the input up. Positive weights mean no
    gradient can cancel, so the non-zero input gradient of one output pixel is exactly its
    receptive field. A k x k pooling window with stride s covers the same inputs as this conv.
    """
    import torch

    modules = []
    for kernel, stride, dilation in layers:
        conv = torch.nn.Conv2d(1, 1, int(kernel), stride=int(stride), dilation=int(dilation), bias=False)
        torch.nn.init.ones_(conv.weight)
        modules.append(conv)
    return torch.nn.Sequential(*modules).double()


def measure_receptive_field(model, input_size, channels=1):
    """(height, width) of the input region that one output pixel of ``model`` depends on.

    Runs a ``(1, channels, input_size, input_size)`` input of ones through ``model``, backpropagates
    from the centre output pixel (summed over channels) and returns the bounding box of the non-zero
    input gradient. ``input_size`` must be large enough for that box to lie inside the input.
    """
    import torch

    dtype = next(model.parameters()).dtype if any(True for _ in model.parameters()) else torch.float64
    x = torch.ones(1, channels, input_size, input_size, dtype=dtype, requires_grad=True)
    out = model(x)
    h, w = out.shape[-2:]
    out[0, :, h // 2, w // 2].sum().backward()
    rows, cols = np.nonzero(x.grad.abs().sum(dim=(0, 1)).numpy())
    if rows.size == 0:
        raise ValueError("the output pixel does not depend on the input (all-zero gradient)")
    touches_border = rows.min() == 0 or cols.min() == 0 or rows.max() == input_size - 1 or cols.max() == input_size - 1
    if touches_border:
        raise ValueError(f"input_size={input_size} is too small: the receptive field reaches the border")
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


def kernel_positions(n, f, stride=1, padding=0, dilation=1):
    """Start indices (in the padded input) of every window, and how many padded inputs lie beyond the last one.

    Found by sliding the window one stride at a time, as in the lecture's pictures; the leftover
    is non-zero exactly when the filter "doesn't fit" (a framework would silently drop it).
    """
    span = dilation * (f - 1) + 1
    length = n + 2 * padding
    starts = list(range(0, length - span + 1, stride))
    leftover = length - (starts[-1] + span) if starts else length
    return starts, leftover


def draw_conv_arithmetic(n=7, f=3, stride=1, padding=0, dilation=1, ax=None):
    """Draw one spatial dimension pair of a convolution: padded input, kernel taps, output grid, formula.

    The first window and the output pixel it produces are orange, the last ones blue; padding is
    grey; inputs beyond the last window are red, and the title says the filter doesn't fit.
    Returns the axes.
    """
    n, f, stride, padding, dilation = (int(v) for v in (n, f, stride, padding, dilation))
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.5))
    span = dilation * (f - 1) + 1
    length = n + 2 * padding
    starts, leftover = kernel_positions(n, f, stride, padding, dilation)
    m = len(starts)

    for r in range(length):                       # the padded input, top-left at (0, 0), rows going down
        for c in range(length):
            inside = padding <= r < padding + n and padding <= c < padding + n
            missed = leftover and (r >= length - leftover or c >= length - leftover)
            colour = MISS_COLOUR if missed and inside else ("white" if inside else PAD_COLOUR)
            ax.add_patch(Rectangle((c, -r - 1), 1, 1, facecolor=colour, edgecolor="0.4",
                                   linestyle="-" if inside else ":", alpha=0.55 if missed else 1.0))
    for start, colour in ([(starts[0], FIRST_COLOUR), (starts[-1], LAST_COLOUR)] if m else []):
        for a in range(f):
            for b in range(f):
                ax.add_patch(Rectangle((start + b * dilation + 0.15, -(start + a * dilation) - 0.85), 0.7, 0.7,
                                       facecolor=colour, alpha=0.75, edgecolor="none"))
        ax.add_patch(Rectangle((start, -start - span), span, span, fill=False, edgecolor=colour, linewidth=2))

    x0 = length + 2                                # the output grid, to the right of the input
    for r in range(m):
        for c in range(m):
            colour = FIRST_COLOUR if (r, c) == (0, 0) else LAST_COLOUR if (r, c) == (m - 1, m - 1) else "white"
            ax.add_patch(Rectangle((x0 + c, -r - 1), 1, 1, facecolor=colour, edgecolor="0.2", alpha=0.8))
    ax.text(length / 2, 0.6, f"input {n}×{n}" + (f" + padding {padding}" if padding else ""), ha="center")
    ax.text(x0 + max(m, 1) / 2, 0.6, f"output {m}×{m}" if m else "no output", ha="center")

    numerator = n + 2 * padding - span
    formula = (f"(N + 2P − F_eff)/S + 1 = ({n} + 2·{padding} − {span})/{stride} + 1 = "
               f"{numerator / stride + 1:.4g}" + (f"   (F_eff = {dilation}·({f} − 1) + 1 = {span})" if dilation > 1 else ""))
    fits = m > 0 and leftover == 0
    verdict = "fits" if fits else ("the filter is larger than the padded input" if m == 0 else
                                   f"doesn't fit: {leftover} input row(s)/column(s) never reached (red); "
                                   f"PyTorch would silently drop them and return {m}×{m}")
    ax.set_title(formula + "\n" + verdict, color="black" if fits else MISS_COLOUR, fontsize=10)
    ax.set_xlim(-0.5, x0 + max(m, 1) + 0.5)
    ax.set_ylim(-length - 0.5, 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def conv_explorer():
    """Display sliders for N, F, S, P and dilation that redraw ``draw_conv_arithmetic``.

    Outside a live kernel (or without ipywidgets) it draws the lecture's 7x7, 3x3 example once.
    """
    from utils.widgets import slider_plot

    def draw(N=7, F=3, S=1, P=0, dilation=1):
        draw_conv_arithmetic(N, F, S, P, dilation)
        plt.show()

    slider_plot(draw, N=(3, 12, 1, 7), F=(1, 7, 1, 3), S=(1, 4, 1, 1), P=(0, 3, 1, 0), dilation=(1, 3, 1, 1))
