"""Mutation tests for notebook 03: each plausible wrong answer of convolution arithmetic must cost
exactly the points of its own exercise, and each correct answer in another honest style must keep them.

The mistakes the tests must catch include those the issue names first (padding on one side only,
floor division where the filter doesn't fit, F*C*K without the square, forgetting the biases, a
flipped kernel, off-by-one receptive fields), float64 output for float32 input, overlapping max-pool
windows that overwrite instead of adding, and an integer Toeplitz matrix. All of them are judged in
one kernel (tests/mutants.py), which also measures how many the visible checks catch.
"""
import pytest

from mutants import (test_each_honest_alternative_keeps_its_points,  # noqa: F401 (run here, on this
                     test_each_wrong_answer_fails_only_its_own_exercise,  # module's MUTANTS and HONEST)
                     test_visible_checks_catch_most_wrong_answers, verdicts)
from notebook_tools import assert_every_mutant_changes_its_answer, load

ASSIGNMENT = "03_conv_arithmetic"

ONE_SIDED_PAD = "np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))"

# test id -> [(what the student got wrong, [(old, new), ...] replacements in the answer cell)]
MUTANTS = {
    "conv-output": [
        ("padding on one side only", [("room = n + 2 * padding - span", "room = n + padding - span")]),
        ("floor division where the filter doesn't fit",
         [("    if room % stride:\n        raise ValueError(f\"doesn't fit: (N - F_eff + 2P)/S = {room}/{stride} is not an integer\")\n", "")]),
        ("dilation ignored", [("span = dilation * (f - 1) + 1", "span = f")]),
        ("transposed size without output_padding", [("- 2 * padding + output_padding", "- 2 * padding")]),
        ("same padding for an even filter", [("if f % 2 == 0:", "if False:")]),
        ("transposed size ignores dilation", [("dilation * (f - 1) + 1 - 2 * padding", "f - 2 * padding")]),
        ("true division: a float size", [("return room // stride + 1", "return room / stride + 1")]),
    ],
    "conv-params": [
        ("F*C*K without the square", [("return f * f * c_in * c_out + (c_out if bias else 0)",
                                       "return f * c_in * c_out + (c_out if bias else 0)")]),
        ("biases forgotten", [("return f * f * c_in * c_out + (c_out if bias else 0)", "return f * f * c_in * c_out")]),
        ("locally connected layer with shared biases", [("return out_h * out_w * per_position",
                                                         "return out_h * out_w * f * f * c_in * c_out + (c_out if bias else 0)")]),
        ("bias=False ignored by conv_params", [("return f * f * c_in * c_out + (c_out if bias else 0)",
                                                "return f * f * c_in * c_out + c_out")]),
        ("a dense layer without its biases", [("return n_in * n_out + (n_out if bias else 0)", "return n_in * n_out")]),
    ],
    "conv-lenet": [
        ("biases left out of the total", [("total += math.prod(weight_shape) + weight_shape[0]", "total += math.prod(weight_shape)")]),
        ("padding on one side only (conv1 shrinks by 2)", [('("conv1", (20, h, w),', '("conv1", (20, h - 2, w - 2),')]),
        ("flatten size hard-coded for 28x28", [("flat = 50 * h * w", "flat = 2450")]),
        ("linear weight in the lecture's (in, out) order", [('("fc1", (500,), (500, flat))', '("fc1", (500,), (flat, 500))')]),
        ("pooling rounds up (the lecture's ceil)", [("h, w = h // 2, w // 2", "h, w = -(-h // 2), -(-w // 2)")]),
        ("conv1's weight for one input channel", [("(20, c, 5, 5)", "(20, 1, 5, 5)")]),
    ],
    "conv-receptive": [
        ("off by one: the field starts at 0", [("size, jump = 1, 1", "size, jump = 0, 1")]),
        ("off by one: L*K for stacked layers", [("return 1 + num_layers * (k - 1)", "return num_layers * k")]),
        ("strides ignored", [("size += dilation * (kernel - 1) * jump", "size += dilation * (kernel - 1)")]),
        ("a layer's own stride applied to its kernel",
         [("        size += dilation * (kernel - 1) * jump\n        jump *= stride",
           "        jump *= stride\n        size += dilation * (kernel - 1) * jump")]),
        ("dilation ignored", [("size += dilation * (kernel - 1) * jump", "size += (kernel - 1) * jump")]),
        ("the jump grows by the kernel, not the stride", [("jump *= stride", "jump *= kernel")]),
        ("dilated extent d*K - 1", [("size += dilation * (kernel - 1) * jump", "size += (dilation * kernel - 1) * jump")]),
    ],
    "conv-naive": [
        ("flipped kernel (true convolution)", [("np.sum(window * w[k])", "np.sum(window * w[k, :, ::-1, ::-1])")]),
        ("bias forgotten", [("np.sum(window * w[k]) + b[k]", "np.sum(window * w[k])")]),
        ("padding on one side only", [(ONE_SIDED_PAD, ONE_SIDED_PAD.replace("(padding, padding)", "(padding, 0)"))]),
        ("windows not strided", [("xp[n, :, i * stride:i * stride + fh, j * stride:j * stride + fw]", "xp[n, :, i:i + fh, j:j + fw]")]),
    ],
    "conv-fast": [
        ("flipped kernel (true convolution)", [("y = w.reshape(n_filters, -1) @ cols", "y = w[:, :, ::-1, ::-1].reshape(n_filters, -1) @ cols")]),
        ("stride ignored", [("[:, :, ::stride, ::stride]", "")]),
        ("bias forgotten", [("    y += b[:, None]", "    pass")]),
        ("windows flattened in a different order than the filters", [("windows.transpose(0, 1, 4, 5, 2, 3)", "windows.transpose(0, 1, 5, 4, 2, 3)")]),
        ("float64 output for float32 input", [(ONE_SIDED_PAD, ONE_SIDED_PAD.replace("np.pad(x,", "np.pad(x.astype(np.float64),"))]),
        ("padding on one side only", [(ONE_SIDED_PAD, ONE_SIDED_PAD.replace("(padding, padding)", "(padding, 0)"))]),
    ],
    "conv-maxpool": [
        ("overlapping windows overwrite instead of adding", [("np.add.at(dx, (n, c, rows, cols), dout)", "dx[n, c, rows, cols] = dout")]),
        ("argmax row and column swapped", [("rows = i * stride + arg // size", "rows = i * stride + arg % size"),
                                           ("cols = j * stride + arg % size", "cols = j * stride + arg // size")]),
        ("windows every size pixels, whatever the stride", [("[:, :, ::stride, ::stride]", "[:, :, ::size, ::size]")]),
        ("backward steps by the window size, not the stride",
         [("rows = i * stride + arg // size", "rows = i * size + arg // size"), ("cols = j * stride + arg % size", "cols = j * size + arg % size")]),
    ],
    "conv-toeplitz": [
        ("flipped kernel", [("T[j:j + m, j] = h ", "T[j:j + m, j] = h[::-1] ")]),
        ("an integer matrix for an integer kernel", [("h = np.asarray(h, dtype=np.float64)", "h = np.asarray(h)"),
                                                     ("T = np.zeros((n + m - 1, n))", "T = np.zeros((n + m - 1, n), dtype=h.dtype)")]),
        ("the conv layer's matrix T.T", [("    return T\n", "    return T.T\n")]),
    ],
    "conv-filters": [
        ("continuous normalisation 1/(2 pi sigma^2)", [("return g / g.sum()", "return g / (2 * np.pi * sigma ** 2)")]),
        ("sharpening with delta instead of 2 delta", [("kernel[size // 2, size // 2] += 2.0", "kernel[size // 2, size // 2] += 1.0")]),
        ("sigma used as the variance", [("(2 * sigma ** 2)", "(2 * sigma)")]),
        ("box of 1/size instead of 1/size^2", [("1.0 / size ** 2", "1.0 / size")]),
        ("Gaussian not normalised", [("return g / g.sum()", "return g")]),
    ],
}

# Correct answers in other honest styles: each keeps its points.
HONEST = {
    "conv-output": [
        ("true division checked with is_integer, f // 2", '''
def conv_output_size(n, f, stride=1, padding=0, dilation=1):
    f_eff = f + (f - 1) * (dilation - 1)
    if f_eff > n + 2 * padding:
        raise ValueError("the filter is larger than the padded input")
    steps = (n - f_eff + 2 * padding) / stride
    if not steps.is_integer():
        raise ValueError(f"doesn't fit: {steps} is not an integer")
    return int(steps) + 1


def same_padding(f):
    if f % 2 != 1:
        raise ValueError("no symmetric same padding for an even filter")
    return f // 2


def transposed_output_size(n, f, stride=1, padding=0, output_padding=0, dilation=1):
    f_eff = f + (f - 1) * (dilation - 1)
    return (n - 1) * stride - 2 * padding + f_eff + output_padding
'''),
    ],
    "conv-params": [
        ("factored forms, unshared from conv_params", '''
def conv_params(c_in, c_out, f, bias=True):
    return c_out * (c_in * f ** 2 + int(bias))


def dense_params(n_in, n_out, bias=True):
    return n_out * (n_in + 1) if bias else n_out * n_in


def unshared_params(c_in, c_out, f, out_h, out_w, bias=True):
    return out_h * out_w * conv_params(c_in, c_out, f, bias)
'''),
    ],
    "conv-lenet": [
        ("rows and shapes as lists, pooling by the size formula, np.prod", '''
LENET_LAYERS = ["conv1", "relu1", "pool1", "conv2", "relu2", "pool2", "flatten", "fc1", "relu3", "fc2"]


def lenet_table(input_shape=(1, 28, 28)):
    c, h, w = input_shape

    def pooled(size):
        return (size - 2) // 2 + 1

    h1, w1 = pooled(h), pooled(w)
    h2, w2 = pooled(h1), pooled(w1)
    flat = 50 * h2 * w2
    return [["conv1", [20, h, w], [20, c, 5, 5]], ["relu1", [20, h, w], None], ["pool1", [20, h1, w1], None],
            ["conv2", [50, h1, w1], [50, 20, 5, 5]], ["relu2", [50, h1, w1], None], ["pool2", [50, h2, w2], None],
            ["flatten", [flat], None], ["fc1", [500], [500, flat]], ["relu3", [500], None], ["fc2", [10], [10, 500]]]


def lenet_param_count(input_shape=(1, 28, 28)):
    return sum(int(np.prod(shape)) + shape[0] for _, _, shape in lenet_table(input_shape) if shape is not None)
'''),
        ("sizes as NumPy ints", [("h, w = h // 2, w // 2", "h, w = np.array([h, w]) // 2")]),
    ],
    "conv-receptive": [
        ("a loop for the stack; top-down recursion", '''
def stacked_receptive_field(num_layers, k):
    field = 1
    for _ in range(num_layers):
        field += k - 1
    return field


def receptive_field(layers):
    field = 1
    for kernel, stride, dilation in reversed(layers):
        field = (field - 1) * stride + dilation * (kernel - 1) + 1
    return field
'''),
    ],
    "conv-naive": [
        ("seven loops, manual zero padding, float64 output", '''
def conv2d_naive(x, w, b, stride=1, padding=0):
    N, C, H, W = x.shape
    K, _, FH, FW = w.shape
    xp = np.zeros((N, C, H + 2 * padding, W + 2 * padding))
    xp[:, :, padding:padding + H, padding:padding + W] = x
    Ho, Wo = (H + 2 * padding - FH) // stride + 1, (W + 2 * padding - FW) // stride + 1
    y = np.zeros((N, K, Ho, Wo))
    for n in range(N):
        for k in range(K):
            for i in range(Ho):
                for j in range(Wo):
                    total = b[k]
                    for c in range(C):
                        for u in range(FH):
                            for v in range(FW):
                                total += w[k, c, u, v] * xp[n, c, i * stride + u, j * stride + v]
                    y[n, k, i, j] = total
    return y
'''),
    ],
    "conv-fast": [
        ("einsum", '''
def conv2d_fast(x, w, b, stride=1, padding=0):
    fh, fw = w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    windows = sliding_window_view(xp, (fh, fw), axis=(2, 3))[:, :, ::stride, ::stride]
    return np.einsum("nchwuv,kcuv->nkhw", windows, w) + b[None, :, None, None]
'''),
        ("tensordot", '''
def conv2d_fast(x, w, b, stride=1, padding=0):
    fh, fw = w.shape[2:]
    xp = np.pad(x, [(0, 0), (0, 0), (padding, padding), (padding, padding)])
    windows = sliding_window_view(xp, (fh, fw), axis=(2, 3))[:, :, ::stride, ::stride]
    y = np.tensordot(windows, w, axes=([1, 4, 5], [1, 2, 3]))      # (N, Ho, Wo, K)
    return (y + b).transpose(0, 3, 1, 2)
'''),
    ],
    "conv-maxpool": [
        ("loops over the output positions, the input kept as the cache", '''
def maxpool_forward(x, size=2, stride=2):
    n, c, h, w = x.shape
    out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
    out = np.zeros((n, c, out_h, out_w), dtype=x.dtype)
    for i in range(out_h):
        for j in range(out_w):
            out[:, :, i, j] = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size].max(axis=(2, 3))
    return out, (x, size, stride)


def maxpool_backward(dout, cache):
    x, size, stride = cache
    dx = np.zeros(x.shape)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
            winner = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, i * stride:i * stride + size, j * stride:j * stride + size] += winner * dout[:, :, i, j, None, None]
    return dx
'''),
    ],
    "conv-toeplitz": [
        ("a sum of shifted identity matrices", '''
def toeplitz_matrix(h, n):
    m = len(h)
    return sum(float(h[k]) * np.eye(n + m - 1, n, -k) for k in range(m))
'''),
        ("entry by entry", '''
def toeplitz_matrix(h, n):
    m = len(h)
    T = np.zeros((n + m - 1, n))
    for i in range(n + m - 1):
        for j in range(n):
            if 0 <= i - j < m:
                T[i, j] = h[i - j]
    return T
'''),
    ],
    "conv-filters": [
        ("outer product of 1-D Gaussians; delta and box built apart", '''
def gaussian_kernel(size, sigma):
    offsets = np.arange(-(size // 2), size // 2 + 1)
    g1 = np.exp(-offsets ** 2 / (2 * sigma ** 2))
    g1 = g1 / g1.sum()
    return np.outer(g1, g1)


def sharpen_kernel(size):
    delta = np.zeros((size, size))
    delta[size // 2, size // 2] = 1.0
    return 2 * delta - np.ones((size, size)) / size ** 2
'''),
    ],
}


def test_every_mutant_changes_its_answer():
    """A replacement that matched nothing would make a mutation test vacuous."""
    assert_every_mutant_changes_its_answer(load(ASSIGNMENT), MUTANTS)


def test_mutants_cover_every_graded_exercise():
    from autograder.examples import test_points
    assert set(MUTANTS) == set(test_points(load(ASSIGNMENT)))
