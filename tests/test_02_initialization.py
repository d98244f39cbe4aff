"""Mutation tests for notebook 02: each plausible wrong answer must cost exactly the points of its
own exercise, and each correct answer in another honest style must keep them.

All of them are judged in one kernel (tests/mutants.py), which also measures how many of the wrong
answers the visible checks catch. The last tests check the solution against the lecture's figures.
"""
import ast

import pytest

from mutants import (test_each_honest_alternative_keeps_its_points,  # noqa: F401 (run here, on this
                     test_each_wrong_answer_fails_only_its_own_exercise,  # module's MUTANTS and HONEST)
                     solution_kernel, test_visible_checks_catch_most_wrong_answers, verdicts)
from notebook_tools import answer_source, assert_every_mutant_changes_its_answer, load

ASSIGNMENT = "02_initialization"

# test id -> [(what the student got wrong, [(old, new), ...] replacements in the answer cell)]
MUTANTS = {
    "init-experiment": [
        ("tanh applied before the product", [("h = activation(h @ W)", "h = activation(h) @ W")]),
        ("unseeded run (global random state)", [("g = torch.Generator().manual_seed(seed)", "g = None")]),
        ("seed ignored (an unseeded generator)", [("g = torch.Generator().manual_seed(seed)", "g = torch.Generator()")]),
        ("rule called as std(dout, din)", [("std(din, dout) if callable", "std(dout, din) if callable")]),
        ("returns the pre-activations", [("h = activation(h @ W)\n        layers.append(h)",
                                          "z = h @ W\n        h = activation(z)\n        layers.append(z)")]),
        ("the input counted as a layer", [("layers = []", "layers = [h]")]),
        ("batch size fixed at 16", [("torch.randn(batch, dims[0]", "torch.randn(16, dims[0]")]),
        ("weights drawn as (dout, din), then transposed",
         [("torch.randn(din, dout, generator=g)", "torch.randn(dout, din, generator=g).T")]),
    ],
    "init-rules": [
        ("Xavier with Dout instead of Din", [("return 1.0 / math.sqrt(din)", "return 1.0 / math.sqrt(dout)")]),
        ("Xavier variance instead of std", [("return 1.0 / math.sqrt(din)", "return 1.0 / din")]),
        ("Kaiming without the square root", [("return math.sqrt(2.0 / din)", "return 2.0 / din")]),
        ("Kaiming without the factor 2", [("return math.sqrt(2.0 / din)", "return math.sqrt(1.0 / din)")]),
        ("Kaiming with Dout instead of Din (fan_out)", [("return math.sqrt(2.0 / din)", "return math.sqrt(2.0 / dout)")]),
        ("Kaiming as a 0-d tensor", [("return math.sqrt(2.0 / din)", "return torch.sqrt(torch.tensor(2.0 / din))")]),
        ("Glorot bound without the square root", [("return math.sqrt(6.0 / (din + dout))", "return math.sqrt(6.0) / (din + dout)")]),
        ("Glorot normal std instead of the uniform bound", [("math.sqrt(6.0 / (din + dout))", "math.sqrt(2.0 / (din + dout))")]),
        ("conv fan-in without the square", [("in_channels * kernel_size ** 2", "in_channels * kernel_size")]),
    ],
    "init-diagnostics": [
        ("zero entries counted as dead units", [("(h <= 0).all(dim=0).float().mean()", "(h <= 0).float().mean()")]),
        ("dead rows instead of dead units", [(".all(dim=0)", ".all(dim=1)")]),
        ("saturation only at +1", [("(h.abs() > threshold)", "(h > threshold)")]),
        ("dead means == 0, not <= 0", [("(h <= 0).all(dim=0)", "(h == 0).all(dim=0)")]),
        ("saturation counts |h| == threshold", [("(h.abs() > threshold)", "(h.abs() >= threshold)")]),
        ("threshold ignored", [("(h.abs() > threshold)", "(h.abs() > 0.97)")]),
        ("saturated fraction as a 0-d tensor", [("(h.abs() > threshold).float().mean().item()", "(h.abs() > threshold).float().mean()")]),
        ("dead fraction as a 0-d tensor", [("(h <= 0).all(dim=0).float().mean().item()", "(h <= 0).all(dim=0).float().mean()")]),
    ],
    "init-backward": [
        ("local gradient missing", [("dz = dh * local", "dz = dh")]),
        ("tanh derivative without the square", [("1 - h ** 2 if", "1 - h if")]),
        ("input gradient skips the activation", [("dh = dz @ weights[l - 1].T", "dh = dh @ weights[l - 1].T")]),
        ("tanh applied before the product (backward's forward)", [("hs.append(f(hs[-1] @ W))", "hs.append(f(hs[-1]) @ W)")]),
        ("ReLU mask h >= 0", [("(h > 0).to(h.dtype)", "(h >= 0).to(h.dtype)")]),
        ("ReLU mask from the upstream gradient", [("(h > 0).to(h.dtype)", "(dh > 0).to(h.dtype)")]),
        ("input gradient stored before the product (dL/dh_l)",
         [("dh = dz @ weights[l - 1].T\n        input_grads[l - 1] = dh", "input_grads[l - 1] = dh\n        dh = dz @ weights[l - 1].T")]),
        ("weight gradient from the layer's output", [("hs[l - 1].T @ dz", "hs[l].T @ dz")]),
        ("computed in float32 whatever the input",
         [('    f = {"tanh"', '    x, weights, dout = x.float(), [W.float() for W in weights], dout.float()\n    f = {"tanh"')]),
    ],
}

# Correct answers in other honest styles: each keeps its points.
HONEST = {
    "init-experiment": [
        ("matmul, an int std cast, the generator seeded in two steps", '''
def run_experiment(dims, std, activation, seed=0, batch=16):
    gen = torch.Generator()
    gen.manual_seed(seed)
    x = torch.randn(batch, dims[0], generator=gen)
    outputs = []
    for l in range(1, len(dims)):
        s = std(dims[l - 1], dims[l]) if callable(std) else float(std)
        x = activation(torch.matmul(x, s * torch.randn(dims[l - 1], dims[l], generator=gen)))
        outputs.append(x)
    return outputs
'''),
    ],
    "init-rules": [
        ("numpy and power forms", '''
def xavier_std(din, dout):
    return float(din) ** -0.5


def kaiming_std(din, dout):
    return np.sqrt(2 / din)


def glorot_uniform_bound(din, dout):
    return math.sqrt(6) / math.sqrt(din + dout)


def conv_fan_in(in_channels, kernel_size):
    return kernel_size * kernel_size * in_channels
'''),
    ],
    "init-diagnostics": [
        ("counts divided by sizes; the live units' complement", '''
def saturated_fraction(h, threshold=0.97):
    return (h.abs() > threshold).sum().item() / h.numel()


def dead_fraction(h):
    alive = (h > 0).any(dim=0)
    return 1.0 - alive.double().mean().item()
'''),
        ("numpy", '''
def saturated_fraction(h, threshold=0.97):
    return float(np.mean(np.abs(h.numpy()) > threshold))


def dead_fraction(h):
    return float(np.mean(h.numpy().max(axis=0) <= 0))
'''),
    ],
    "init-backward": [
        ("pre-activations kept, torch.where, lists built backwards", '''
def backward_pass(x, weights, activation, dout):
    zs, hs = [], [x]
    for W in weights:
        zs.append(hs[-1] @ W)
        hs.append(torch.tanh(zs[-1]) if activation == "tanh" else torch.relu(zs[-1]))
    weight_grads, input_grads = [], []
    grad = dout
    for W, z, h_in in zip(reversed(weights), reversed(zs), reversed(hs[:-1])):
        if activation == "tanh":
            grad_z = grad * (1 - torch.tanh(z) ** 2)
        else:
            grad_z = torch.where(z > 0, grad, torch.zeros_like(grad))
        weight_grads.insert(0, h_in.T @ grad_z)
        grad = grad_z @ W.T
        input_grads.insert(0, grad)
    return weight_grads, input_grads
'''),
        ("a float32 mask (promoted to the input's dtype)", [("(h > 0).to(h.dtype)", "(h > 0).float()")]),
    ],
}


def test_every_mutant_changes_its_answer():
    """A replacement that matched nothing would make a mutation test vacuous."""
    assert_every_mutant_changes_its_answer(load(ASSIGNMENT), MUTANTS)


def test_mutants_cover_every_graded_exercise():
    from autograder.examples import test_points
    assert set(MUTANTS) == set(test_points(load(ASSIGNMENT)))


def _names(source, context):
    """Names read (ast.Load) or bound (ast.Store: assignments, defs, arguments) anywhere in ``source``."""
    nodes = list(ast.walk(ast.parse(source)))
    names = {n.id for n in nodes if isinstance(n, ast.Name) and isinstance(n.ctx, context)}
    if context is ast.Store:
        names |= {n.name for n in nodes if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
        names |= {n.arg for n in nodes if isinstance(n, ast.arg)}
        names |= {n.name for n in nodes if isinstance(n, ast.ExceptHandler) and n.name}
    return names


def test_test_cells_use_nothing_the_free_cells_define():
    """What the one-kernel judge relies on: every name a test cell reads comes from the imports cell,
    an answer cell, or the test cell itself, never from a free cell (plots, tables, the explorer)."""
    notebook = load(ASSIGNMENT)
    code = [c for c in notebook.cells if c.cell_type == "code"]
    free = set().union(*(_names(c.source, ast.Store) for c in code if "nbgrader" not in c.metadata))
    graded = set().union(*(_names(c.source, ast.Store) for c in code
                           if "nbgrader" in c.metadata and not c.metadata["nbgrader"]["grade"]))
    assert {"runs", "plot_runs", "explorer"} <= free
    for cell in code:
        if cell.metadata.get("nbgrader", {}).get("grade"):
            outside = _names(cell.source, ast.Load) - _names(cell.source, ast.Store) - graded
            assert not outside & free, f"{cell.metadata['nbgrader']['grade_id']} reads {outside & free}"


def _solution_namespace():
    """The imports cell and the answers of exercises 1 and 2, executed here."""
    notebook = load(ASSIGNMENT)
    namespace = {}
    imports = next(c.source for c in notebook.cells if c.metadata.get("nbgrader", {}).get("grade_id") == "init-imports")
    exec(imports, namespace)
    for test_id in ("init-experiment", "init-rules"):
        exec(answer_source(notebook, test_id), namespace)
    return namespace


@pytest.mark.notebook
def test_solution_reproduces_the_reference_figures():
    """All five rows of the notebook's own run (the session's grading-mode run of the solution: the
    6-layer, 4096-wide net seeded with SEED), within 5 % (0.005 for the smallest)."""
    ns = _solution_namespace()
    kernel = solution_kernel(ASSIGNMENT)
    assert kernel.errors == {}, kernel.errors
    assert kernel.value("DIMS") == [4096] * 7 and kernel.value("SEED") == ns["SEED"]
    runs = kernel.value("{case: [(h.std().item(), h.mean().item()) for h in layers] for case, layers in runs.items()}")
    assert set(runs) == set(ns["FIGURES"]) and set(ns["FROM_LECTURE"]) == {"tanh, std 0.01", "tanh, Xavier"}
    for case, layers in runs.items():
        stds = [std for std, _ in layers]
        assert ns["close_to_figures"](stds, case), f"{case}: {stds} vs the figures {ns['FIGURES'][case]}"
        if case not in ns["FROM_LECTURE"]:   # the notebook's own rows: its run, rounded to two decimals
            assert [round(s, 2) for s in stds] == ns["FIGURES"][case], (case, stds)
        if case == "tanh, std 0.05":
            assert all(0.845 <= s <= 0.875 for s in stds), stds  # "about 0.85 in every layer"
        if case == "relu, Kaiming":
            assert all(abs(mean - 0.56) < 0.03 for _, mean in layers)


def test_figure_tolerance_is_five_percent_or_half_the_last_decimal():
    ns = _solution_namespace()
    lecture = ns["FIGURES"]["tanh, std 0.01"]
    close = ns["close_to_figures"]
    assert close(lecture, "tanh, std 0.01")
    assert close([0.49 * 1.049] + lecture[1:], "tanh, std 0.01")
    assert not close([0.49 * 1.06] + lecture[1:], "tanh, std 0.01")
    assert close(lecture[:-1] + [0.0459], "tanh, std 0.01")     # prints as 0.05
    assert not close(lecture[:-1] + [0.044], "tanh, std 0.01")
    assert close(ns["FIGURES"]["tanh, Xavier"][:-1] + [0.293], "tanh, Xavier")   # the seeded run's last layer
