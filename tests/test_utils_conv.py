"""utils.conv: the photo loads offline; the explorer draws what the given output-size function says."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from utils.conv import conv_explorer, draw_conv_arithmetic, load_photo  # noqa: E402


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


@pytest.mark.parametrize("n, f, stride, padding, dilation, verdict, output", [
    (7, 3, 1, 0, 1, "= 5: fits", "output 5×5"),
    (7, 3, 3, 0, 1, "raised ValueError: doesn't fit", "output 2×2"),  # the windows that do fit
    (7, 3, 2, 1, 2, "= 3: fits", "output 3×3"),
    (3, 5, 1, 0, 1, "raised ValueError", "no output"),
])
def test_drawing_says_what_the_function_returned_and_whether_it_fits(n, f, stride, padding, dilation, verdict,
                                                                      output):
    ax = draw_conv_arithmetic(output_size, n, f, stride, padding, dilation)
    assert verdict in ax.get_title()
    assert f"conv_output_size({n}, {f}, stride={stride}, padding={padding}, dilation={dilation})" in ax.get_title()
    assert output in [t.get_text() for t in ax.texts]


def test_drawing_shows_a_wrong_size_as_unreached_inputs_or_windows_off_the_input():
    assert "1 input row(s)/column(s) stay unreached" in draw_conv_arithmetic(floor_size, 7, 3, 3).get_title()
    too_many = draw_conv_arithmetic(lambda *settings: 6, 7, 3, 1).get_title()
    assert "window 6 would run 1 past the padded input" in too_many


def test_explorer_outside_a_kernel_draws_the_lecture_example_once(capsys):
    conv_explorer(output_size)
    assert "N, F, S, P, dilation" in capsys.readouterr().out   # the note names the missing sliders
    (number,) = plt.get_fignums()
    assert "conv_output_size(7, 3, stride=1, padding=0, dilation=1) = 5: fits" in plt.figure(number).axes[0].get_title()
