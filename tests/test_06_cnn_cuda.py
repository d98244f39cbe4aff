"""Mutation tests for notebook 06: each plausible wrong answer from the issue must cost exactly
the points of its own exercise (missing ReLU or pooling, wrong flatten size, no zero_grad,
evaluating in train mode, accuracy on the wrong axis, tensors left on the wrong device, ...).

Everything runs on the CPU; device mistakes are caught with the ``meta`` device and a device
argument. Mutants of different exercises are batched into one notebook execution (each costs
seconds): batch k holds the k-th mutant of every exercise that has one.
"""
import itertools

import pytest

from notebook_tools import (assert_every_mutant_changes_its_answer, assert_exactly_planted_fail, batches, execute,
                            load, plant)

ASSIGNMENT = "06_cnn_cuda"

# test id -> [(what the student got wrong, [(old, new), ...] replacements in the answer cell)]
MUTANTS = {
    "cnn-devices": [
        ("MPS preferred to CUDA",
         [('if cuda_available:\n        return torch.device("cuda")\n    if mps_available:\n        return torch.device("mps")',
           'if mps_available:\n        return torch.device("mps")\n    if cuda_available:\n        return torch.device("cuda")')]),
        ("only the top level of a container is moved",
         [("{key: to_device(value, device, non_blocking) for key, value in batch.items()}",
           "{key: value.to(device) if torch.is_tensor(value) else value for key, value in batch.items()}"),
          ("type(batch)(to_device(value, device, non_blocking) for value in batch)",
           "type(batch)(value.to(device) if torch.is_tensor(value) else value for value in batch)")]),
        ("a tuple comes back as a list", [("return type(batch)(", "return list(")]),
    ],
    "cnn-lenet": [
        ("ReLU after the first linear layer missing (an Identity in its place)",
         [("nn.Linear(2450, 500),\n            nn.ReLU(),", "nn.Linear(2450, 500),\n            nn.Identity(),")]),
        ("second pooling missing (flatten size adjusted to 9800)",
         [("            nn.MaxPool2d(2),\n        )", "        )"), ("nn.Linear(2450, 500)", "nn.Linear(9800, 500)")]),
        ("wrong flatten size (50 x 5 x 5)", [("nn.Linear(2450, 500)", "nn.Linear(50 * 5 * 5, 500)")]),
        ("flattens the batch dimension too", [("nn.Flatten(),", "nn.Flatten(0),")]),
    ],
    "cnn-train": [
        ("forgets zero_grad", [("        optimizer.zero_grad(set_to_none=True)\n", "")]),
        ("batches left on the CPU",
         [("        x = x.to(device, non_blocking=True)\n        y = y.to(device, non_blocking=True)\n", "")]),
        ("no model.train()", [("    model.train()\n", "")]),
        ("mean of the batch means", [("total + loss.detach() * len(y)", "total + loss.detach()"),
                                     ("count += len(y)", "count += 1")]),
    ],
    "cnn-evaluate": [
        ("evaluate takes the argmax over the batch axis",
         [("correct = correct + (logits.argmax(dim=1) == y).sum()", "correct = correct + (logits.argmax(dim=0) == y).sum()")]),
        ("evaluates in train mode", [("    model.eval()\n", "")]),
        ("accuracy takes the argmax over the batch axis",
         [("return (logits.argmax(dim=1) == targets)", "return (logits.argmax(dim=0) == targets)")]),
        ("builds a graph while evaluating", [("    with torch.no_grad():\n", "    if True:\n")]),
    ],
    "cnn-occlusion": [
        ("logit instead of probability", [("F.softmax(model(batch), dim=1)[:, target]", "model(batch)[:, target]")]),
        ("one position short per side",
         [("range(0, height - patch + 1, stride)", "range(0, height - patch, stride)"),
          ("range(0, width - patch + 1, stride)", "range(0, width - patch, stride)")]),
        ("occludes in train mode (dropout on)", [("    model.eval()\n", "")]),
        ("map transposed", [("probabilities.reshape(len(tops), len(lefts))", "probabilities.reshape(len(lefts), len(tops)).T")]),
    ],
    "cnn-timing": [
        ("never synchronises", [('        if device.type == "cuda":\n            torch.cuda.synchronize(device)', "        pass")]),
        ("times the warm-up too",
         [("    for _ in range(warmup):\n        step()\n    synchronize()\n    start = time.perf_counter()\n",
           "    start = time.perf_counter()\n    for _ in range(warmup):\n        step()\n    synchronize()\n")]),
        ("stops the clock before the GPU is done",
         [("        step()\n    synchronize()\n    return", "        step()\n    return")]),
        ("synchronises CUDA on any device", [('if device.type == "cuda":', "if True:")]),
    ],
    "cnn-batches": [
        ("never shuffles", [("torch.randperm(len(labels), device=labels.device, generator=generator)",
                             "torch.arange(len(labels), device=labels.device)")]),
        ("ignores the generator", [(", generator=generator)", ")")]),
        ("drops the last, smaller batch", [("range(0, len(order), batch_size)", "range(0, len(order) - batch_size + 1, batch_size)")]),
        ("labels not shuffled with their images", [("yield images[index], labels[index]",
                                                     "yield images[index], labels[start:start + batch_size]")]),
    ],
    "cnn-checkpoint": [
        ("optimizer state not restored", [('    optimizer.load_state_dict(state["optimizer"])\n', "")]),
        ("pickles the module instead of its state_dict", [('{"model": model.state_dict(),', '{"model": model,')]),
    ],
}

BATCHES = batches(MUTANTS)


@pytest.mark.notebook
@pytest.mark.parametrize("batch", BATCHES, ids=[f"batch{k}" for k in range(len(BATCHES))])
def test_each_wrong_answer_fails_only_its_own_exercise(batch):
    notebook = load(ASSIGNMENT)
    for test_id, (_, replacements) in batch:
        notebook = plant(notebook, test_id, replacements)
    executed, _ = execute(notebook, ASSIGNMENT)
    assert_exactly_planted_fail(executed, {test_id: label for test_id, (label, _) in batch})


def test_every_mutant_changes_its_answer():
    """A replacement that matched nothing would make a mutation test vacuous."""
    assert_every_mutant_changes_its_answer(load(ASSIGNMENT), MUTANTS)


def test_mutants_cover_every_graded_exercise():
    from autograder.examples import test_points
    assert set(MUTANTS) == set(test_points(load(ASSIGNMENT)))


def test_batches_hold_each_mutant_once():
    flattened = list(itertools.chain.from_iterable(BATCHES))
    assert len(flattened) == sum(len(m) for m in MUTANTS.values())
    for batch in BATCHES:
        assert len({test_id for test_id, _ in batch}) == len(batch)
