"""The student edition: exactly the students' files, no answer in any of them, pointed at its own URL.

``DELEGATIONS`` is the audit of ``utils``: for every exercise that something importable from the
edition (or from ``utils`` before it was split) comes close to answering, an answer that only
delegates to it. Graded with the hidden tests, each must score 0 on its exercise. The answer policy
can reuse the same dict to show it refuses them too.
"""
import ast
import hashlib
import os
import subprocess
import sys

import nbformat
import pytest

from autograder.cli import main
from autograder.course import SOLUTIONS, assignments
from autograder.publish import FORBIDDEN, PublishError, publish
from mutants import judge
from notebook_tools import load
from utils.colab import colab_url, setup_code

REPO_URL, BRANCH = "https://github.com/example-school/dlf-students", "spring"
NOTEBOOK_FILES = [f"notebooks/{a}/{a}.ipynb" for a in assignments()]
EXPECTED_FILES = sorted(NOTEBOOK_FILES + [
    ".gitignore", "LICENSE", "README.md", "pyproject.toml", "requirements.txt",
    "data/README.md", "data/make_mnist_subset.py", "data/mnist_5k.npz",
    "utils/__init__.py", "utils/batchnorm.py", "utils/checks.py", "utils/colab.py", "utils/conv.py",
    "utils/data.py", "utils/device.py", "utils/graph.py", "utils/init.py", "utils/optim.py",
    "utils/plotting.py", "utils/policy.py", "utils/runtime.py", "utils/selfcheck.py", "utils/widgets.py",
])

REPLAY = '''
class {name}(Optimizer):
    """Replays torch.optim from the first point at every step, through utils.optim."""

    def __init__(self, lr, *settings):
        self.lr, self.settings, self.start, self.steps = lr, settings, None, 0

    def step(self, x, grad_fn):
        if self.start is None:
            self.start = np.array(x, dtype=np.float64)
        self.steps += 1
        xs, state = torch_iterates(lambda p: {make}, self.start, grad_fn, self.steps, "{state}")
        self.{attribute} = state[-1]
        return xs[-1]
'''

DELEGATIONS = {
    # 01: utils.gradcheck was exercise 5, and a numerical gradient passes for any backward pass
    "backprop-gradcheck-answer": "from utils.gradcheck import numerical_gradient as centred_difference\n"
                                 "from utils.gradcheck import relative_error as rel_error\n",
    "backprop-logistic-answer": '''from utils.gradcheck import numerical_gradient


def logistic_nll(theta, X, y):
    def loss(t):
        h = 1.0 / (1.0 + np.exp(-(X @ t)))
        return float(-np.sum(y * np.log(h) + (1 - y) * np.log(1 - h)))
    return loss(theta), numerical_gradient(loss, theta.copy())
''',
    "backprop-twolayer-answer": '''from utils.gradcheck import numerical_gradient


def two_layer_loss_and_grads(x, y, w1, w2):
    loss = lambda a, b: float(np.sum((1.0 / (1.0 + np.exp(-(x @ a))) @ b - y) ** 2))
    return (loss(w1, w2), numerical_gradient(lambda a: loss(a, w2), w1.copy()),
            numerical_gradient(lambda b: loss(w1, b), w2.copy()))
''',
    # 02: the explorer runs the same network, and it used to know Xavier and Kaiming
    "init-experiment-answer": '''from utils.init import ACTIVATIONS, Explorer


def run_experiment(dims, std, activation, seed=0, batch=16):
    name = next(key for key, function in ACTIVATIONS.items() if function is activation)
    rules = {"rule": std} if callable(std) else {}
    explorer = Explorer(rules, width=dims[0], max_depth=len(dims) - 1, batch=batch, reference_width=dims[0],
                        seed=seed)
    return explorer.activations(init="rule" if callable(std) else "std", std=std, activation=name,
                                depth=len(dims) - 1)
''',
    "init-rules-answer": '''import types

from utils.init import Explorer


def _scale(init, din):
    return Explorer.scale(types.SimpleNamespace(width=din, reference_width=din, rules={}), init, None)


xavier_std = lambda din, dout: _scale("xavier", din)
kaiming_std = lambda din, dout: _scale("kaiming", din)
glorot_uniform_bound = lambda din, dout: math.sqrt(6.0 / (din + dout))
conv_fan_in = lambda in_channels, kernel_size: in_channels * kernel_size ** 2
''',
    # 03: the explorer used to find kernel positions; the receptive field used to be measured in utils
    "conv-output-answer": '''from utils.conv import kernel_positions


def conv_output_size(n, f, stride=1, padding=0, dilation=1):
    starts, leftover = kernel_positions(n, f, stride, padding, dilation)
    if not starts or leftover:
        raise ValueError("doesn't fit")
    return len(starts)


same_padding = lambda f: (f - 1) // 2 if f % 2 else int("even")
transposed_output_size = lambda n, f, stride=1, padding=0, output_padding=0, dilation=1: (
    stride * (n - 1) + dilation * (f - 1) + 1 - 2 * padding + output_padding)
''',
    "conv-receptive-answer": '''from utils.conv import measure_receptive_field, stack_model


def receptive_field(layers):
    room = 1
    for kernel, stride, dilation in layers:
        room = room * stride + dilation * kernel
    return measure_receptive_field(stack_model(layers), 2 * room + 9)[0]


stacked_receptive_field = lambda num_layers, k: receptive_field([(k, 1, 1)] * num_layers)
''',
    # 04: utils.optim runs torch.optim; replaying it from the start evaluates too many gradients
    "optim-sgd-answer": '''class SGD(Optimizer):
    def __init__(self, lr):
        self.lr = lr

    def step(self, x, grad_fn):
        return torch_iterates(lambda p: torch.optim.SGD(p, lr=self.lr), x, grad_fn, 1)[-1]


def condition_number(H):
    eigenvalues = np.linalg.eigvalsh(H)
    return float(eigenvalues[-1] / eigenvalues[0])
''',
    "optim-momentum-answer": REPLAY.format(name="Momentum", state="momentum_buffer", attribute="v",
                                           make="torch.optim.SGD(p, lr=self.lr, momentum=(self.settings or (0.9,))[0])"),
    "optim-nesterov-answer": REPLAY.format(name="Nesterov", state="momentum_buffer", attribute="v",
                                           make="torch.optim.SGD(p, lr=self.lr, momentum=(self.settings or (0.9,))[0], "
                                                "nesterov=True)"),
    "optim-adagrad-answer": REPLAY.format(name="AdaGrad", state="sum", attribute="grad_squared",
                                          make="torch.optim.Adagrad(p, lr=self.lr, eps=1e-7)"),
    "optim-rmsprop-answer": REPLAY.format(name="RMSProp", state="square_avg", attribute="grad_squared",
                                          make="torch.optim.RMSprop(p, lr=self.lr, alpha=(self.settings or (0.99,))[0], "
                                               "eps=1e-7)"),
    "optim-adam-answer": REPLAY.format(name="Adam", state="exp_avg", attribute="m",
                                       make="torch.optim.Adam(p, lr=self.lr, eps=1e-7)"),
    # 05: a numerical gradient is a backward pass
    "batchnorm-backward-graph-answer": '''from utils.gradcheck import numerical_gradient


def batchnorm_backward_graph(dout, x, gamma, eps=1e-5):
    normalise = lambda v: (v - v.mean(axis=0)) / np.sqrt(v.var(axis=0) + eps)
    dx = numerical_gradient(lambda v: float(np.sum(dout * gamma * normalise(v))), x.copy())
    return dx, np.sum(dout * normalise(x), axis=0), dout.sum(axis=0)
''',
    "batchnorm-backward-simple-answer": '''from utils.gradcheck import numerical_gradient


def batchnorm_backward_simple(dout, x, gamma, eps=1e-5):
    normalise = lambda v: (v - v.mean(axis=0)) / np.sqrt(v.var(axis=0) + eps)
    dx = numerical_gradient(lambda v: float(np.sum(dout * gamma * normalise(v))), x.copy())
    return dx, np.sum(dout * normalise(x), axis=0), dout.sum(axis=0)
''',
    # 06: the device helper reads this machine, not the flags; median_time never synchronises
    "cnn-devices-answer": '''from utils.device import get_device


def choose_device(cuda_available, mps_available):
    return get_device()


def to_device(batch, device, non_blocking=False):
    return type(batch)(t.to(device) for t in batch) if isinstance(batch, tuple) else batch.to(device)
''',
    "cnn-timing-answer": '''from utils.batchnorm import median_time


def throughput(step, batch_size, device, warmup=3, repeats=10):
    return batch_size / median_time(step, repeats=repeats, warmup=warmup)
''',
}

# Plain SGD has no state, so one torch.optim step per call is a right answer: a library call
# that the answer policy refuses (torch.optim and utils.optim's runners), not one grading can see.
STOPPED_BY_POLICY = {"optim-sgd-answer"}

# Exercises nothing in the edition comes near: the audit found no helper to delegate to.
NO_EDITION_HELPER = {
    "backprop-circuit-answer", "backprop-gates-answer", "backprop-sigmoid-answer", "backprop-value-answer",
    "init-diagnostics-answer", "init-backward-answer",
    "conv-params-answer", "conv-lenet-answer", "conv-naive-answer", "conv-fast-answer", "conv-maxpool-answer",
    "conv-toeplitz-answer", "conv-filters-answer",
    "optim-bugs-answer", "optim-rates-answer", "optim-minibatch-answer", "optim-quiz1-answer",
    "optim-quiz2-answer", "optim-quiz3-answer", "optim-schedules-answer",
    "batchnorm-forward-answer", "batchnorm-layer-answer", "batchnorm-predict-answer", "batchnorm-fold-answer",
    "batchnorm-normalize-answer",
    "cnn-lenet-answer", "cnn-train-answer", "cnn-evaluate-answer", "cnn-occlusion-answer", "cnn-batches-answer",
    "cnn-checkpoint-answer",
    # issue 17: utils.data.make_loaders serves MNISTData without augmentation; nothing else comes near
    "backprop-softmax-answer", "batchnorm-dropout-inverted-answer",
    "train-split-answer", "train-curves-answer", "train-decay-answer", "train-augment-answer", "train-search-answer",
    "train-transfer-answer",
}


def answer_ids(assignment):
    notebook = load(assignment)
    return [c.metadata["nbgrader"]["grade_id"] for c in notebook.cells
            if c.metadata.get("nbgrader", {}).get("solution")]


def text_files(root):
    """path -> text of every text file; a notebook's text is its JSON followed by its cells' sources."""
    texts = {}
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix != ".npz":
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":
                text += "\n" + "\n".join(c.source for c in nbformat.reads(text, as_version=4).cells)
            texts[path.relative_to(root).as_posix()] = text
    return texts


def regions(source, begin, end):
    """The lines of ``source`` between ``begin`` and ``end`` markers, and the lines outside them."""
    inside, outside, within = [], [], False
    for line in source.splitlines():
        if line.strip() == begin:
            within = True
        elif line.strip() == end:
            within = False
        else:
            (inside if within else outside).append(line.strip())
    return inside, outside


def secret_lines():
    """Lines that only the solutions hold: inside solution regions or hidden tests and nowhere else
    in their notebook, long enough to be distinctive (a bare ``return x`` is not an answer)."""
    inside, outside = set(), set()
    for assignment in assignments():
        notebook = nbformat.read(SOLUTIONS / assignment / f"{assignment}.ipynb", as_version=4)
        for cell in notebook.cells:
            solution, rest = regions(cell.source, *FORBIDDEN[:2])
            hidden, visible = regions("\n".join(rest), *FORBIDDEN[2:])
            inside.update(solution + hidden)
            outside.update(visible)
    return {line for line in inside - outside if len(line) >= 30 and not line.startswith("#")}


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    root = tmp_path_factory.mktemp("edition") / "course"
    assert main(["publish", str(root), "--repo", REPO_URL, "--branch", BRANCH]) == 0
    return root


def test_the_edition_holds_exactly_the_students_files(edition):
    assert sorted(p.relative_to(edition).as_posix() for p in edition.rglob("*") if p.is_file()) == EXPECTED_FILES


def test_no_file_holds_a_solution_region_or_hidden_test_text(edition):
    secrets = secret_lines()
    assert len(secrets) > 300, "too few distinctive solution and hidden-test lines to be a real check"
    for name, text in text_files(edition).items():
        assert not [marker for marker in FORBIDDEN if marker in text], name
        leaked = sorted(secrets & {line.strip() for line in text.splitlines()})
        assert not leaked, f"{name} holds lines of the solutions: {leaked[:3]}"


def test_no_file_imports_the_grader_or_names_its_oracles(edition):
    for name, text in text_files(edition).items():
        assert "oracles" not in text and "import autograder" not in text and "from autograder" not in text, name


def test_the_helpers_that_answered_exercises_are_gone_from_utils():
    import importlib.util

    import utils.conv
    spec = importlib.util.find_spec("utils.gradcheck")
    assert spec is None, f"utils.gradcheck is importable from {spec.origin} (a stale install of an older checkout?)"
    assert not {"kernel_positions", "measure_receptive_field", "stack_model"} & set(dir(utils.conv))


def test_every_exercise_is_audited():
    every = {answer for assignment in assignments() for answer in answer_ids(assignment)}
    assert set(DELEGATIONS) | NO_EDITION_HELPER == every
    assert not set(DELEGATIONS) & NO_EDITION_HELPER


@pytest.mark.notebook
@pytest.mark.parametrize("assignment", sorted({a for a in assignments()
                                              if set(answer_ids(a)) & (set(DELEGATIONS) - STOPPED_BY_POLICY)}))
def test_an_answer_that_delegates_to_the_edition_scores_zero(assignment):
    """Each delegation in place of its exercise's answer, judged in the notebook's solution kernel
    with the hidden tests (tests/mutants.py): its exercise loses its points."""
    planted = {a.removesuffix("-answer"): [("delegates to the edition", DELEGATIONS[a])] for a in answer_ids(assignment)
               if a in DELEGATIONS and a not in STOPPED_BY_POLICY}
    verdicts = judge(assignment, planted)
    kept = [test_id for (test_id, _), verdict in verdicts.items() if test_id not in verdict.failed]
    assert not kept, f"delegations that keep their exercise's points: {kept}"


def test_set_up_cells_badges_and_colab_module_point_at_the_edition(edition):
    for notebook in NOTEBOOK_FILES:
        setup = nbformat.read(edition / notebook, as_version=4).cells[0]
        assert setup.source == setup_code(REPO_URL, BRANCH)
        from nbgrader.utils import compute_checksum
        assert setup.metadata["nbgrader"]["checksum"] == compute_checksum(setup), "nbgrader would call it edited"
        assert colab_url(notebook, REPO_URL, BRANCH) in (edition / "README.md").read_text()
    colab = (edition / "utils" / "colab.py").read_text()
    assert f'COURSE_REPO = "{REPO_URL}"' in colab and f'BRANCH = "{BRANCH}"' in colab
    for name, text in text_files(edition).items():
        assert "deep-learning-foundations/course" not in text, f"{name} still points at the default repository"


def test_edition_utils_import_without_the_grader(edition):
    modules = sorted(p.stem for p in (edition / "utils").glob("*.py") if p.stem != "__init__")
    for path in (edition / "utils").glob("*.py"):
        imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(path.read_text()))
                    if isinstance(node, (ast.Import, ast.ImportFrom))
                    for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
        assert not imported & {"autograder", "oracles"}, path.name
    code = (f"import sys, utils\nassert utils.__file__.startswith({str(edition)!r}), utils.__file__\n"
            + "".join(f"import utils.{m}\n" for m in modules)
            + "assert not {'autograder', 'oracles'} & set(sys.modules), sorted(sys.modules)\n")
    env = {**os.environ, "PYTHONPATH": str(edition), "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-c", code], cwd=edition, env=env, capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]


def test_publishing_again_gives_the_same_bytes_and_keeps_git(edition, tmp_path):
    def digest(root):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob("*")) if p.is_file() and ".git" not in p.parts}

    again = tmp_path / "again"
    publish(again, REPO_URL, BRANCH)
    assert digest(again) == digest(edition)
    (again / ".git").mkdir()
    (again / ".git" / "HEAD").write_text("ref: refs/heads/spring\n")
    (again / "notebooks" / "stale.txt").write_text("from an older edition")
    publish(again, REPO_URL, BRANCH)  # over an earlier edition: replaced, .git kept
    assert digest(again) == digest(edition)
    assert (again / ".git" / "HEAD").read_text() == "ref: refs/heads/spring\n"


def test_refuses_to_overwrite_a_folder_that_is_not_an_edition(tmp_path, capsys):
    (tmp_path / "thesis.tex").write_text("years of work")
    with pytest.raises(PublishError, match="not a student edition"):
        publish(tmp_path, REPO_URL, BRANCH)
    assert main(["publish", str(tmp_path)]) == 2
    assert "not a student edition" in capsys.readouterr().err
    assert (tmp_path / "thesis.tex").read_text() == "years of work"


@pytest.mark.notebook
def test_a_solved_edition_notebook_is_graded_in_full(edition, tmp_path, course_copy):
    """The rewritten set-up cell (and its checksum) is nothing the grader objects to."""
    from autograder.examples import answered, test_points
    from autograder.grade import Grader
    from autograder.ingest import Submission

    assignment = "01_backprop"
    solution = load(assignment)
    published = nbformat.read(edition / f"notebooks/{assignment}/{assignment}.ipynb", as_version=4)
    path = tmp_path / "in" / "ada" / f"{assignment}.ipynb"
    path.parent.mkdir(parents=True)
    nbformat.write(answered(published, solution), path)
    result = Grader(course_copy([assignment], tmp_path / "course"), [assignment]).grade(Submission("ada", assignment, path))
    total = sum(test_points(solution).values())
    assert (result.status, result.score, result.max_score) == ("graded", total, total), result


def test_the_answer_policy_refuses_the_delegations_grading_cannot_see():
    """Where a delegation would be a right answer (one torch.optim step per call), the policy stops it;
    it also refuses the delegations to library calls an exercise declares as its own work."""
    from utils.policy import Policy, check_cell, locked_context

    refused = set()
    for assignment in assignments():
        notebook = load(assignment)
        policy, context = Policy.from_notebook(notebook), locked_context(notebook)
        refused |= {answer for answer in answer_ids(assignment)
                    if answer in DELEGATIONS and check_cell(DELEGATIONS[answer], policy, context, answer)}
    assert STOPPED_BY_POLICY <= refused
    assert {"backprop-gradcheck-answer", "optim-momentum-answer", "optim-adam-answer"} <= refused
