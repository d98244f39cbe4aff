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
