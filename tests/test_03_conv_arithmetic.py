"""Notebook 3 catches the plausible wrong answers of convolution arithmetic.

Each exercise lists the mistakes its tests must catch (those the issue names first: padding on one
side only, floor division where the filter doesn't fit, F*C*K without the square, forgetting the
biases, a flipped kernel, off-by-one receptive fields). Round r plants the r-th mistake of every
exercise at once and expects exactly those exercises' tests to fail while the others still pass,
so five notebook executions cover all of them.
"""
from itertools import zip_longest

import pytest

from notebook_tools import execute, failed_tests, load, mutate

A = "03_conv_arithmetic"

ONE_SIDED_PAD = "np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))"

MISTAKES = {  # test id -> [(mistake, old text in the answer cell, replacement)]
    "conv-output": [
        ("padding on one side only", "room = n + 2 * padding - span", "room = n + padding - span"),
        ("floor division where the filter doesn't fit",
         "    if room % stride:\n        raise ValueError(f\"doesn't fit: (N - F_eff + 2P)/S = {room}/{stride} is not an integer\")\n", ""),
        ("dilation ignored", "span = dilation * (f - 1) + 1", "span = f"),
        ("transposed size without output_padding", "- 2 * padding + output_padding", "- 2 * padding"),
        ("same padding for an even filter", "if f % 2 == 0:", "if False:"),
    ],
    "conv-params": [
        ("F*C*K without the square", "return f * f * c_in * c_out + (c_out if bias else 0)",
         "return f * c_in * c_out + (c_out if bias else 0)"),
        ("biases forgotten", "return f * f * c_in * c_out + (c_out if bias else 0)", "return f * f * c_in * c_out"),
        ("locally connected layer with shared biases", "return out_h * out_w * per_position",
         "return out_h * out_w * f * f * c_in * c_out + (c_out if bias else 0)"),
    ],
    "conv-lenet": [
        ("biases left out of the total", "total += math.prod(weight_shape) + weight_shape[0]",
         "total += math.prod(weight_shape)"),
        ("padding on one side only (conv1 shrinks by 2)", '("conv1", (20, h, w),', '("conv1", (20, h - 2, w - 2),'),
        ("flatten size hard-coded for 28x28", "flat = 50 * h * w", "flat = 2450"),
        ("linear weight in the lecture's (in, out) order", '("fc1", (500,), (500, flat))', '("fc1", (500,), (flat, 500))'),
    ],
    "conv-receptive": [
        ("off by one: the field starts at 0", "size, jump = 1, 1", "size, jump = 0, 1"),
        ("off by one: L*K for stacked layers", "return 1 + num_layers * (k - 1)", "return num_layers * k"),
        ("strides ignored", "size += dilation * (kernel - 1) * jump", "size += dilation * (kernel - 1)"),
        ("a layer's own stride applied to its kernel",
         "        size += dilation * (kernel - 1) * jump\n        jump *= stride",
         "        jump *= stride\n        size += dilation * (kernel - 1) * jump"),
        ("dilation ignored", "size += dilation * (kernel - 1) * jump", "size += (kernel - 1) * jump"),
    ],
    "conv-naive": [
        ("flipped kernel (true convolution)", "np.sum(window * w[k])", "np.sum(window * w[k, :, ::-1, ::-1])"),
        ("bias forgotten", "np.sum(window * w[k]) + b[k]", "np.sum(window * w[k])"),
        ("padding on one side only", ONE_SIDED_PAD, ONE_SIDED_PAD.replace("(padding, padding)", "(padding, 0)")),
    ],
    "conv-fast": [
        ("flipped kernel (true convolution)", "y = w.reshape(n_filters, -1) @ cols",
         "y = w[:, :, ::-1, ::-1].reshape(n_filters, -1) @ cols"),
        ("stride ignored", "[:, :, ::stride, ::stride]", ""),
        ("bias forgotten", "    y += b[:, None]", "    pass"),
        ("windows flattened in a different order than the filters",
         "windows.transpose(0, 1, 4, 5, 2, 3)", "windows.transpose(0, 1, 5, 4, 2, 3)"),
    ],
    "conv-maxpool": [
        ("overlapping windows overwrite instead of adding", "np.add.at(dx, (n, c, rows, cols), dout)",
         "dx[n, c, rows, cols] = dout"),
        ("argmax row and column swapped", "rows = i * stride + arg // size", "rows = i * stride + arg % size"),
    ],
    "conv-toeplitz": [
        ("flipped kernel", "T[j:j + m, j] = h ", "T[j:j + m, j] = h[::-1] "),
    ],
    "conv-filters": [
        ("continuous normalisation 1/(2 pi sigma^2)", "return g / g.sum()", "return g / (2 * np.pi * sigma ** 2)"),
        ("sharpening with delta instead of 2 delta", "kernel[size // 2, size // 2] += 2.0", "kernel[size // 2, size // 2] += 1.0"),
    ],
}

ROUNDS = [[(test_id, *MISTAKES[test_id][r]) for test_id in MISTAKES if r < len(MISTAKES[test_id])]
          for r in range(max(len(m) for m in MISTAKES.values()))]


def test_every_mistake_is_planted_once_and_rounds_touch_distinct_exercises():
    planted = [(t, name) for mistakes in ROUNDS for t, name, _, _ in mistakes]
    assert sorted(planted) == sorted((t, name) for t, ms in MISTAKES.items() for name, _, _ in ms)
    for mistakes in ROUNDS:
        assert len({t for t, *_ in mistakes}) == len(mistakes)


def test_mistakes_apply_to_the_solution():
    solution = load(A)
    for mistakes in ROUNDS:
        for test_id, _, old, new in mistakes:
            mutate(solution, test_id, old, new)  # asserts that ``old`` is in the answer cell


@pytest.mark.notebook
@pytest.mark.parametrize("round_index", range(len(ROUNDS)), ids=[f"round{r + 1}" for r in range(len(ROUNDS))])
def test_wrong_answers_lose_exactly_their_points(round_index):
    notebook = load(A)
    mistakes = ROUNDS[round_index]
    for test_id, _, old, new in mistakes:
        notebook = mutate(notebook, test_id, old, new)
    executed, _ = execute(notebook, A)
    expected = {test_id for test_id, *_ in mistakes}
    caught = failed_tests(executed)
    missed = [f"{t}: {name}" for t, name, _, _ in mistakes if t not in caught]
    assert not missed, f"not caught: {missed}"
    assert caught == expected, f"tests of correct exercises failed: {sorted(caught - expected)}"
