"""utils.conv: the photo loads offline, receptive fields are measured right, the explorer says what fits."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from utils.conv import (conv_explorer, draw_conv_arithmetic, kernel_positions, load_photo,  # noqa: E402
                        measure_receptive_field, stack_model)


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


@pytest.mark.parametrize("n, f, stride, padding, dilation, starts, leftover", [
    (7, 3, 1, 0, 1, [0, 1, 2, 3, 4], 0),   # the lecture's 7x7 input: 5 positions
    (7, 3, 2, 0, 1, [0, 2, 4], 0),         # stride 2: 3 positions
    (7, 3, 3, 0, 1, [0, 3], 1),            # stride 3: doesn't fit, the last input is never reached
    (7, 3, 1, 1, 1, list(range(7)), 0),    # pad 1 keeps the size
    (7, 3, 1, 0, 2, [0, 1, 2], 0),         # dilation 2: the filter spans 5
    (2, 3, 1, 0, 1, [], 2),                # filter larger than the input
])
def test_kernel_positions(n, f, stride, padding, dilation, starts, leftover):
    assert kernel_positions(n, f, stride, padding, dilation) == (starts, leftover)


@pytest.mark.parametrize("layers, expected", [
    ([(3, 1, 1)], 3),
    ([(3, 1, 1)] * 3, 7),                            # 1 + L(K - 1)
    ([(3, 1, 1), (2, 2, 1), (3, 1, 1)], 8),          # the pool doubles the step of the last conv
    ([(3, 1, 2)], 5),                                # dilation 2 spreads 3 taps over 5 pixels
    ([(3, 1, 1), (3, 1, 2), (3, 1, 4)], 15),
])
def test_measured_receptive_field(layers, expected):
    assert measure_receptive_field(stack_model(layers), 41) == (expected, expected)


def test_measurement_works_on_an_ordinary_model_and_refuses_a_too_small_input():
    model = torch.nn.Sequential(torch.nn.Conv2d(2, 4, 3), torch.nn.AvgPool2d(2), torch.nn.Conv2d(4, 1, 3)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()                                 # positive weights: no gradient can cancel
    assert measure_receptive_field(model, 30, channels=2) == (8, 8)
    with pytest.raises(ValueError, match="too small"):
        measure_receptive_field(stack_model([(3, 1, 1)] * 3), 7)


def test_stack_model_has_one_all_ones_conv_per_layer():
    model = stack_model([(3, 2, 1), (5, 1, 2)])
    convs = list(model)
    assert [(c.kernel_size, c.stride, c.dilation) for c in convs] == [((3, 3), (2, 2), (1, 1)), ((5, 5), (1, 1), (2, 2))]
    assert all(torch.all(c.weight == 1) and c.bias is None for c in convs)


@pytest.mark.parametrize("n, f, stride, padding, dilation, verdict, output", [
    (7, 3, 1, 0, 1, "fits", "output 5×5"),
    (7, 3, 3, 0, 1, "doesn't fit", "output 2×2"),
    (7, 3, 2, 1, 2, "fits", "output 3×3"),
    (3, 5, 1, 0, 1, "larger than the padded input", "no output"),
])
def test_drawing_states_the_formula_and_whether_the_filter_fits(n, f, stride, padding, dilation, verdict, output):
    ax = draw_conv_arithmetic(n, f, stride, padding, dilation)
    title = ax.get_title()
    assert verdict in title and f"({n} + 2·{padding}" in title
    assert output in [t.get_text() for t in ax.texts]


def test_explorer_outside_a_kernel_draws_the_lecture_example_once(capsys):
    conv_explorer()
    assert "N, F, S, P, dilation" in capsys.readouterr().out   # the note names the missing sliders
    (number,) = plt.get_fignums()
    assert "(7 + 2·0 − 3)/1 + 1 = 5" in plt.figure(number).axes[0].get_title()
