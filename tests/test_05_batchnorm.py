"""Notebook 5 (BatchNorm): every plausible wrong answer that issue 6 lists, and a few more, fails
exactly the graded cell of its exercise while every other exercise keeps its points.

Each round swaps one mistake into several *different* exercises and runs the notebook once. Only the
graded cells and the locked code they use are run: the ungraded plots and experiments feed no test
(test_notebooks.py runs the whole notebook), and leaving them out keeps each round to seconds.
"""
import pytest

from notebook_tools import execute, failed_tests, load, mutate

ASSIGNMENT = "05_batchnorm"

# test id -> (the mistake, [(old, new), ...] replacements in that exercise's answer cell)
ROUNDS = {
    "unbiased-variance/momentum-inverted/...": {
        "batchnorm-forward": ("unbiased variance in the normalisation",
                              [("x.var(axis=axes)", "x.var(axis=axes, ddof=1)")]),
        "batchnorm-layer": ("momentum convention inverted (lecture's 0.99 read as PyTorch's momentum)",
                            [("self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)",
                              "self.running_mean.mul_(self.momentum).add_((1 - self.momentum) * mean)"),
                             ("self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))",
                              "self.running_var.mul_(self.momentum).add_((1 - self.momentum) * var * n / (n - 1))")]),
        "batchnorm-backward-graph": ("the variance path's gradient left out",
                                     [("dxmu = dxmu + 2.0 * xmu * dsq", "dxmu = dxmu")]),
        "batchnorm-backward-simple": ("the mean term left out of the formula", [(" - g.sum(axis=0)", "")]),
        "batchnorm-predict": ("inference_mode instead of model.eval()",
                              [("    model.eval()\n", ""), ("torch.no_grad()", "torch.inference_mode()")]),
        "batchnorm-fold": ("folding that forgets the layer's bias",
                           [("(bias - bn.running_mean) * scale", "(0 - bn.running_mean) * scale")]),
        "batchnorm-normalize": ("LayerNorm over the channel axis only", [('"layer": (1, 2, 3)', '"layer": (1,)')]),
    },
    "eps-outside-sqrt/updated-in-eval/...": {
        "batchnorm-forward": ("eps outside the square root",
                              [("np.sqrt(var.reshape(shape) + eps)", "(np.sqrt(var.reshape(shape)) + eps)")]),
        "batchnorm-layer": ("running statistics updated in eval mode too",
                            [("        else:\n            mean, var = self.running_mean, self.running_var\n", ""),
                             ("        if self.training:\n", "        if True:\n"),
                             ("        x_hat = ", "        if not self.training:\n"
                                                  "            mean, var = self.running_mean, self.running_var\n"
                                                  "        x_hat = ")]),
        "batchnorm-backward-graph": ("a broadcast value's gradient not summed over the batch",
                                     [("distd = (dx_hat * xmu).sum(axis=0)", "distd = dx_hat * xmu")]),
        "batchnorm-predict": ("the model's mode not restored", [("model.train(was_training)", "pass")]),
        "batchnorm-fold": ("folding that forgets the running mean",
                           [("(bias - bn.running_mean) * scale", "bias * scale")]),
        "batchnorm-normalize": ("GroupNorm statistics over all groups",
                                [("normalize(grouped, (2,), eps)", "normalize(grouped, (1, 2), eps)")]),
    },
    "wrong-axes/gamma-beta-swapped": {
        "batchnorm-forward": ("statistics over the wrong axes for 4-D input (axis 0 only)",
                              [("(0,) if x.ndim == 2 else (0, 2, 3)", "(0,)")]),
        "batchnorm-layer": ("gamma and beta swapped",
                            [("self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)",
                              "self.bias.reshape(shape) * x_hat + self.weight.reshape(shape)")]),
        "batchnorm-normalize": ("unbiased variance", [("unbiased=False, keepdim=True", "keepdim=True")]),
    },
    "gamma-beta-swapped/biased-running-var": {
        "batchnorm-forward": ("gamma and beta swapped",
                              [("gamma.reshape(shape) * x_hat + beta.reshape(shape)",
                                "beta.reshape(shape) * x_hat + gamma.reshape(shape)")]),
        "batchnorm-layer": ("biased variance stored in running_var", [("var * n / (n - 1)", "var")]),
    },
    "instance-axes/channel-axis-only": {
        "batchnorm-forward": ("statistics over H and W per example (InstanceNorm) for 4-D input",
                              [("(0,) if x.ndim == 2 else (0, 2, 3)", "(0,) if x.ndim == 2 else (2, 3)")]),
        "batchnorm-layer": ("statistics over the batch axis only for 4-D input",
                            [("dims = [0] + list(range(2, x.dim()))", "dims = [0]")]),
    },
}


def graded_part(notebook):
    """The notebook without its unlocked, ungraded cells (plots and experiments)."""
    notebook.cells = [cell for cell in notebook.cells if "nbgrader" in cell.metadata]
    return notebook


@pytest.mark.notebook
@pytest.mark.parametrize("round_name", list(ROUNDS))
def test_each_mistake_fails_only_its_exercise(round_name):
    notebook = graded_part(load(ASSIGNMENT))
    mutants = ROUNDS[round_name]
    for test_id, (_, replacements) in mutants.items():
        for old, new in replacements:
            notebook = mutate(notebook, test_id, old, new)
    executed, _ = execute(notebook, ASSIGNMENT)
    failed = failed_tests(executed)
    missed = {f"{test_id}: {what}" for test_id, (what, _) in mutants.items() if test_id not in failed}
    assert not missed, f"these mistakes still earn full points: {sorted(missed)}"
    assert failed == set(mutants), f"exercises without a mistake lost points: {sorted(failed - set(mutants))}"


# Exercise 7 (inverted dropout, issue 17): each mistake alone, and an honest answer in another style.
DROPOUT = "batchnorm-dropout-inverted"
DROPOUT_MISTAKES = {
    "no 1/(1 - p) rescale": [("return x * keep / (1.0 - p)", "return x * keep")],
    "drops in eval mode too": [("if not training or p == 0.0:", "if p == 0.0:")],
    "keeps with probability p instead of 1 - p": [(">= p", "< p")],
    "p = 1 divides by zero": [("    if p == 1.0:\n        return torch.zeros_like(x)\n", "")],
    "one mask for the whole batch": [("torch.rand(x.shape, generator", "torch.rand(x.shape[1:], generator")],
    "the layer ignores its mode": [("return dropout(x, self.p, self.training)", "return dropout(x, self.p, True)")],
}
DROPOUT_HONEST = '''
def dropout(x, p, training, generator=None):
    if p < 0 or p > 1:
        raise ValueError("p is a probability")
    if not training:
        return x.clone()
    mask = torch.empty_like(x).bernoulli_(1 - p, generator=generator)
    scale = 0.0 if p == 1 else 1 / (1 - p)
    return mask * x * scale


class Dropout(nn.Module):
    def __init__(self, p=0.5):
        super().__init__()
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, training=self.training)
'''


@pytest.mark.notebook
@pytest.mark.parametrize("mistake", list(DROPOUT_MISTAKES))
def test_dropout_mistake_fails_only_its_exercise(mistake):
    from notebook_tools import errors, plant
    notebook = plant(graded_part(load(ASSIGNMENT)), DROPOUT, DROPOUT_MISTAKES[mistake])
    executed, _ = execute(notebook, ASSIGNMENT)
    assert failed_tests(executed) == {DROPOUT}, errors(executed)


@pytest.mark.notebook
def test_dropout_honest_answer_keeps_its_points():
    from notebook_tools import errors, replace_answer
    executed, _ = execute(replace_answer(graded_part(load(ASSIGNMENT)), DROPOUT, DROPOUT_HONEST.strip("\n")), ASSIGNMENT)
    assert failed_tests(executed) == set(), errors(executed)


def test_dropout_mistakes_change_the_answer():
    from notebook_tools import answer_source, plant
    notebook = load(ASSIGNMENT)
    for mistake, replacements in DROPOUT_MISTAKES.items():
        assert answer_source(plant(notebook, DROPOUT, replacements), DROPOUT) != answer_source(notebook, DROPOUT), mistake
