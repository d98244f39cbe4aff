"""utils.conv: the photo loads offline; the explorer draws what the given output-size function says,
and never judges a size itself."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils.conv import MISS_COLOUR, conv_explorer, draw_conv_arithmetic, load_photo  # noqa: E402


def output_size(n, f, stride=1, padding=0, dilation=1):
    """A right answer to notebook 3's exercise 1, written here so that the test needs no oracle."""
    room = n + 2 * padding - (dilation * (f - 1) + 1)
    if room < 0 or room % stride:
        raise ValueError("doesn't fit")
    return room // stride + 1


def floor_size(n, f, stride=1, padding=0, dilation=1):
    """A wrong answer: PyTorch's silent rounding down."""
    return (n + 2 * padding - (dilation * (f - 1) + 1)) // stride + 1


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_photo_is_greyscale_in_unit_range_and_subsampled():
    photo = load_photo()
    assert photo.shape == (300, 256) and photo.dtype == np.float64
    assert 0.0 <= photo.min() < 0.1 and 0.9 < photo.max() <= 1.0
    assert load_photo(step=1).shape == (600, 512)
    assert np.array_equal(load_photo(step=1)[::2, ::2], photo)


def red_cells(ax):
    """How many input cells the drawing marks as never reached."""
    [cells] = [c for c in ax.collections if c.get_gid() == "input"]
    return sum(1 for colour in cells.get_facecolors() if matplotlib.colors.to_hex(colour) == MISS_COLOUR)


@pytest.mark.parametrize("n, f, stride, padding, dilation, said, output, unreached", [
    (7, 3, 1, 0, 1, "= 5", "output 5×5", 0),
    (7, 3, 3, 0, 1, "raised ValueError: doesn't fit\n(drawn: the windows PyTorch would keep)", "output 2×2", 13),
    (7, 3, 2, 1, 2, "= 3", "output 3×3", 0),
    (3, 5, 1, 0, 1, "raised ValueError: doesn't fit", "no output", 9),
])
def test_drawing_shows_what_the_function_said(n, f, stride, padding, dilation, said, output, unreached):
    ax = draw_conv_arithmetic(output_size, n, f, stride, padding, dilation)
    assert ax.get_title().startswith(
        f"conv_output_size({n}, {f}, stride={stride}, padding={padding}, dilation={dilation}) {said}")
    assert output in [t.get_text() for t in ax.texts]
    assert red_cells(ax) == unreached      # the last row and column: 7 + 7 - 1 cells


def test_a_wrong_size_shows_as_unreached_inputs_or_a_window_off_the_input():
    rounded_down = draw_conv_arithmetic(floor_size, 7, 3, 3)
    assert rounded_down.get_title().endswith("= 2") and red_cells(rounded_down) == 13
    too_many = draw_conv_arithmetic(lambda *settings: 6, 7, 3, 1)
    assert red_cells(too_many) == 0
    assert too_many.get_xlim()[1] > 7 + 2 + 6, "the sixth window runs past the input, and is drawn there"


def test_explorer_outside_a_kernel_draws_the_lecture_example_once(capsys):
    conv_explorer(output_size)
    assert "N, F, S, P, dilation" in capsys.readouterr().out   # the note names the missing sliders
    (number,) = plt.get_fignums()
    assert plt.figure(number).axes[0].get_title() == "conv_output_size(7, 3, stride=1, padding=0, dilation=1) = 5"


def test_an_absurd_size_is_drawn_in_bounded_time():
    ax = draw_conv_arithmetic(lambda *settings: 10 ** 6, 7, 3, 1)
    assert ax.get_title().endswith("= 1000000") and "output 1000000×1000000" in [t.get_text() for t in ax.texts]
    assert len(ax.patches) + sum(len(c.get_paths()) for c in ax.collections) < 500
