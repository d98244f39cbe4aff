"""Mutation tests for notebook 04: each plausible wrong answer from the issue must cost exactly
the points of its own exercise.

All of them are judged in one kernel (tests/mutants.py), which also measures how many of them the
visible checks catch.
"""
import pytest

from mutants import assert_visible_catch_rate, judge, trial_ids
from notebook_tools import assert_every_mutant_changes_its_answer, load

ASSIGNMENT = "04_optimizers"

# test id -> [(what the student got wrong, [(old, new), ...] replacements in the answer cell)]
MUTANTS = {
    "optim-sgd": [
        ("steps uphill", [("return x - self.lr", "return x + self.lr")]),
        ("condition number from the diagonal", [("np.linalg.eigvalsh(H)", "np.sort(np.diag(H))")]),
    ],
    "optim-momentum": [
        ("momentum sign", [("self.rho * self.v + g", "self.rho * self.v - g")]),
        ("(1 - rho) form", [("self.rho * self.v + g", "self.rho * self.v + (1 - self.rho) * g")]),
        ("CS231n form: v = rho v - lr g, x += v",
         [("self.v = self.rho * self.v + g\n        return x - self.lr * self.v",
           "self.v = self.rho * self.v - self.lr * g\n        return x + self.v")]),
    ],
    "optim-nesterov": [
        ("gradient at x, not at the look-ahead point", [("grad_fn(x - self.lr * self.rho * self.v)", "grad_fn(x)")]),
        ("look-ahead in the wrong direction",
         [("grad_fn(x - self.lr * self.rho * self.v)", "grad_fn(x + self.lr * self.rho * self.v)")]),
        ("look-ahead without the learning rate",
         [("grad_fn(x - self.lr * self.rho * self.v)", "grad_fn(x - self.rho * self.v)")]),
    ],
    "optim-adagrad": [
        ("no accumulation", [("self.grad_squared = self.grad_squared + g * g", "self.grad_squared = g * g")]),
        ("eps inside the square root", [("np.sqrt(self.grad_squared) + self.eps", "np.sqrt(self.grad_squared + self.eps)")]),
    ],
    "optim-rmsprop": [
        ("the slide's += bug", [("self.grad_squared = self.decay_rate", "self.grad_squared += self.decay_rate")]),
        ("eps inside the square root", [("np.sqrt(self.grad_squared) + self.eps", "np.sqrt(self.grad_squared + self.eps)")]),
        ("decay weights swapped",
         [("self.decay_rate * self.grad_squared + (1 - self.decay_rate) * g * g",
           "(1 - self.decay_rate) * self.grad_squared + self.decay_rate * g * g")]),
    ],
    "optim-adam": [
        ("no bias correction",
         [("m_hat = self.m / (1 - self.beta1 ** self.t)", "m_hat = self.m"),
          ("v_hat = self.v / (1 - self.beta2 ** self.t)", "v_hat = self.v")]),
        ("t counted from 2 (off by one)", [("** self.t)", "** (self.t + 1))")]),
        ("t never incremented", [("self.t += 1", "self.t = 1")]),
        ("eps inside the square root", [("np.sqrt(v_hat) + self.eps", "np.sqrt(v_hat + self.eps)")]),
        ("bias correction of m only", [("v_hat = self.v / (1 - self.beta2 ** self.t)", "v_hat = self.v")]),
    ],
    "optim-bugs": [
        ("growth factor = decay rate", [("rmsprop_bug_growth = 1 + 0.99", "rmsprop_bug_growth = 0.99")]),
        ("ratio upside down", [("adam_first_step_ratio = (1 - 0.9) / math.sqrt(1 - 0.999)",
                                "adam_first_step_ratio = math.sqrt(1 - 0.999) / (1 - 0.9)")]),
    ],
    "optim-rates": [
        ("rate = rho instead of sqrt(rho)",
         [("return (math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)",
           "return ((math.sqrt(kappa) - 1) / (math.sqrt(kappa) + 1)) ** 2")]),
        ("alpha from kappa alone", [("alpha = 4.0 / (math.sqrt(L) + math.sqrt(mu)) ** 2",
                                     "alpha = 4.0 / (math.sqrt(L / mu) + 1) ** 2")]),
    ],
    "optim-minibatch": [
        ("summed instead of averaged gradient", [("X[batch].T @ residual / len(batch)", "X[batch].T @ residual")]),
        ("divides by batch_size for a short last batch", [("/ len(batch)", "/ batch_size")]),
        ("never shuffles", [("order = rng.permutation(m)", "order = np.arange(m)")]),
    ],
    "optim-quiz1": [("B missing", [('{"A", "B", "D"}', '{"A", "D"}')]),
                    ("all four", [('{"A", "B", "D"}', '{"A", "B", "C", "D"}')])],
    "optim-quiz2": [("B = m/2", [('{"C"}', '{"B"}')]),
                    ("a string, not a set", [('{"C"}', '"C"')])],
    "optim-quiz3": [("C added", [('{"B", "D"}', '{"B", "C", "D"}')])],
    "optim-schedules": [
        ("cosine off by one step", [("math.cos(t * math.pi / T)", "math.cos((t + 1) * math.pi / T)")]),
        ("step drops one epoch late", [("if milestone <= t", "if milestone < t")]),
        ("warm-up starts at alpha0 / W", [("min(1.0, t / warmup)", "min(1.0, (t + 1) / warmup)")]),
    ],
}

# Correct answers in other honest styles: each keeps its points.
HONEST = {}


@pytest.fixture(scope="module")
def verdicts():
    return judge(ASSIGNMENT, MUTANTS, HONEST)


@pytest.mark.notebook
@pytest.mark.parametrize("test_id, label", trial_ids(MUTANTS))
def test_each_wrong_answer_fails_only_its_own_exercise(verdicts, test_id, label):
    verdict = verdicts[test_id, label]
    assert verdict.failed == {test_id}, verdict.explain()


@pytest.mark.notebook
@pytest.mark.parametrize("test_id, label", trial_ids(HONEST))
def test_each_honest_alternative_keeps_its_points(verdicts, test_id, label):
    verdict = verdicts[test_id, label]
    assert verdict.failed == set() and verdict.refused == [], verdict.explain()


@pytest.mark.notebook
def test_visible_checks_catch_most_wrong_answers(verdicts):
    assert_visible_catch_rate(ASSIGNMENT, verdicts, MUTANTS)


def test_every_mutant_changes_its_answer():
    """A replacement that matched nothing would make a mutation test vacuous."""
    assert_every_mutant_changes_its_answer(load(ASSIGNMENT), MUTANTS)


def test_mutants_cover_every_graded_exercise():
    from autograder.examples import test_points
    assert set(MUTANTS) == set(test_points(load(ASSIGNMENT)))
