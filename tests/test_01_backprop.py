"""Mutation tests for notebook 01: each plausible wrong answer costs exactly the points of its own
exercise, and each correct answer in another honest style keeps them.

All of them are judged in one kernel (tests/mutants.py), which also measures how many of the wrong
answers the visible checks already catch.
"""
import pytest

from mutants import (test_each_honest_alternative_keeps_its_points,  # noqa: F401 (run here, on this
                     test_each_wrong_answer_fails_only_its_own_exercise,  # module's MUTANTS and HONEST)
                     test_visible_checks_catch_most_wrong_answers, verdicts)
from notebook_tools import assert_every_mutant_changes_its_answer, load

ASSIGNMENT = "01_backprop"

# The engine's backward() as the solution writes it: a recursive topological sort, then one pass.
TOPO_SORT = """        order, seen = [], set()

        def visit(node):
            if node not in seen:
                seen.add(node)
                for parent in node._prev:
                    visit(parent)
                order.append(node)

        visit(self)
"""
PROPAGATE = """        for node in reversed(order):
            node._backward()
"""
STABLE_SIGMOID = """    z = np.asarray(z, dtype=np.float64)
    e = np.exp(-np.abs(z))               # never overflows
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))"""
PERTURB_IN_PLACE = """        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
"""
VALUE_SIGMOID = """        e = math.exp(-abs(self.data))  # stable for any sign, like exercise 3
        out = Value(1.0 / (1.0 + e) if self.data >= 0 else e / (1.0 + e), (self,), "σ")"""

# test id -> [(what the student got wrong, [(old, new), ...] replacements in the answer cell, or a whole cell)]
MUTANTS = {
    "backprop-circuit": [
        ("swapped mul-gate gradient", [("df_dz = q", "df_dz = z")]),
        ("upstream gradient dropped", [("df_dx = df_dq * 1.0", "df_dx = 1.0")]),
        ("df/dq taken as the add gate's 1", [("df_dq = z ", "df_dq = 1.0 ")]),
        ("precedence: f = x + y * z", [("f = q * z", "f = x + y * z")]),
    ],
    "backprop-gates": [
        ("mul gate does not swap", [("return upstream * b, upstream * a", "return upstream * a, upstream * b")]),
        ("max routes to the smaller input", [("if a > b else", "if a < b else")]),
        ("mul gate drops the upstream gradient", [("return upstream * b, upstream * a", "return b, a")]),
        ("an unknown gate gives zeros instead of ValueError",
         [("raise ValueError(f\"unknown gate {gate!r}; expected 'add', 'mul' or 'max'\")", "return 0.0, 0.0")]),
    ],
    "backprop-sigmoid": [
        ("sigmoid overflows for large |z|", [(STABLE_SIGMOID, "    return 1.0 / (1.0 + np.exp(-z))")]),
        ("neuron dx uses x instead of w", [("dx = ds * w[:2]", "dx = ds * x")]),
        ("exp(z) / (1 + exp(z)): nan and a warning for large z", [(STABLE_SIGMOID, "    return np.exp(z) / (1.0 + np.exp(z))")]),
        ("np.where of both formulas: both are evaluated, and overflow",
         [(STABLE_SIGMOID, "    return np.where(z >= 0, 1.0 / (1.0 + np.exp(-z)), np.exp(z) / (1.0 + np.exp(z)))")]),
        ("boolean masks: crashes on a Python float",
         [(STABLE_SIGMOID, """    out = np.empty_like(z, dtype=np.float64)
    pos = z >= 0
    out[pos] = 1.0 / (1.0 + np.exp(-z[pos]))
    out[~pos] = np.exp(z[~pos]) / (1.0 + np.exp(z[~pos]))
    return out""")]),
        ("the bias's input taken as 0", [("np.array([x[0], x[1], 1.0])", "np.array([x[0], x[1], 0.0])")]),
        ("local gradient sigma instead of sigma (1 - sigma)", [("ds = f * (1.0 - f)", "ds = f")]),
    ],
    "backprop-value": [
        ("mul overwrites instead of accumulating", [("self.grad += other.data * out.grad", "self.grad = other.data * out.grad")]),
        ("intermediate gradients not reset",
         [("        for node in order:\n"
           "            if node._prev:             # intermediate: its gradient is recomputed from scratch\n"
           "                node.grad = 0.0\n", "")]),
        ("tanh derivative without the square", [("(1.0 - out.data ** 2)", "(1.0 - out.data)")]),
        ("breadth-first order",
         [(PROPAGATE, """        queue, reached = [self], {self}
        while queue:
            node = queue.pop(0)
            node._backward()
            for parent in node._prev:
                if parent not in reached:
                    reached.add(parent)
                    queue.append(parent)
""")]),
        ("depth-first, propagating when a node is first reached",
         [(PROPAGATE, """        reached = {self}

        def propagate(node):
            node._backward()
            for parent in node._prev:
                if parent not in reached:
                    reached.add(parent)
                    propagate(parent)

        propagate(self)
""")]),
        ("relu's gradient 1 at 0", [("(1.0 if self.data > 0 else 0.0)", "(1.0 if self.data >= 0 else 0.0)")]),
        ("topological order not reversed", [(PROPAGATE, "        for node in order:\n            node._backward()\n")]),
        ("depth-first along every path, no visited set",
         [(PROPAGATE, """        def propagate(node):
            node._backward()
            for parent in node._prev:
                propagate(parent)

        propagate(self)
""")]),
        ("leaves reset too", [("            if node._prev:             # intermediate: its gradient is recomputed from scratch\n"
                               "                node.grad = 0.0\n", "            node.grad = 0.0\n")]),
        ("power rule without the exponent factor",
         [("exponent * self.data ** (exponent - 1) * out.grad", "self.data ** (exponent - 1) * out.grad")]),
        ("exp's gradient uses the input", [("self.grad += out.data * out.grad", "self.grad += self.data * out.grad")]),
        ("sigmoid overflows (OverflowError) for large negative data",
         [(VALUE_SIGMOID, '        out = Value(1.0 / (1.0 + math.exp(-self.data)), (self,), "σ")')]),
    ],
    "backprop-gradcheck": [
        ("one-sided difference", [("x[i] = old - h\n        f_minus = f(x)", "f_minus = f(x)")]),
        ("one-sided difference from f(x) computed once",
         [("    for i in np.ndindex(x.shape):\n", "    f_x = f(x)\n    for i in np.ndindex(x.shape):\n"),
          ("        x[i] = old - h\n        f_minus = f(x)\n", ""),
          ("grad[i] = (f_plus - f_minus) / (2 * h)", "grad[i] = (f_plus - f_x) / h")]),
        ("x not restored", [("        x[i] = old\n        grad[i]", "        grad[i]")]),
        ("perturbs a copy of x",
         [(PERTURB_IN_PLACE, """        x_plus, x_minus = x.copy(), x.copy()
        x_plus[i] += h
        x_minus[i] -= h
        f_plus = f(x_plus)
        f_minus = f(x_minus)
""")]),
        ("perturbs x.reshape(-1), a copy when x is a view", [
            ("    grad = np.zeros_like(x, dtype=np.float64)\n    for i in np.ndindex(x.shape):\n" + PERTURB_IN_PLACE
             + "        grad[i] = (f_plus - f_minus) / (2 * h)\n    return grad",
             """    flat, grad = x.reshape(-1), np.zeros(x.size)
    for i in range(x.size):
        old = flat[i]
        flat[i] = old + h
        f_plus = f(x)
        flat[i] = old - h
        f_minus = f(x)
        flat[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad.reshape(x.shape)""")]),
        ("ignores the h it is given",
         [("x[i] = old + h", "x[i] = old + 1e-5"), ("x[i] = old - h", "x[i] = old - 1e-5"), ("(2 * h)", "(2 * 1e-5)")]),
        ("rel_error without the 1e-8 floor", [("np.maximum(np.abs(a) + np.abs(b), 1e-8)", "(np.abs(a) + np.abs(b))")]),
        ("rel_error: the mean, not the maximum", [("np.max(np.abs(a - b)", "np.mean(np.abs(a - b)")]),
        ("rel_error: 1e-8 added, not a floor", [("np.maximum(np.abs(a) + np.abs(b), 1e-8)", "(np.abs(a) + np.abs(b) + 1e-8)")]),
    ],
    "backprop-logistic": [
        ("sign error in the NLL gradient", [("grad = -X.T @ (y - h)", "grad = X.T @ (y - h)")]),
        ("mean instead of sum", [("loss = -np.sum(", "loss = -np.mean(")]),
        ("sign error in the NLL", [("loss = -np.sum(", "loss = np.sum(")]),
        ("gradient of the mean", [("grad = -X.T @ (y - h)", "grad = -X.T @ (y - h) / len(y)")]),
        ("the (1 - y) term dropped", [("y * np.log(h + eps) + (1 - y) * np.log(1 - h + eps)", "y * np.log(h + eps)")]),
        ("a Python loop over the examples (zip)", '''
def logistic_nll(theta, X, y):
    loss, grad = 0.0, np.zeros_like(theta)
    for x_i, y_i in zip(X, y):
        h = 1.0 / (1.0 + np.exp(-(x_i @ theta)))
        loss -= y_i * np.log(h + 1e-12) + (1 - y_i) * np.log(1 - h + 1e-12)
        grad -= (y_i - h) * x_i
    return float(loss), grad
'''),
        ("a Python loop over the examples (indices)", '''
def logistic_nll(theta, X, y):
    loss, grad = 0.0, np.zeros(X.shape[1])
    for i in range(X.shape[0]):
        h = 1.0 / (1.0 + np.exp(-np.dot(X[i], theta)))
        loss += -(y[i] * np.log(h) + (1 - y[i]) * np.log(1 - h))
        grad += (h - y[i]) * X[i]
    return float(loss), grad
'''),
    ],
    "backprop-twolayer": [
        ("sigmoid's local gradient missing", [("dw1 = x.T @ (dh * h * (1.0 - h))", "dw1 = x.T @ dh")]),
        ("dw2 transposed", [("dw2 = h.T @ dy_pred", "dw2 = dy_pred.T @ h")]),
        ("the square's factor 2 missing", [("dy_pred = 2.0 * (y_pred - y)", "dy_pred = y_pred - y")]),
        ("mean squared error instead of the sum", [("loss = float(np.sum(", "loss = float(np.mean(")]),
        ("w2 not transposed on the way down", [("dh = dy_pred @ w2.T", "dh = dy_pred @ w2")]),
    ],
    "backprop-softmax": [
        ("exp overflows (no max subtracted)", [("shifted = scores - scores.max(axis=1, keepdims=True)", "shifted = scores")]),
        ("log of the softmax (log 0 where p underflows)",
         [("log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))",
           "log_probs = np.log(np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True))")]),
        ("gradient not divided by N", [("return float(loss), dscores / n", "return float(loss), dscores")]),
        ("summed loss instead of the mean", [("loss = -log_probs[rows, y].mean()", "loss = -log_probs[rows, y].sum()")]),
        ("softmax over the batch axis", [("scores.max(axis=1, keepdims=True)", "scores.max(axis=0, keepdims=True)"),
                                         ("np.exp(shifted).sum(axis=1, keepdims=True)", "np.exp(shifted).sum(axis=0, keepdims=True)")]),
        ("one-hot not subtracted", [("    dscores[rows, y] -= 1.0", "    pass")]),
        ("scores shifted in place", [("shifted = scores - scores.max(axis=1, keepdims=True)",
                                      "scores -= scores.max(axis=1, keepdims=True)\n    shifted = scores")]),
    ],
}

# Correct answers in other honest styles: each keeps its points.
HONEST = {
    "backprop-circuit": [
        ("one dict expression", '''
def circuit(x, y, z):
    return dict(q=x + y, f=(x + y) * z, df_dq=z, df_dx=z, df_dy=z, df_dz=x + y)
'''),
    ],
    "backprop-gates": [
        ("a table of rules, max by comparison arithmetic", '''
def gate_backward(gate, a, b, upstream):
    rules = {"add": lambda: (upstream, upstream), "mul": lambda: (upstream * b, upstream * a),
             "max": lambda: (upstream * (a > b), upstream * (b > a))}
    if gate not in rules:
        raise ValueError(f"unknown gate {gate}")
    return rules[gate]()
'''),
    ],
    "backprop-sigmoid": [
        ("clip z to +-500 (7e-218 at -1000)", [(STABLE_SIGMOID, "    return 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))")]),
        ("0.5 (1 + tanh(z / 2))", [(STABLE_SIGMOID, "    return 0.5 * (1.0 + np.tanh(0.5 * np.asarray(z, dtype=float)))")]),
        ("exp(-logaddexp(0, -z)), the neuron as one dot product",
         [(STABLE_SIGMOID, "    return np.exp(-np.logaddexp(0.0, -np.asarray(z, dtype=float)))"),
          ("    s = w[0] * x[0] + w[1] * x[1] + w[2]\n", "    inputs = np.append(x, 1.0)\n    s = w @ inputs\n"),
          ("dw = ds * np.array([x[0], x[1], 1.0])", "dw = ds * inputs")]),
    ],
    "backprop-value": [
        ("iterative topological sort (explicit stack)",
         [(TOPO_SORT, """        order, seen, stack = [], set(), [(self, False)]
        while stack:
            node, finished = stack.pop()
            if finished:
                order.append(node)
            elif node not in seen:
                seen.add(node)
                stack.append((node, True))
                stack.extend((parent, False) for parent in node._prev)
""")]),
        ("Kahn's algorithm: a node runs once all its users have",
         [(TOPO_SORT, """        users, order, stack = {self: 0}, [self], [self]
        while stack:
            node = stack.pop()
            for parent in node._prev:
                if parent not in users:
                    users[parent] = 0
                    order.append(parent)
                    stack.append(parent)
                users[parent] += 1
"""), (PROPAGATE, """        ready = [self]
        while ready:
            node = ready.pop()
            node._backward()
            for parent in node._prev:
                users[parent] -= 1
                if users[parent] == 0:
                    ready.append(parent)
""")]),
        ("relu by comparison arithmetic, sigmoid by tanh, division written out",
         [("max(self.data, 0.0)", "self.data * (self.data > 0)"),
          ("(1.0 if self.data > 0 else 0.0)", "float(self.data > 0)"),
          (VALUE_SIGMOID, '        out = Value(0.5 * (1.0 + math.tanh(0.5 * self.data)), (self,), "σ")'),
          ("        return self * Value.lift(other) ** -1\n", """        other = Value.lift(other)
        out = Value(self.data / other.data, (self, other), "÷")

        def _backward():
            self.grad += out.grad / other.data
            other.grad -= self.data / other.data ** 2 * out.grad

        out._backward = _backward
        return out
""")]),
    ],
    "backprop-gradcheck": [
        ("x.flat, += h then -= 2h then += h; rel_error by np.where", '''
def centred_difference(f, x, h=1e-5):
    grad = np.empty(x.shape)
    for i in range(x.size):
        x.flat[i] += h
        f_plus = f(x)
        x.flat[i] -= 2 * h
        f_minus = f(x)
        x.flat[i] += h
        grad.flat[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    total = np.abs(a) + np.abs(b)
    return float((np.abs(a - b) / np.where(total > 1e-8, total, 1e-8)).max())
'''),
        ("np.nditer writing through; rel_error by a Python loop", '''
def centred_difference(f, x, h=1e-5):
    grad = np.zeros(x.shape)
    with np.nditer(x, flags=["multi_index"], op_flags=["readwrite"]) as elements:
        for element in elements:
            i, old = elements.multi_index, float(element)
            element[...] = old + h
            f_plus = float(f(x))
            element[...] = old - h
            f_minus = float(f(x))
            element[...] = old
            grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a, b):
    pairs = zip(np.ravel(a), np.ravel(b))
    return float(max(abs(p - q) / max(abs(p) + abs(q), 1e-8) for p, q in pairs))
'''),
    ],
    "backprop-logistic": [
        ("np.logaddexp, .item()", '''
def logistic_nll(theta, X, y):
    z = X @ theta
    loss = np.sum(np.logaddexp(0.0, z) - y * z)      # -[y log h + (1 - y) log(1 - h)], stable
    h = 1 / (1 + np.exp(-z))
    return loss.item(), X.T @ (h - y)
'''),
        ("einsum and masks, h clipped", '''
def logistic_nll(theta, X, y):
    h = np.clip(1 / (1 + np.exp(-np.einsum("nd,d->n", X, theta))), 1e-12, 1 - 1e-12)
    loss = -(np.log(h[y == 1]).sum() + np.log(1 - h[y == 0]).sum())
    return float(loss), np.einsum("nd,n->d", X, h - y)
'''),
    ],
    "backprop-twolayer": [
        ("np.dot and einsum, residual first", '''
def two_layer_loss_and_grads(x, y, w1, w2):
    h = 1.0 / (1.0 + np.exp(-np.dot(x, w1)))
    residual = np.dot(h, w2) - y
    dpre = np.dot(2.0 * residual, w2.T) * h * (1.0 - h)
    return np.sum(residual ** 2).item(), np.einsum("ni,nh->ih", x, dpre), np.einsum("nh,no->ho", h, 2.0 * residual)
'''),
    ],
    "backprop-softmax": [
        ("np.logaddexp.reduce and a one-hot matrix", '''
def softmax_cross_entropy(scores, y):
    s = np.array(scores, dtype=float)
    n, c = s.shape
    log_norm = np.logaddexp.reduce(s, axis=1)               # log-sum-exp, stable
    one_hot = np.eye(c)[y]
    loss = np.mean(log_norm - np.sum(one_hot * s, axis=1))
    probabilities = np.exp(s - log_norm[:, None])
    return loss.item(), (probabilities - one_hot) / n
'''),
        ("take_along_axis", '''
def softmax_cross_entropy(scores, y):
    m = np.max(scores, axis=1, keepdims=True)
    log_p = scores - (m + np.log(np.sum(np.exp(scores - m), axis=1, keepdims=True)))
    picked = np.asarray(y)[:, None]
    grad = np.exp(log_p)
    np.put_along_axis(grad, picked, np.take_along_axis(grad, picked, axis=1) - 1.0, axis=1)
    return float(-np.mean(np.take_along_axis(log_p, picked, axis=1))), grad / len(y)
'''),
        ("a loop over the examples (only the results are graded)", '''
def softmax_cross_entropy(scores, y):
    n = len(scores)
    loss, dscores = 0.0, np.zeros(np.shape(scores))
    for i in range(n):
        row = scores[i] - np.max(scores[i])
        log_p = row - np.log(np.sum(np.exp(row)))
        loss -= log_p[y[i]] / n
        dscores[i] = np.exp(log_p) / n
        dscores[i, y[i]] -= 1.0 / n
    return float(loss), dscores
'''),
    ],
}


def test_every_mutant_changes_its_answer():
    """A replacement that matched nothing would make a mutation test vacuous."""
    assert_every_mutant_changes_its_answer(load(ASSIGNMENT), {t: [m for m in ms if not isinstance(m[1], str)]
                                                              for t, ms in MUTANTS.items()})


def test_mutants_cover_every_graded_exercise():
    from autograder.examples import test_points
    assert set(MUTANTS) == set(test_points(load(ASSIGNMENT))) == set(HONEST)


def test_every_planted_answer_compiles():
    """A planted cell with a syntax error would leave the solution's definitions in the kernel and pass."""
    import ast
    from mutants import planted
    from notebook_tools import answer_source
    notebook = load(ASSIGNMENT)
    for table in (MUTANTS, HONEST):
        for test_id, options in table.items():
            for label, answer in options:
                ast.parse(planted(answer_source(notebook, test_id), answer), filename=f"{test_id}: {label}")
