"""Mutation tests for notebook 05: each plausible wrong answer must cost exactly the points of its own
exercise, and each correct answer in another honest style must keep them.

All of them are judged in one kernel (tests/mutants.py), which also measures how many of the wrong
answers the visible checks catch.
"""
import pytest

from mutants import (test_each_honest_alternative_keeps_its_points,  # noqa: F401 (run here, on this
                     test_each_wrong_answer_fails_only_its_own_exercise,  # module's MUTANTS and HONEST)
                     test_visible_checks_catch_most_wrong_answers, verdicts)
from notebook_tools import assert_every_mutant_changes_its_answer, load

ASSIGNMENT = "05_batchnorm"

# test id -> [(what the student got wrong, [(old, new), ...] replacements in the answer cell)]
MUTANTS = {
    "batchnorm-forward": [
        ("unbiased variance in the normalisation", [("x.var(axis=axes)", "x.var(axis=axes, ddof=1)")]),
        ("eps outside the square root", [("np.sqrt(var.reshape(shape) + eps)", "(np.sqrt(var.reshape(shape)) + eps)")]),
        ("statistics over the wrong axes for 4-D input (axis 0 only)",
         [("(0,) if x.ndim == 2 else (0, 2, 3)", "(0,)")]),
        ("gamma and beta swapped", [("gamma.reshape(shape) * x_hat + beta.reshape(shape)",
                                     "beta.reshape(shape) * x_hat + gamma.reshape(shape)")]),
        ("statistics over H and W per example (InstanceNorm) for 4-D input",
         [("(0,) if x.ndim == 2 else (0, 2, 3)", "(0,) if x.ndim == 2 else (2, 3)")]),
        ("4-D input normalised per position, over N only",
         [("x_hat = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + eps)",
           "x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)")]),
        ("eps ignored", [("np.sqrt(var.reshape(shape) + eps)", "np.sqrt(var.reshape(shape) + 1e-5)")]),
        ("x centred in place", [("x_hat = (x - mean.reshape(shape)) /", "x -= mean.reshape(shape)\n    x_hat = x /")]),
    ],
    "batchnorm-layer": [
        ("momentum convention inverted (lecture's 0.99 read as PyTorch's momentum)",
         [("self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)",
           "self.running_mean.mul_(self.momentum).add_((1 - self.momentum) * mean)"),
          ("self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))",
           "self.running_var.mul_(self.momentum).add_((1 - self.momentum) * var * n / (n - 1))")]),
        ("running statistics updated in eval mode too",
         [("        else:\n            mean, var = self.running_mean, self.running_var\n", ""),
          ("        if self.training:\n", "        if True:\n"),
          ("        x_hat = ", "        if not self.training:\n"
                               "            mean, var = self.running_mean, self.running_var\n"
                               "        x_hat = ")]),
        ("gamma and beta swapped", [("self.weight.reshape(shape) * x_hat + self.bias.reshape(shape)",
                                     "self.bias.reshape(shape) * x_hat + self.weight.reshape(shape)")]),
        ("biased variance stored in running_var", [("var * n / (n - 1)", "var")]),
        ("statistics over the batch axis only for 4-D input", [("dims = [0] + list(range(2, x.dim()))", "dims = [0]")]),
        ("unbiased correction with n = N for images", [("n = x.numel() // x.shape[1]", "n = x.shape[0]")]),
        ("buffers updated inside the autograd graph",
         [("            with torch.no_grad():\n"
           "                self.running_mean.mul_(1 - self.momentum).add_(self.momentum * mean)\n"
           "                self.running_var.mul_(1 - self.momentum).add_(self.momentum * var * n / (n - 1))\n",
           "            self.running_mean = (1 - self.momentum) * self.running_mean + self.momentum * mean\n"
           "            self.running_var = (1 - self.momentum) * self.running_var + self.momentum * var * n / (n - 1)\n")]),
        ("eval mode normalises with the batch's statistics",
         [("        if self.training:\n            mean = x.mean(dim=dims)\n            var = x.var(dim=dims, unbiased=False)\n",
           "        mean = x.mean(dim=dims)\n        var = x.var(dim=dims, unbiased=False)\n        if self.training:\n"),
          ("        else:\n            mean, var = self.running_mean, self.running_var\n", "")]),
    ],
    "batchnorm-backward-graph": [
        ("the variance path's gradient left out", [("dxmu = dxmu + 2.0 * xmu * dsq", "dxmu = dxmu")]),
        ("a broadcast value's gradient not summed over the batch",
         [("distd = (dx_hat * xmu).sum(axis=0)", "distd = dx_hat * xmu")]),
        ("the second use of xmu overwrites the first", [("dxmu = dxmu + 2.0 * xmu * dsq", "dxmu = 2.0 * xmu * dsq")]),
        ("the mean's gradient not divided by N", [("dsq = np.ones_like(sq) * dvar / n", "dsq = np.ones_like(sq) * dvar")]),
        ("d(1/std) = -1/std instead of -1/std^2", [("dstd = -distd / std ** 2", "dstd = -distd / std")]),
    ],
    "batchnorm-backward-simple": [
        ("the mean term left out of the formula", [(" - g.sum(axis=0)", "")]),
        ("the x_hat term left out of the formula", [(" - x_hat * (g * x_hat).sum(axis=0)", "")]),
        ("gamma left out of g", [("g = dout * gamma", "g = dout")]),
        ("unbiased variance in istd", [("x.var(axis=0) + eps", "x.var(axis=0, ddof=1) + eps")]),
        ("gamma multiplied into dout in place", [("g = dout * gamma", "dout *= gamma\n    g = dout")]),
    ],
    "batchnorm-predict": [
        ("inference_mode instead of model.eval()",
         [("    model.eval()\n", ""), ("torch.no_grad()", "torch.inference_mode()")]),
        ("the model's mode not restored", [("model.train(was_training)", "pass")]),
        ("no model.eval()", [("    model.eval()\n", "")]),
        ("no torch.no_grad()", [("        with torch.no_grad():\n            return model(x).argmax(dim=1)",
                                 "        return model(x).argmax(dim=1)")]),
        ("always returns the model in train mode", [("model.train(was_training)", "model.train()")]),
        ("argmax over the batch axis", [("argmax(dim=1)", "argmax(dim=0)")]),
    ],
    "batchnorm-fold": [
        ("folding that forgets the layer's bias", [("(bias - bn.running_mean) * scale", "(0 - bn.running_mean) * scale")]),
        ("folding that forgets the running mean", [("(bias - bn.running_mean) * scale", "bias * scale")]),
        ("variance instead of standard deviation", [("torch.sqrt(bn.running_var + bn.eps)", "(bn.running_var + bn.eps)")]),
        ("eps ignored", [("torch.sqrt(bn.running_var + bn.eps)", "torch.sqrt(bn.running_var)")]),
        ("beta added before the scale", [("(bias - bn.running_mean) * scale + bn.bias", "(bias - bn.running_mean + bn.bias) * scale")]),
        ("the layer's weight scaled in place",
         [("new_weight = weight * scale.reshape((-1,) + (1,) * (weight.dim() - 1))",
           "with torch.no_grad():\n        new_weight = weight.mul_(scale.reshape((-1,) + (1,) * (weight.dim() - 1)))")]),
    ],
    "batchnorm-normalize": [
        ("LayerNorm over the channel axis only", [('"layer": (1, 2, 3)', '"layer": (1,)')]),
        ("GroupNorm statistics over all groups", [("normalize(grouped, (2,), eps)", "normalize(grouped, (1, 2), eps)")]),
        ("unbiased variance", [("unbiased=False, keepdim=True", "keepdim=True")]),
        ("BatchNorm's axes without H and W", [('"batch": (0, 2, 3)', '"batch": (0,)')]),
        ("groups of every G-th channel instead of consecutive ones",
         [("grouped = x.reshape(n, groups, -1)           # (N, G, C/G * H * W): one row per (example, group)\n"
           "    return normalize(grouped, (2,), eps).reshape(x.shape)",
           "grouped = x.reshape(n, -1, groups, *x.shape[2:])\n"
           "    return normalize(grouped, (1, 3, 4), eps).reshape(x.shape)")]),
        ("eps ignored", [("torch.sqrt(var + eps)", "torch.sqrt(var + 1e-5)")]),
    ],
    # Exercise 7 (inverted dropout, issue 17)
    "batchnorm-dropout-inverted": [
        ("no 1/(1 - p) rescale", [("return x * keep / (1.0 - p)", "return x * keep")]),
        ("drops in eval mode too", [("if not training or p == 0.0:", "if p == 0.0:")]),
        ("keeps with probability p instead of 1 - p", [(">= p", "< p")]),
        ("p = 1 divides by zero", [("    if p == 1.0:\n        return torch.zeros_like(x)\n", "")]),
        ("one mask for the whole batch", [("torch.rand(x.shape, generator", "torch.rand(x.shape[1:], generator")]),
        ("the layer ignores its mode", [("return dropout(x, self.p, self.training)", "return dropout(x, self.p, True)")]),
        ("drops in place", [("return x * keep / (1.0 - p)", "return x.mul_(keep).div_(1.0 - p)")]),
    ],
}

FORWARD_CHANNELS_LAST = '''
def batchnorm_forward(x, gamma, beta, eps=1e-5):
    channels_last = np.moveaxis(x, 1, -1)                 # (..., C): one column per feature or channel
    flat = channels_last.reshape(-1, x.shape[1])
    mean = np.mean(flat, axis=0)
    var = np.mean((flat - mean) ** 2, axis=0)
    out = gamma * (channels_last - mean) / np.sqrt(var + eps) + beta
    return np.moveaxis(out, -1, 1), mean, var
'''

LAYER_VAR_MEAN_LERP = '''
class BatchNorm(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        dims = tuple(d for d in range(x.dim()) if d != 1)
        view = (1, -1) + (1,) * (x.dim() - 2)
        if self.training:
            var, mean = torch.var_mean(x, dim=dims, unbiased=False)
            unbiased = x.detach().var(dim=dims, unbiased=True)
            self.running_mean.lerp_(mean.detach(), self.momentum)
            self.running_var.lerp_(unbiased, self.momentum)
        else:
            mean, var = self.running_mean, self.running_var
        x_hat = (x - mean.view(view)) * torch.rsqrt(var.view(view) + self.eps)
        return x_hat * self.weight.view(view) + self.bias.view(view)
'''

LAYER_ASSIGNED_BUFFERS = '''
class BatchNorm(nn.Module):
    def __init__(self, num_features, eps=1e-5, momentum=0.1):
        super().__init__()
        self.eps, self.momentum = eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))
        self.bias = nn.Parameter(torch.zeros(num_features))
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))

    def forward(self, x):
        dims = [0, 2, 3] if x.dim() == 4 else [0]
        shape = [1, x.shape[1]] + [1] * (x.dim() - 2)
        if not self.training:
            return (x - self.running_mean.reshape(shape)) / (self.running_var.reshape(shape) + self.eps).sqrt() \\
                * self.weight.reshape(shape) + self.bias.reshape(shape)
        mean = x.mean(dim=dims, keepdim=True)
        var = ((x - mean) ** 2).mean(dim=dims, keepdim=True)
        n = x.numel() / x.shape[1]
        m = self.momentum
        self.running_mean = (1 - m) * self.running_mean + m * mean.detach().flatten()
        self.running_var = (1 - m) * self.running_var + m * var.detach().flatten() * n / (n - 1)
        return self.weight.reshape(shape) * (x - mean) / torch.sqrt(var + self.eps) + self.bias.reshape(shape)
'''

DROPOUT_BERNOULLI = '''
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

# Correct answers in other honest styles: each keeps its points.
HONEST = {
    "batchnorm-forward": [
        ("channels moved last, mean of squared deviations", FORWARD_CHANNELS_LAST.strip("\n")),
        ("keepdims statistics", [("mean = x.mean(axis=axes)\n    var = x.var(axis=axes)",
                                  "mean = np.mean(x, axis=axes, keepdims=True).reshape(-1)\n"
                                  "    var = np.var(x, axis=axes, keepdims=True, ddof=0).ravel()")]),
    ],
    "batchnorm-layer": [
        ("var_mean, lerp_, the unbiased running variance computed directly", LAYER_VAR_MEAN_LERP.strip("\n")),
        ("buffers assigned new detached tensors", LAYER_ASSIGNED_BUFFERS.strip("\n")),
    ],
    "batchnorm-backward-graph": [
        ("dvar from istd, keepdims sums",
         [("    distd = (dx_hat * xmu).sum(axis=0)       # istd is broadcast over the batch: sum\n"
           "    dxmu = dx_hat * istd                     # first use of xmu\n"
           "    dstd = -distd / std ** 2\n"
           "    dvar = dstd * 0.5 / std\n",
           "    distd = np.sum(dx_hat * xmu, axis=0, keepdims=True)\n"
           "    dxmu = dx_hat * istd\n"
           "    dvar = -0.5 * distd * istd ** 3\n")]),
    ],
    "batchnorm-backward-simple": [
        ("the formula written with means",
         [("    dx = istd / n * (n * g - g.sum(axis=0) - x_hat * (g * x_hat).sum(axis=0))",
           "    dx = istd * (g - g.mean(axis=0) - x_hat * np.mean(g * x_hat, axis=0))")]),
    ],
    "batchnorm-predict": [
        ("inference_mode, restored with an if",
         [("    was_training = model.training\n    model.eval()\n    try:\n        with torch.no_grad():\n"
           "            return model(x).argmax(dim=1)\n    finally:\n        model.train(was_training)",
           "    mode = model.training\n    model.eval()\n    with torch.inference_mode():\n        logits = model(x)\n"
           "    if mode:\n        model.train()\n    return logits.argmax(1)")]),
        ("set_grad_enabled(False), max(...).indices",
         [("with torch.no_grad():\n            return model(x).argmax(dim=1)",
           "with torch.set_grad_enabled(False):\n            return model(x).max(dim=1).indices")]),
        ("an eval-mode copy of the model",
         [("    was_training = model.training\n    model.eval()\n    try:\n        with torch.no_grad():\n"
           "            return model(x).argmax(dim=1)\n    finally:\n        model.train(was_training)",
           "    with torch.no_grad():\n        return copy.deepcopy(model).eval()(x).argmax(dim=1)")]),
    ],
    "batchnorm-fold": [
        ("rsqrt, a view of the scale per weight dimension, under no_grad",
         [("    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)           # s, one per output channel\n"
           "    new_weight = weight * scale.reshape((-1,) + (1,) * (weight.dim() - 1))\n"
           "    if bias is None:\n        bias = torch.zeros_like(bn.running_mean)\n"
           "    new_bias = (bias - bn.running_mean) * scale + bn.bias\n"
           "    return new_weight.detach(), new_bias.detach()",
           "    with torch.no_grad():\n        scale = bn.weight * (bn.running_var + bn.eps).rsqrt()\n"
           "        new_weight = weight * scale.view(-1, *[1] * (weight.dim() - 1))\n"
           "        shift = bn.bias - bn.running_mean * scale\n"
           "        return new_weight, shift if bias is None else shift + bias * scale")]),
    ],
    "batchnorm-normalize": [
        ("var_mean; GroupNorm through a 5-D view",
         [("    mean = x.mean(dim=axes, keepdim=True)\n    var = x.var(dim=axes, unbiased=False, keepdim=True)",
           "    var, mean = torch.var_mean(x, dim=axes, unbiased=False, keepdim=True)"),
          ("    n = x.shape[0]\n    grouped = x.reshape(n, groups, -1)           # (N, G, C/G * H * W): one row per (example, group)\n"
           "    return normalize(grouped, (2,), eps).reshape(x.shape)",
           "    n, c, h, w = x.shape\n    return normalize(x.view(n, groups, c // groups, h, w), (2, 3, 4), eps).view(n, c, h, w)")]),
        ("mean of squared deviations, if/elif axes",
         [("    var = x.var(dim=axes, unbiased=False, keepdim=True)", "    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)"),
          ('    return {"batch": (0, 2, 3), "layer": (1, 2, 3), "instance": (2, 3)}[kind]',
           '    if kind == "batch":\n        return (0, 2, 3)\n    elif kind == "layer":\n        return (1, 2, 3)\n'
           '    return (2, 3)')]),
    ],
    "batchnorm-dropout-inverted": [("bernoulli_ mask, clone in eval mode", DROPOUT_BERNOULLI.strip("\n"))],
}


def test_every_mutant_changes_its_answer():
    """A replacement that matched nothing would make a mutation test vacuous."""
    assert_every_mutant_changes_its_answer(load(ASSIGNMENT), MUTANTS)


def test_mutants_cover_every_graded_exercise():
    from autograder.examples import test_points
    assert set(MUTANTS) == set(test_points(load(ASSIGNMENT)))
