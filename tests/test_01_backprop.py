"""Notebook 1 catches the plausible wrong answers: each round plants one mistake in some of the
exercises and expects exactly those exercises' tests to fail (the others must still pass)."""
import pytest

from notebook_tools import assert_rounds_plant_each_once, execute, failed_tests, load, mutate

A = "01_backprop"

MISTAKES = {
    "swapped mul-gate gradient": ("backprop-circuit", "df_dz = q", "df_dz = z"),
    "upstream gradient dropped": ("backprop-circuit", "df_dx = df_dq * 1.0", "df_dx = 1.0"),
    "mul gate does not swap": ("backprop-gates", "return upstream * b, upstream * a", "return upstream * a, upstream * b"),
    "max routes to the smaller input": ("backprop-gates", "if a > b else", "if a < b else"),
    "sigmoid overflows for large |z|": ("backprop-sigmoid", "e = np.exp(-np.abs(z))               # never overflows\n    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))", "return 1.0 / (1.0 + np.exp(-z))"),
    "neuron dx uses x instead of w": ("backprop-sigmoid", "dx = ds * w[:2]", "dx = ds * x"),
    "mul overwrites instead of accumulating": ("backprop-value", "self.grad += other.data * out.grad", "self.grad = other.data * out.grad"),
    "intermediate gradients not reset": ("backprop-value", "            if node._prev:             # intermediate: its gradient is recomputed from scratch\n                node.grad = 0.0\n", ""),
    "tanh derivative without the square": ("backprop-value", "(1.0 - out.data ** 2)", "(1.0 - out.data)"),
    "one-sided difference": ("backprop-gradcheck", "x[i] = old - h\n        f_minus = f(x)", "f_minus = f(x)"),
    "x not restored": ("backprop-gradcheck", "        x[i] = old\n        grad[i]", "        grad[i]"),
    "sign error in the NLL gradient": ("backprop-logistic", "grad = -X.T @ (y - h)", "grad = X.T @ (y - h)"),
    "mean instead of sum": ("backprop-logistic", "loss = -np.sum(", "loss = -np.mean("),
    "sigmoid's local gradient missing": ("backprop-twolayer", "dw1 = x.T @ (dh * h * (1.0 - h))", "dw1 = x.T @ dh"),
    "dw2 transposed": ("backprop-twolayer", "dw2 = h.T @ dy_pred", "dw2 = dy_pred.T @ h"),
}

# Each round plants mistakes in distinct exercises, so one execution checks several at once.
ROUNDS = [
    ["swapped mul-gate gradient", "sigmoid overflows for large |z|", "one-sided difference", "sigmoid's local gradient missing"],
    ["mul gate does not swap", "mul overwrites instead of accumulating", "sign error in the NLL gradient"],
    ["upstream gradient dropped", "intermediate gradients not reset", "mean instead of sum", "x not restored"],
    ["max routes to the smaller input", "neuron dx uses x instead of w", "tanh derivative without the square", "dw2 transposed"],
]


def test_every_mistake_is_planted_once():
    assert_rounds_plant_each_once(MISTAKES, ROUNDS)


@pytest.mark.notebook
@pytest.mark.parametrize("mistakes", ROUNDS, ids=["+".join(MISTAKES[m][0].split("-")[1] for m in r) for r in ROUNDS])
def test_wrong_answers_lose_exactly_their_points(mistakes):
    notebook = load(A)
    for mistake in mistakes:
        notebook = mutate(notebook, *MISTAKES[mistake])
    executed, _ = execute(notebook, A)
    assert failed_tests(executed) == {MISTAKES[m][0] for m in mistakes}


# Exercise 8 (softmax cross-entropy, issue 17): each mistake alone, in the graded cells only (the plots feed
# no test), and an honest answer in another style that must keep its points.
SOFTMAX = "backprop-softmax"
SOFTMAX_MISTAKES = {
    "exp overflows (no max subtracted)": [("shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores")],
    "log of the softmax (log 0 where p underflows)":
        [("log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
          "log_probs = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))")],
    "gradient not divided by N": [("return float(loss), dscores / n", "return float(loss), dscores")],
    "summed loss instead of the mean": [("loss = -log_probs[rows, y].mean()", "loss = -log_probs[rows, y].sum()")],
    "softmax over the batch axis": [("scores.max(axis=1, keepdims=True)", "scores.max(axis=0, keepdims=True)"),
                                    ("np.exp(shifted).sum(axis=1, keepdims=True)", "np.exp(shifted).sum(axis=0, keepdims=True)")],
    "one-hot not subtracted": [("    dscores[rows, y] -= 1.0", "    pass")],
}
SOFTMAX_HONEST = '''
def softmax_cross_entropy(scores, y):
    s = np.array(scores, dtype=float)
    n, c = s.shape
    log_norm = np.logaddexp.reduce(s, axis=1)               # log-sum-exp, stable
    one_hot = np.eye(c)[y]
    loss = np.mean(log_norm - np.sum(one_hot * s, axis=1))
    probabilities = np.exp(s - log_norm[:, None])
    return loss.item(), (probabilities - one_hot) / n
'''


def _graded_part(notebook):
    notebook.cells = [cell for cell in notebook.cells if "nbgrader" in cell.metadata]
    return notebook


@pytest.mark.notebook
@pytest.mark.parametrize("mistake", list(SOFTMAX_MISTAKES))
def test_softmax_mistake_fails_only_its_exercise(mistake):
    from notebook_tools import errors, plant
    notebook = plant(_graded_part(load(A)), SOFTMAX, SOFTMAX_MISTAKES[mistake])
    executed, _ = execute(notebook, A)
    assert failed_tests(executed) == {SOFTMAX}, errors(executed)


@pytest.mark.notebook
def test_softmax_honest_answer_keeps_its_points():
    from notebook_tools import errors, replace_answer
    executed, _ = execute(replace_answer(_graded_part(load(A)), SOFTMAX, SOFTMAX_HONEST.strip("\n")), A)
    assert failed_tests(executed) == set(), errors(executed)


def test_softmax_mistakes_change_the_answer():
    from notebook_tools import answer_source, plant
    notebook = load(A)
    for mistake, replacements in SOFTMAX_MISTAKES.items():
        assert answer_source(plant(notebook, SOFTMAX, replacements), SOFTMAX) != answer_source(notebook, SOFTMAX), mistake
