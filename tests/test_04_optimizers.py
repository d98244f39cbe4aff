"""Mutation tests for notebook 04: each plausible wrong answer from the issue must cost exactly
the points of its own exercise.

All of them are judged in one kernel (tests/mutants.py), which also measures how many of them the
visible checks catch.
"""
import pytest

from mutants import (test_each_honest_alternative_keeps_its_points,  # noqa: F401 (run here, on this
                     test_each_wrong_answer_fails_only_its_own_exercise,  # module's MUTANTS and HONEST)
                     test_visible_checks_catch_most_wrong_answers, verdicts)
from notebook_tools import assert_every_mutant_changes_its_answer, load

ASSIGNMENT = "04_optimizers"

# test id -> [(what the student got wrong, [(old, new), ...] replacements in the answer cell)]
MUTANTS = {
    "optim-sgd": [
        ("steps uphill", [("return x - self.lr", "return x + self.lr")]),
        ("condition number from the diagonal", [("np.linalg.eigvalsh(H)", "np.sort(np.diag(H))")]),
        ("step modifies x in place", [("return x - self.lr * grad_fn(x)", "x -= self.lr * grad_fn(x)\n        return x")]),
        ("condition number upside down", [("eigenvalues[-1] / eigenvalues[0]", "eigenvalues[0] / eigenvalues[-1]")]),
        ("condition number as a 1-element array",
         [("float(eigenvalues[-1] / eigenvalues[0])", "eigenvalues[-1:] / eigenvalues[:1]")]),
    ],
    "optim-momentum": [
        ("momentum sign", [("self.rho * self.v + g", "self.rho * self.v - g")]),
        ("(1 - rho) form", [("self.rho * self.v + g", "self.rho * self.v + (1 - self.rho) * g")]),
        ("CS231n form: v = rho v - lr g, x += v",
         [("self.v = self.rho * self.v + g\n        return x - self.lr * self.v",
           "self.v = self.rho * self.v - self.lr * g\n        return x + self.v")]),
        ("step modifies x in place", [("return x - self.lr * self.v", "x -= self.lr * self.v\n        return x")]),
        ("velocity reset every step", [("        if self.v is None:\n            self.v = np.zeros_like(x)\n",
                                        "        self.v = np.zeros_like(x)\n")]),
    ],
    "optim-nesterov": [
        ("gradient at x, not at the look-ahead point", [("grad_fn(x - self.lr * self.rho * self.v)", "grad_fn(x)")]),
        ("look-ahead in the wrong direction",
         [("grad_fn(x - self.lr * self.rho * self.v)", "grad_fn(x + self.lr * self.rho * self.v)")]),
        ("look-ahead without the learning rate",
         [("grad_fn(x - self.lr * self.rho * self.v)", "grad_fn(x - self.rho * self.v)")]),
        ("step modifies x in place", [("return x - self.lr * self.v", "x -= self.lr * self.v\n        return x")]),
    ],
    "optim-adagrad": [
        ("no accumulation", [("self.grad_squared = self.grad_squared + g * g", "self.grad_squared = g * g")]),
        ("eps inside the square root", [("np.sqrt(self.grad_squared) + self.eps", "np.sqrt(self.grad_squared + self.eps)")]),
        ("ignores self.eps", [("np.sqrt(self.grad_squared) + self.eps", "np.sqrt(self.grad_squared) + 1e-7")]),
        ("step modifies x in place", [("return x - self.lr * g / (np.sqrt(self.grad_squared) + self.eps)",
                                       "x -= self.lr * g / (np.sqrt(self.grad_squared) + self.eps)\n        return x")]),
    ],
    "optim-rmsprop": [
        ("the slide's += bug", [("self.grad_squared = self.decay_rate", "self.grad_squared += self.decay_rate")]),
        ("eps inside the square root", [("np.sqrt(self.grad_squared) + self.eps", "np.sqrt(self.grad_squared + self.eps)")]),
        ("decay weights swapped",
         [("self.decay_rate * self.grad_squared + (1 - self.decay_rate) * g * g",
           "(1 - self.decay_rate) * self.grad_squared + self.decay_rate * g * g")]),
        ("ignores self.eps", [("np.sqrt(self.grad_squared) + self.eps", "np.sqrt(self.grad_squared) + 1e-7")]),
        ("ignores self.decay_rate", [("self.decay_rate * self.grad_squared + (1 - self.decay_rate) * g * g",
                                      "0.99 * self.grad_squared + 0.01 * g * g")]),
    ],
    "optim-adam": [
        ("no bias correction",
         [("m_hat = self.m / (1 - self.beta1 ** self.t)", "m_hat = self.m"),
          ("v_hat = self.v / (1 - self.beta2 ** self.t)", "v_hat = self.v")]),
        ("t counted from 2 (off by one)", [("** self.t)", "** (self.t + 1))")]),
        ("t never incremented", [("self.t += 1", "self.t = 1")]),
        ("eps inside the square root", [("np.sqrt(v_hat) + self.eps", "np.sqrt(v_hat + self.eps)")]),
        ("bias correction of m only", [("v_hat = self.v / (1 - self.beta2 ** self.t)", "v_hat = self.v")]),
        ("ignores self.eps", [("np.sqrt(v_hat) + self.eps", "np.sqrt(v_hat) + 1e-7")]),
        ("betas swapped in the moments",
         [("self.beta1 * self.m + (1 - self.beta1) * g", "self.beta2 * self.m + (1 - self.beta2) * g"),
          ("self.beta2 * self.v + (1 - self.beta2) * g * g", "self.beta1 * self.v + (1 - self.beta1) * g * g")]),
    ],
    "optim-bugs": [
        ("growth factor = decay rate", [("rmsprop_bug_growth = 1 + 0.99", "rmsprop_bug_growth = 0.99")]),
        ("ratio upside down", [("adam_first_step_ratio = (1 - 0.9) / math.sqrt(1 - 0.999)",
                                "adam_first_step_ratio = math.sqrt(1 - 0.999) / (1 - 0.9)")]),
        ("growth factor 1 + (1 - beta)", [("rmsprop_bug_growth = 1 + 0.99", "rmsprop_bug_growth = 1 + 0.01")]),
        ("ratio without the square root", [("(1 - 0.9) / math.sqrt(1 - 0.999)", "(1 - 0.9) / (1 - 0.999)")]),
    ],
    "optim-rates": [
        ("rate = rho instead of sqrt(rho)",
         [("return (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)",
           "return ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2")]),
        ("alpha from kappa alone", [("alpha = 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2",
                                     "alpha = 4.0 / (math.sqrt(L / mu) + 1) ** 2")]),
        ("gradient descent's best step for alpha", [("alpha = 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2",
                                                     "alpha = 2.0 / (L + mu)")]),
        ("rho not squared", [("rho = ((math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)) ** 2",
                              "rho = (math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)")]),
        ("gd_rate without the + 1", [("return (kappa - 1) / (kappa + 1)", "return (kappa - 1) / kappa")]),
    ],
    "optim-minibatch": [
        ("summed instead of averaged gradient", [("X[batch].T @ residual / len(batch)", "X[batch].T @ residual")]),
        ("divides by batch_size for a short last batch", [("/ len(batch)", "/ batch_size")]),
        ("never shuffles", [("order = rng.permutation(m)", "order = np.arange(m)")]),
        ("cost recorded after the step",
         [("            costs.append(0.5 * np.mean(residual ** 2))\n", ""),
          ("/ len(batch)\n", "/ len(batch)\n            costs.append(0.5 * np.mean((X[batch] @ theta - y[batch]) ** 2))\n")]),
        ("the start modified in place", [("theta = np.array(theta, dtype=np.float64)", "theta = np.asarray(theta, dtype=np.float64)"),
                                         ("theta = theta - alpha *", "theta -= alpha *")]),
        ("running mean divides by k at the start", [("/ (i - start)", "/ k")]),
    ],
    "optim-quiz1": [("B missing", [('{"A", "B", "D"}', '{"A", "D"}')]),
                    ("all four", [('{"A", "B", "D"}', '{"A", "B", "C", "D"}')]),
                    ("a list, not a set", [('{"A", "B", "D"}', '["A", "B", "D"]')]),
                    ("lower-case letters", [('{"A", "B", "D"}', '{"a", "b", "d"}')])],
    "optim-quiz2": [("B = m/2", [('{"C"}', '{"B"}')]),
                    ("a string, not a set", [('{"C"}', '"C"')]),
                    ("the statement, not its letter", [('{"C"}', '{"B = m"}')])],
    "optim-quiz3": [("C added", [('{"B", "D"}', '{"B", "C", "D"}')]),
                    ("one string of letters", [('{"B", "D"}', '"BD"')]),
                    ("a dict of verdicts", [('{"B", "D"}', '{"A": False, "B": True, "C": False, "D": True}')])],
    "optim-schedules": [
        ("cosine off by one step", [("math.cos(t * math.pi / T)", "math.cos((t + 1) * math.pi / T)")]),
        ("step drops one epoch late", [("if milestone <= t", "if milestone < t")]),
        ("warm-up starts at alpha0 / W", [("min(1.0, t / warmup)", "min(1.0, (t + 1) / warmup)")]),
        ("inverse square root of t + 1", [("alpha0 / math.sqrt(t)", "alpha0 / math.sqrt(t + 1)")]),
        ("linear schedule reaches zero a step early", [("alpha0 * (1 - t / T)", "alpha0 * (1 - (t + 1) / T)")]),
    ],
}

MINIBATCH_WITH_CEIL = '''
def minibatch_gd(X, y, theta, alpha, batch_size, epochs, rng):
    theta = theta.astype(float)                        # astype copies: the start is left alone
    costs = []
    for _ in range(epochs):
        order = rng.permutation(len(y))
        for k in range(math.ceil(len(y) / batch_size)):
            batch = order[k * batch_size:(k + 1) * batch_size]
            error = X[batch] @ theta - y[batch]
            costs.append(error @ error / (2 * len(batch)))
            theta -= alpha * np.mean(error[:, None] * X[batch], axis=0)
    return theta, np.array(costs)


def running_mean(values, k):
    return np.array([np.mean(values[max(0, i - k + 1):i + 1]) for i in range(len(values))])
'''

ADAM_STATE = ("        self.m = self.beta1 * self.m + (1 - self.beta1) * g\n"
              "        self.v = self.beta2 * self.v + (1 - self.beta2) * g * g\n"
              "        m_hat = self.m / (1 - self.beta1 ** self.t)\n"
              "        v_hat = self.v / (1 - self.beta2 ** self.t)\n"
              "        return x - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)")
ADAM_AS_PYTORCH = ("        self.m *= self.beta1\n"
                   "        self.m += (1 - self.beta1) * g\n"
                   "        self.v *= self.beta2\n"
                   "        self.v += (1 - self.beta2) * g ** 2\n"
                   "        step_size = self.lr / (1 - self.beta1 ** self.t)\n"
                   "        denominator = np.sqrt(self.v) / math.sqrt(1 - self.beta2 ** self.t) + self.eps\n"
                   "        return x - step_size * self.m / denominator")

# Correct answers in other honest styles: each keeps its points.
HONEST = {
    "optim-sgd": [
        ("+= on a new array; np.linalg.cond",
         [("return x - self.lr * grad_fn(x)", "x_new = x.copy()\n        x_new -= self.lr * grad_fn(x)\n        return x_new"),
          ("eigenvalues = np.linalg.eigvalsh(H)\n    return float(eigenvalues[-1] / eigenvalues[0])", "return np.linalg.cond(H)")]),
        ("np.subtract; singular values",
         [("return x - self.lr * grad_fn(x)", "return np.subtract(x, self.lr * grad_fn(x))"),
          ("eigenvalues = np.linalg.eigvalsh(H)\n    return float(eigenvalues[-1] / eigenvalues[0])",
           "s = np.linalg.svd(H, compute_uv=False)\n    return s.max() / s.min()")]),
    ],
    "optim-momentum": [
        ("velocity updated in place", [("self.v = self.rho * self.v + g", "self.v *= self.rho\n        self.v += g")]),
        ("PyTorch's first buffer, v = g",
         [("        if self.v is None:\n            self.v = np.zeros_like(x)\n        g = grad_fn(x)\n"
           "        self.v = self.rho * self.v + g\n",
           "        g = grad_fn(x)\n        self.v = g.copy() if self.v is None else self.rho * self.v + g\n")]),
    ],
    "optim-nesterov": [
        ("the step taken from the look-ahead point",
         [("        g = grad_fn(x - self.lr * self.rho * self.v)\n        self.v = self.rho * self.v + g\n"
           "        return x - self.lr * self.v",
           "        lookahead = x - self.lr * self.rho * self.v\n        g = grad_fn(lookahead)\n"
           "        self.v = self.rho * self.v + g\n        return lookahead - self.lr * g")]),
    ],
    "optim-adagrad": [
        ("+= on its own state, np.square",
         [("self.grad_squared = self.grad_squared + g * g", "self.grad_squared += np.square(g)")]),
    ],
    "optim-rmsprop": [
        ("the average moved toward g^2 in place",
         [("self.grad_squared = self.decay_rate * self.grad_squared + (1 - self.decay_rate) * g * g",
           "self.grad_squared += (1 - self.decay_rate) * (g ** 2 - self.grad_squared)")]),
    ],
    "optim-adam": [("PyTorch's arrangement of the bias corrections, in place", [(ADAM_STATE, ADAM_AS_PYTORCH)])],
    "optim-bugs": [
        ("rounded literals", [("rmsprop_bug_growth = 1 + 0.99", "rmsprop_bug_growth = 1.99"),
                              ("adam_first_step_ratio = (1 - 0.9) / math.sqrt(1 - 0.999)", "adam_first_step_ratio = 3.16")]),
        ("numpy floats", [("adam_first_step_ratio = (1 - 0.9) / math.sqrt(1 - 0.999)",
                           "adam_first_step_ratio = np.float64(0.1) / np.sqrt(0.001)")]),
    ],
    "optim-rates": [
        ("other closed forms, with numpy",
         [("return (kappa - 1) / (kappa + 1)", "return 1 - 2 / (kappa + 1)"),
          ("alpha = 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2", "alpha = 4 / (L + mu + 2 * np.sqrt(L * mu))"),
          ("rho = ((math.sqrt(L / mu) - 1) / (math.sqrt(L / mu) + 1)) ** 2", "rho = momentum_rate(L / mu) ** 2"),
          ("return (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)", "return 1 - 2 / (np.sqrt(kappa) + 1)")]),
    ],
    "optim-minibatch": [("batches counted with ceil, += on a copy; running mean by a loop", MINIBATCH_WITH_CEIL.strip("\n"))],
    "optim-quiz1": [("a frozenset", [('{"A", "B", "D"}', 'frozenset("ABD")')])],
    "optim-quiz2": [("set() of a string", [('{"C"}', 'set("C")')])],
    "optim-quiz3": [("a set built from a list", [('{"B", "D"}', 'set(["D", "B"])')])],
    "optim-schedules": [
        ("bisect, numpy cosine, a conditional warm-up",
         [("return alpha0 * gamma ** sum(1 for milestone in milestones if milestone <= t)",
           "import bisect\n    return alpha0 * gamma ** bisect.bisect_right(sorted(milestones), t)"),
          ("return 0.5 * alpha0 * (1 + math.cos(t * math.pi / T))", "return float(alpha0 * (1 + np.cos(np.pi * t / T)) / 2)"),
          ("return alpha0 * min(1.0, t / warmup)", "return alpha0 * t / warmup if t < warmup else alpha0")]),
    ],
}


def test_every_mutant_changes_its_answer():
    """A replacement that matched nothing would make a mutation test vacuous."""
    assert_every_mutant_changes_its_answer(load(ASSIGNMENT), MUTANTS)


def test_mutants_cover_every_graded_exercise():
    from autograder.examples import test_points
    assert set(MUTANTS) == set(test_points(load(ASSIGNMENT)))
