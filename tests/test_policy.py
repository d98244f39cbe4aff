"""The answer policy: honest answers in every style pass; each way of reaching past an answer is refused.

Fast (no kernel): the policy is pure ``ast`` work. The grading-level behaviour (a refused cell
does not run, its exercise scores 0, the submission is flagged) is in ``test_hostile.py``.
"""
import subprocess
import sys

import nbformat
import pytest

from autograder.course import NOTEBOOKS, SOLUTIONS, assignments
from autograder.release import sync_policy
from utils.policy import Policy, check_cell, check_notebook, forbidden_note, locked_context


def notebook(assignment, folder=SOLUTIONS):
    return nbformat.read(folder / assignment / f"{assignment}.ipynb", as_version=4)


NB01 = notebook("01_backprop")
CONTEXT01 = locked_context(NB01)
POLICY01 = Policy.from_notebook(NB01)


def violations(source, exercise="backprop-circuit-answer", context=CONTEXT01, policy=POLICY01):
    return [v.message for v in check_cell(source, policy, context, exercise)]


@pytest.mark.parametrize("assignment", assignments())
def test_every_solution_and_student_version_follows_the_policy(assignment):
    source = notebook(assignment)
    assert check_notebook(source) == {}
    assert check_notebook(notebook(assignment, NOTEBOOKS), source=source) == {}


@pytest.mark.parametrize("assignment", assignments())
def test_the_declared_rules_are_in_the_text_and_the_metadata_is_fresh(assignment):
    source = notebook(assignment)
    assert not sync_policy(source), "run `python -m autograder release` to refresh the policy lines and digests"
    forbidden = Policy.from_notebook(source).forbidden
    for index, cell in enumerate(source.cells):
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in forbidden:
            intro = next(c for c in reversed(source.cells[:index]) if c.cell_type == "markdown")
            assert forbidden_note(forbidden[grade_id]) in intro.source, grade_id


HONEST = {
    "loops": "def circuit(x, y, z):\n    total = 0.0\n    for v in (x, y):\n        total += v\n"
             "    return dict(q=total, f=total * z, df_dq=z, df_dx=z, df_dy=z, df_dz=total)",
    "helpers_and_prints": "def add(a, b):\n    return a + b\n\ndef circuit(x, y, z):\n    q = add(x, y)\n"
                          "    print(f'q = {q:.3f}', '{:.2f}'.format(q))\n    return dict(q=q)",
    "value_engine": "class Value:\n    def __init__(self, data, _children=(), _op=''):\n"
                    "        self.data, self.grad = data, 0.0\n        self._prev, self._op = set(_children), _op\n"
                    "        self._backward = lambda: None\n"
                    "    def __add__(self, other):\n        other = other if isinstance(other, Value) else Value(other)\n"
                    "        out = Value(self.data + other.data, (self, other), '+')\n"
                    "        def _backward():\n            self.grad += out.grad\n            other.grad += out.grad\n"
                    "        out._backward = _backward\n        return out\n"
                    "    def __radd__(self, other):\n        return self.__add__(other)\n"
                    "    def __repr__(self):\n        return f'{type(self).__name__}({self.data})'\n"
                    "    def backward(self):\n        order, seen = [], set()\n"
                    "        def visit(node):\n            if node not in seen:\n                seen.add(node)\n"
                    "                for child in node._prev:\n                    visit(child)\n"
                    "                order.append(node)\n        visit(self)\n        self.grad = 1.0\n"
                    "        for node in reversed(order):\n            node._backward()",
    "kahn_sort": "from collections import deque, defaultdict\n"
                 "def topo(root):\n    indegree = defaultdict(int)\n    queue = deque([root])\n"
                 "    while queue:\n        node = queue.popleft()\n    return indegree",
    "torch_in_place": "import torch\nfrom torch import nn\nimport copy\n"
                      "def ema(model, average, beta=0.9):\n    with torch.no_grad():\n"
                      "        for p, q in zip(model.parameters(), average.parameters()):\n"
                      "            q.lerp_(p, 1 - beta)\n    return copy.deepcopy(average)\n"
                      "with torch.inference_mode():\n    y = torch.zeros(3)\n"
                      "class Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
                      "        self.fc = nn.Linear(2, 3)\n        self._hidden = 4\n",
    "settings": "import torch\ntorch.backends.cudnn.benchmark = True\nplt.rcParams['figure.figsize'] = (8, 4)",
    "stdlib": "import functools, itertools, operator, time, random, statistics, warnings, math, typing\n"
              "from dataclasses import dataclass\nfrom numbers import Number\n"
              "start = time.perf_counter()\nwarnings.filterwarnings('ignore', category=UserWarning)",
    "rebinding_common_names": "from math import exp\nx = np.linspace(0, 1, 5)\ncheck = check_close\n"
                              "def f(x):\n    x[0] = 1.0\n    return x",
    "syntax_error_is_not_cheating": "def circuit(x, y, z)\n    return {}",
    "top_level_await": "result = await some_coroutine()",
}


@pytest.mark.parametrize("style", sorted(HONEST))
def test_honest_styles_pass(style):
    assert violations(HONEST[style], exercise="backprop-gates-answer") == []


REFUSED = {  # source -> a word of the message
    "import sys": "importing `sys`",
    "import os.path": "importing `os.path`",
    "from numpy import ctypeslib": "`numpy.ctypeslib`",
    "from torch.utils import cpp_extension": "`torch.utils.cpp_extension`",
    "from . import secrets": "relative imports",
    "from numpy import *": "import *",
    "import oracles": "importing `oracles`",
    "x = print.__self__": "`__self__`",
    "f = check_close.__globals__": "`__globals__`",
    "g = (lambda: 0).__code__": "`__code__`",
    "k = ().__class__.__mro__": "`__mro__`",
    "b = __builtins__": "`__builtins__`",
    "x = getattr(np, 'allclose')": "`getattr`",
    "eval('1 + 1')": "`eval`",
    "exec('x = 1')": "`exec`",
    "open('/etc/passwd')": "`open`",
    "v = vars(np)": "`vars`",
    "g = globals()": "`globals`",
    "source = In[-1]": "`In`",
    "source = _ih[-1]": "`_ih`",
    "last = _i3": "`_i3`",
    "shell = get_ipython()": "`get_ipython`",
    "%timeit f(1)": "magics",
    "!ls /": "magics",
    "np.allclose = lambda *a, **k: True": "imported from `numpy`",
    "import utils.checks\nutils.checks.check_close = print": "imported from `utils`",
    "del np.isfinite": "deleting",
    "np.random.seed = print": "imported from `numpy`",
    "type(np.zeros(1)).sum = print": "not allowed in answers",
    "T = torch.Tensor\nT.add = print": "imported from `torch.Tensor`",
    "check_close.hint = 1": "imported from `utils.checks.check_close`",
    "def f():\n    global check_close\n    check_close = print": "global check_close",
    "x = torch._C": "private attribute",
    "y = np._core": "private attribute",
    "frame = gen.gi_frame": "`.gi_frame`",
    "caller = frame.f_back": "`.f_back`",
    "fmt = template.format(x)": "f-string",
    "leak = '{0.__globals__}'.format(f)": "format field",
    "get = operator.attrgetter('x')": "`.attrgetter`",
    "sysmod = matplotlib.sys": "`.sys`",
    "state = torch.load('w.pt', weights_only=False)": "weights_only=False",
    "data = np.load('a.npy', allow_pickle=True)": "allow_pickle=True",
    # what IPython reads to shape a traceback: a failure would pass for a check's own message
    "def f(x):\n    __tracebackhide__ = True\n    check_true(False, 'anything')": "`__tracebackhide__`",
    "class E(Exception):\n    def _render_traceback_(self):\n        return ['File .../utils/checks.py']":
        "`_render_traceback_`",
    "error._render_traceback_ = lambda: []": "`_render_traceback_`",
}


@pytest.mark.parametrize("source", sorted(REFUSED))
def test_reaching_past_an_answer_is_refused_with_the_place_and_the_construct(source):
    found = check_cell("\n\n" + source, POLICY01, CONTEXT01, "backprop-circuit-answer", cell=12)
    assert found, source
    assert REFUSED[source] in found[0].message, found
    assert str(found[0]).startswith("cell 12, line ") and found[0].line >= 3, found


def test_each_exercise_refuses_the_library_call_that_would_do_its_work():
    by_autograd = "import torch\ndef circuit(x, y, z):\n    t = torch.tensor(1.0, requires_grad=True)\n    t.backward()"
    assert any("would do this exercise's work" in m for m in violations(by_autograd))
    assert violations(by_autograd, exercise="backprop-gates-answer") != []  # gates: also hand-written
    policy04, context04 = Policy.from_notebook(notebook("04_optimizers")), locked_context(notebook("04_optimizers"))
    for source in ("import torch.optim", "from torch import optim", "opt = torch.optim.SGD([p], lr=0.1)",
                   "from torch.optim import Adam as A"):
        assert check_cell(source, policy04, context04, "optim-sgd-answer"), source
    assert check_cell("opt = torch.optim.SGD([p], lr=0.1)", policy04, context04, "optim-rates-answer") == []
    patched = check_cell("Optimizer.run = print", policy04, context04, "optim-rates-answer")
    assert "which the notebook's locked cells define" in patched[0].message
    policy03, context03 = Policy.from_notebook(notebook("03_conv_arithmetic")), locked_context(notebook("03_conv_arithmetic"))
    for source in ("import torch.nn.functional as F\ny = F.conv2d(x, w)", "y = torch.conv2d(x, w)", "cols = x.unfold(2, 3, 1)",
                   "layer = torch.nn.Conv2d(1, 1, 3)"):
        assert check_cell(source, policy03, context03, "conv-naive-answer"), source


def test_a_free_cell_counts_for_the_exercise_that_follows_it():
    student = notebook("04_optimizers", NOTEBOOKS)
    answer = next(i for i, c in enumerate(student.cells)
                  if c.metadata.get("nbgrader", {}).get("grade_id") == "optim-sgd-answer")
    student.cells.insert(answer, nbformat.v4.new_code_cell("from torch.optim import SGD as Plain"))
    found = check_notebook(student, source=notebook("04_optimizers"))
    assert list(found) == [answer] and "torch.optim" in found[answer][0].message


def test_a_changed_given_cell_is_checked_and_an_unchanged_one_is_not():
    source = notebook("06_cnn_cuda")
    student = notebook("06_cnn_cuda", NOTEBOOKS)
    assert check_notebook(student, source=source) == {}  # it sets cudnn.benchmark and more: given
    given = next(i for i, c in enumerate(student.cells) if c.cell_type == "code" and not c.metadata.get("nbgrader"))
    student.cells[given].source += "\nimport sys"
    assert given in check_notebook(student, source=source)


def test_students_run_the_same_check_from_the_command_line(tmp_path):
    student = notebook("01_backprop", NOTEBOOKS)
    path = tmp_path / "01_backprop.ipynb"
    nbformat.write(student, path)
    clean = subprocess.run([sys.executable, "-m", "utils.policy", str(path)], capture_output=True, text=True)
    assert clean.returncode == 0 and "follows the answer policy" in clean.stdout
    student.cells.insert(3, nbformat.v4.new_code_cell("import sys"))
    nbformat.write(student, path)
    flagged = subprocess.run([sys.executable, "-m", "utils.policy", str(path)], capture_output=True, text=True)
    assert flagged.returncode == 1 and "cell 4, line 1: importing `sys`" in flagged.stdout


# Per notebook, honest answers in other styles than the solutions' (the solutions pass too, above).
HONEST_ANSWERS = {
    "01_backprop": {
        "backprop-gradcheck-answer": "def centred_difference(f, x, h=1e-5):\n    grad = np.zeros_like(x)\n"
                                     "    for index in np.ndindex(*x.shape):\n        old = x[index]\n"
                                     "        x[index] = old + h\n        up = f(x)\n        x[index] = old - h\n"
                                     "        down = f(x)\n        x[index] = old\n"
                                     "        grad[index] = (up - down) / (2 * h)\n    return grad\n",
        "backprop-value-answer": HONEST["value_engine"] + "\n" + HONEST["kahn_sort"],
        "backprop-sigmoid-answer": "def sigmoid(z):\n    z = np.asarray(z, dtype=np.float64)\n"
                                   "    return np.where(z >= 0, 1 / (1 + np.exp(-np.abs(z))),"
                                   " np.exp(-np.abs(z)) / (1 + np.exp(-np.abs(z))))\n",
    },
    "02_initialization": {
        "init-rules-answer": "import math\ndef xavier_std(fan_in, fan_out=None):\n    return 1 / math.sqrt(fan_in)\n"
                             "def kaiming_std(fan_in):\n    return math.sqrt(2.0 / fan_in)\n",
        "init-backward-answer": "def backward(cache, weights, nonlinearity):\n    grads = []\n"
                                "    for layer in reversed(range(len(weights))):\n        grads.append(layer)\n"
                                "    return grads[::-1]\n",
    },
    "03_conv_arithmetic": {
        "conv-naive-answer": "def conv2d_naive(x, w, b, stride=1, pad=0):\n"
                             "    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"
                             "    n, c, h, wd = x.shape\n    k, _, fh, fw = w.shape\n"
                             "    out = np.zeros((n, k, (h - fh) // stride + 1, (wd - fw) // stride + 1))\n"
                             "    for i in range(out.shape[2]):\n        for j in range(out.shape[3]):\n"
                             "            window = x[:, :, i * stride:i * stride + fh, j * stride:j * stride + fw]\n"
                             "            out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b\n"
                             "    return out\n",
        "conv-fast-answer": "from numpy.lib.stride_tricks import sliding_window_view\n"
                            "def conv2d_fast(x, w, b, stride=1, pad=0):\n"
                            "    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))\n"
                            "    windows = sliding_window_view(x, w.shape[2:], axis=(2, 3))[:, :, ::stride, ::stride]\n"
                            "    return np.einsum('nchwij,kcij->nkhw', windows, w) + b[None, :, None, None]\n",
    },
    "04_optimizers": {
        "optim-adam-answer": "import copy\nclass Adam(Optimizer):\n"
                             "    def __init__(self, lr, beta1=0.9, beta2=0.999, eps=1e-7):\n"
                             "        self.lr, self.beta1, self.beta2, self.eps = lr, beta1, beta2, eps\n"
                             "        self.m = self.v = None\n        self.t = 0\n"
                             "    def step(self, x, grad_fn):\n        g = grad_fn(x)\n"
                             "        if self.m is None:\n            self.m, self.v = np.zeros_like(x), np.zeros_like(x)\n"
                             "        self.t += 1\n        self.m = self.beta1 * self.m + (1 - self.beta1) * g\n"
                             "        self.v = self.beta2 * self.v + (1 - self.beta2) * g * g\n"
                             "        m_hat = self.m / (1 - self.beta1 ** self.t)\n"
                             "        v_hat = self.v / (1 - self.beta2 ** self.t)\n"
                             "        return x - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)\n",
    },
    "05_batchnorm": {
        "batchnorm-layer-answer": "import torch\nfrom torch import nn\nclass BatchNorm(nn.Module):\n"
                                  "    def __init__(self, num_features, eps=1e-5, momentum=0.1):\n"
                                  "        super().__init__()\n        self.eps, self.momentum = eps, momentum\n"
                                  "        self.weight = nn.Parameter(torch.ones(num_features))\n"
                                  "        self.bias = nn.Parameter(torch.zeros(num_features))\n"
                                  "        self.register_buffer('running_mean', torch.zeros(num_features))\n"
                                  "        self.register_buffer('running_var', torch.ones(num_features))\n"
                                  "    def forward(self, x):\n        if self.training:\n"
                                  "            mean, var = x.mean(0), x.var(0, unbiased=False)\n"
                                  "            with torch.no_grad():\n"
                                  "                self.running_mean.lerp_(mean, self.momentum)\n"
                                  "                self.running_var.mul_(1 - self.momentum).add_(self.momentum * x.var(0))\n"
                                  "        else:\n            mean, var = self.running_mean, self.running_var\n"
                                  "        return self.weight * (x - mean) / torch.sqrt(var + self.eps) + self.bias\n",
        "batchnorm-normalize-answer": "def normalize(x, axes, eps=1e-5):\n"
                                      "    mean = x.mean(dim=axes, keepdim=True)\n"
                                      "    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)\n"
                                      "    return (x - mean) / (var + eps).sqrt()\n",
    },
    "06_cnn_cuda": {
        "cnn-train-answer": "import copy\ndef train_one_epoch(model, loader, optimizer, device):\n    model.train()\n"
                            "    total = 0.0\n    for images, labels in loader:\n"
                            "        images, labels = images.to(device), labels.to(device)\n"
                            "        optimizer.zero_grad(set_to_none=True)\n"
                            "        loss = torch.nn.functional.cross_entropy(model(images), labels)\n"
                            "        loss.backward()\n        optimizer.step()\n        total += loss.item()\n"
                            "    best = copy.deepcopy(model.state_dict())\n    return total / len(loader)\n",
        "cnn-evaluate-answer": "@torch.inference_mode()\ndef evaluate(model, loader, device):\n    model.eval()\n"
                               "    correct = sum((model(x.to(device)).argmax(1) == y.to(device)).sum().item()"
                               " for x, y in loader)\n    return correct / len(loader.dataset)\n",
    },
}


@pytest.mark.parametrize("assignment,answer", sorted((a, x) for a, answers in HONEST_ANSWERS.items() for x in answers))
def test_honest_alternatives_pass_each_notebook_s_policy(assignment, answer):
    source = notebook(assignment)
    found = check_cell(HONEST_ANSWERS[assignment][answer], Policy.from_notebook(source), locked_context(source), answer)
    assert found == [], found
