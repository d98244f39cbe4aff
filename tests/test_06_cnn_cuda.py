"""Mutation tests for notebook 06: each plausible wrong answer from the issue must cost exactly
the points of its own exercise (missing ReLU or pooling, wrong flatten size, no zero_grad,
evaluating in train mode, accuracy on the wrong axis, tensors left on the wrong device, a timer that
does not synchronise, a checkpoint loaded without map_location or with weights_only=False, ...), and
honest answers in other styles (padding="same", the classifier registered first, an extra
synchronisation, ``from torch.cuda import synchronize``, a checkpoint as a tuple, ...) keep every point.

Everything runs on the CPU: device mistakes are caught with the ``meta`` device and a device argument,
timing mistakes with ``utils.device.SimulatedCUDA`` (a pretend asynchronous GPU), and map_location
mistakes with ``utils.device.saved_as_if_on`` (a file labelled as written on a GPU). All planted answers
are judged in one kernel (tests/mutants.py), which also measures how many the visible checks catch.
"""
import pytest

from mutants import (test_each_honest_alternative_keeps_its_points,  # noqa: F401 (run here, on this
                     test_each_wrong_answer_fails_only_its_own_exercise,  # module's MUTANTS and HONEST)
                     test_visible_checks_catch_most_wrong_answers, verdicts)
from notebook_tools import assert_every_mutant_changes_its_answer, load

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
        ("a string instead of a torch.device", [('return torch.device("cuda")', 'return "cuda"')]),
        ("a dict is changed in place",
         [("        return {key: to_device(value, device, non_blocking) for key, value in batch.items()}",
           "        for key, value in batch.items():\n            batch[key] = to_device(value, device, non_blocking)\n"
           "        return batch")]),
        ("every leaf made a tensor (strings fail)", [("    return batch\n", "    return torch.as_tensor(batch).to(device)\n")]),
    ],
    "cnn-lenet": [
        ("ReLU after the first linear layer missing (an Identity in its place)",
         [("nn.Linear(2450, 500),\n            nn.ReLU(),", "nn.Linear(2450, 500),\n            nn.Identity(),")]),
        ("second pooling missing (flatten size adjusted to 9800)",
         [("            nn.MaxPool2d(2),\n        )", "        )"), ("nn.Linear(2450, 500)", "nn.Linear(9800, 500)")]),
        ("wrong flatten size (50 x 5 x 5)", [("nn.Linear(2450, 500)", "nn.Linear(50 * 5 * 5, 500)")]),
        ("flattens the batch dimension too", [("nn.Flatten(),", "nn.Flatten(0),")]),
        ("average pooling instead of max pooling", [("nn.MaxPool2d(2)", "nn.AvgPool2d(2)")]),
        ("overlapping 3 x 3 pooling windows (the same sizes)", [("nn.MaxPool2d(2)", "nn.MaxPool2d(3, stride=2, padding=1)")]),
        ("sigmoid instead of ReLU", [("nn.ReLU()", "nn.Sigmoid()")]),
    ],
    "cnn-train": [
        ("forgets zero_grad", [("        optimizer.zero_grad(set_to_none=True)\n", "")]),
        ("batches left on the CPU",
         [("        x = x.to(device, non_blocking=True)\n        y = y.to(device, non_blocking=True)\n", "")]),
        ("no model.train()", [("    model.train()\n", "")]),
        ("mean of the batch means", [("total + loss.detach() * len(y)", "total + loss.detach()"),
                                     ("count += len(y)", "count += 1")]),
        ("step before backward", [("        loss.backward()\n        optimizer.step()\n",
                                   "        optimizer.step()\n        loss.backward()\n")]),
        ("returns a tensor, not a float", [("return float(total) / count", "return total / count")]),
        ("returns the last batch's loss", [("return float(total) / count", "return loss.item()")]),
    ],
    "cnn-evaluate": [
        ("evaluate takes the argmax over the batch axis",
         [("correct = correct + (logits.argmax(dim=1) == y).sum()", "correct = correct + (logits.argmax(dim=0) == y).sum()")]),
        ("evaluates in train mode", [("    model.eval()\n", "")]),
        ("accuracy takes the argmax over the batch axis",
         [("return (logits.argmax(dim=1) == targets)", "return (logits.argmax(dim=0) == targets)")]),
        ("builds a graph while evaluating", [("    with torch.no_grad():\n", "    if True:\n")]),
        ("accuracy returns a 0-d tensor", [(".float().mean().item()", ".float().mean()")]),
        ("evaluate: mean of the batch means", [("total_loss + loss_fn(logits, y) * len(y)", "total_loss + loss_fn(logits, y)"),
                                               ("return float(total_loss) / count", "return float(total_loss) / len(loader)")]),
        ("evaluate leaves the batches where they are",
         [("            x = x.to(device, non_blocking=True)\n            y = y.to(device, non_blocking=True)\n", "")]),
    ],
    "cnn-occlusion": [
        ("logit instead of probability", [("F.softmax(model(batch), dim=1)[:, target]", "model(batch)[:, target]")]),
        ("one position short per side",
         [("range(0, height - patch + 1, stride)", "range(0, height - patch, stride)"),
          ("range(0, width - patch + 1, stride)", "range(0, width - patch, stride)")]),
        ("occludes in train mode (dropout on)", [("    model.eval()\n", "")]),
        ("map transposed", [("probabilities.reshape(len(tops), len(lefts))", "probabilities.reshape(len(lefts), len(tops)).T")]),
        ("masks the image itself (the saved patch is a view)", '''
def occlusion_map(model, image, target, patch=6, stride=2, fill=0.0):
    model.eval()
    _, height, width = image.shape
    rows = []
    with torch.no_grad():
        for top in range(0, height - patch + 1, stride):
            row = []
            for left in range(0, width - patch + 1, stride):
                saved = image[:, top:top + patch, left:left + patch]       # a view, not a copy
                image[:, top:top + patch, left:left + patch] = fill
                row.append(F.softmax(model(image.unsqueeze(0)), dim=1)[0, target])
                image[:, top:top + patch, left:left + patch] = saved
            rows.append(torch.stack(row))
    return torch.stack(rows).cpu()
'''),
        ("softmax over the positions", [("F.softmax(model(batch), dim=1)", "F.softmax(model(batch), dim=0)")]),
        ("fill ignored (always 0)", [("left:left + patch] = fill", "left:left + patch] = 0.0")]),
    ],
    "cnn-timing": [
        ("never synchronises", [('        if device.type == "cuda":\n            torch.cuda.synchronize(device)', "        pass")]),
        ("times the warm-up too",
         [("    for _ in range(warmup):\n        step()\n    synchronize()\n    start = time.perf_counter()\n",
           "    start = time.perf_counter()\n    for _ in range(warmup):\n        step()\n    synchronize()\n")]),
        ("stops the clock before the GPU is done",
         [("        step()\n    synchronize()\n    return", "        step()\n    return")]),
        ("synchronises CUDA on any device", [('if device.type == "cuda":', "if True:")]),
        ("no synchronisation after the warm-up",
         [("        step()\n    synchronize()\n    start = time.perf_counter()", "        step()\n    start = time.perf_counter()")]),
        ("starts the clock, then synchronises",
         [("    synchronize()\n    start = time.perf_counter()\n", "    start = time.perf_counter()\n    synchronize()\n")]),
        ("counts the warm-up steps in the rate", [("batch_size * repeats /", "batch_size * (warmup + repeats) /")]),
    ],
    "cnn-batches": [
        ("never shuffles", [("torch.randperm(len(labels), device=labels.device, generator=generator)",
                             "torch.arange(len(labels), device=labels.device)")]),
        ("ignores the generator", [(", generator=generator)", ")")]),
        ("drops the last, smaller batch", [("range(0, len(order), batch_size)", "range(0, len(order) - batch_size + 1, batch_size)")]),
        ("labels not shuffled with their images", [("yield images[index], labels[index]",
                                                     "yield images[index], labels[start:start + batch_size]")]),
        ("a fresh permutation for every batch",
         [("        index = order[start:start + batch_size]",
           "        index = torch.randperm(len(labels), device=labels.device, generator=generator)[:batch_size]")]),
        ("an empty batch at the end when batch_size divides N",
         [("    for start in range(0, len(order), batch_size):\n        index = order[start:start + batch_size]",
           "    for k in range(len(order) // batch_size + 1):\n        index = order[k * batch_size:(k + 1) * batch_size]")]),
    ],
    "cnn-checkpoint": [
        ("optimizer state not restored", [('    optimizer.load_state_dict(state["optimizer"])\n', "")]),
        ("pickles the module instead of its state_dict", [('{"model": model.state_dict(),', '{"model": model,')]),
        ("loaded without map_location", [("torch.load(path, map_location=device, weights_only=True)", "torch.load(path, weights_only=True)")]),
        ("loaded with weights_only=False", [("weights_only=True)", "weights_only=False)")]),
        ("saves the parameters only (no buffers)", [('{"model": model.state_dict(),', '{"model": dict(model.named_parameters()),')]),
        ("returns the next epoch", [('return state["epoch"]', 'return state["epoch"] + 1')]),
    ],
}

# Correct answers in other honest styles: each keeps its points.
HONEST = {
    "cnn-devices": [
        ("an indexed device, tuples and lists rebuilt separately", '''
def choose_device(cuda_available, mps_available):
    if cuda_available:
        return torch.device("cuda", 0)
    return torch.device("mps:0") if mps_available else torch.device("cpu")


def to_device(batch, device, non_blocking=False):
    if isinstance(batch, torch.Tensor):
        return batch.to(device=device, non_blocking=non_blocking)
    if isinstance(batch, dict):
        return {key: to_device(batch[key], device, non_blocking) for key in batch}
    if isinstance(batch, tuple):
        return tuple(to_device(item, device, non_blocking) for item in batch)
    if isinstance(batch, list):
        return [to_device(item, device, non_blocking) for item in batch]
    return batch
'''),
    ],
    "cnn-lenet": [
        ("padding='same', explicit pooling arguments, Flatten(start_dim=1), in-place ReLUs",
         [("padding=2)", 'padding="same")'), ("nn.MaxPool2d(2)", "nn.MaxPool2d(kernel_size=2, stride=2)"),
          ("nn.Flatten()", "nn.Flatten(start_dim=1)"), ("nn.ReLU()", "nn.ReLU(inplace=True)")]),
        ("the classifier registered before the features, named layers, a forward loop", '''
class LeNet5(nn.Module):
    def __init__(self):
        super().__init__()
        self.classifier = nn.Sequential()
        for name, layer in [("flatten", nn.Flatten()), ("fc1", nn.Linear(50 * 7 * 7, 500)), ("relu3", nn.ReLU()),
                            ("fc2", nn.Linear(500, 10))]:
            self.classifier.add_module(name, layer)
        self.features = nn.Sequential()
        for name, layer in [("conv1", nn.Conv2d(1, 20, 5, 1, 2)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2, 2)),
                            ("conv2", nn.Conv2d(20, 50, 5, 1, 2)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2, 2))]:
            self.features.add_module(name, layer)

    def forward(self, x):
        for layer in [*self.features, *self.classifier]:
            x = layer(x)
        return x
'''),
    ],
    "cnn-train": [
        ("loss.item() per batch, zero_grad after the step, a plain loop", '''
def train_epoch(model, loader, optimizer, device, loss_fn=F.cross_entropy, progress=False):
    model.train()
    optimizer.zero_grad()
    running, seen = 0.0, 0
    batches = tqdm(loader) if progress else loader
    for images, targets in batches:
        images, targets = images.to(device), targets.to(device)
        loss = loss_fn(model(images), targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        running += loss.item() * targets.shape[0]
        seen += targets.shape[0]
    return running / seen
'''),
    ],
    "cnn-evaluate": [
        ("inference_mode, sums of the losses, counts as Python ints", '''
def accuracy(logits, targets):
    return (logits.argmax(dim=-1) == targets).sum().item() / len(targets)


def evaluate(model, loader, device, loss_fn=F.cross_entropy):
    model.eval()
    losses, hits, seen = [], 0, 0
    with torch.inference_mode():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            out = model(x)
            losses.append(loss_fn(out, y).item() * len(y))
            hits += int((out.argmax(1) == y).sum())
            seen += len(y)
    return sum(losses) / seen, hits / seen
'''),
    ],
    "cnn-occlusion": [
        ("one forward pass per position, from a cloned image", '''
def occlusion_map(model, image, target, patch=6, stride=2, fill=0.0):
    model.eval()
    height, width = image.shape[1:]
    rows = (height - patch) // stride + 1
    cols = (width - patch) // stride + 1
    result = torch.zeros(rows, cols)
    with torch.no_grad():
        for i in range(rows):
            for j in range(cols):
                masked = image.clone()
                masked[:, i * stride:i * stride + patch, j * stride:j * stride + patch] = fill
                result[i, j] = torch.softmax(model(masked[None]), dim=-1)[0, target].item()
    return result
'''),
    ],
    "cnn-timing": [
        ("from torch.cuda import synchronize, an extra sync, a check of is_available", '''
from torch.cuda import synchronize


def throughput(step, batch_size, device, warmup=3, repeats=10):
    on_gpu = str(device).startswith("cuda") and torch.cuda.is_available()
    if on_gpu:
        synchronize(device)
    for _ in range(warmup):
        step()
    if on_gpu:
        synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    if on_gpu:
        synchronize(device)
    elapsed = time.perf_counter() - start
    return batch_size * repeats / elapsed
'''),
    ],
    "cnn-batches": [
        ("torch.split of the shuffled tensors", '''
def device_batches(images, labels, batch_size, generator=None):
    order = torch.randperm(labels.shape[0], generator=generator, device=labels.device)
    yield from zip(images[order].split(batch_size), labels[order].split(batch_size))
'''),
    ],
    "cnn-checkpoint": [
        ("a tuple, weights_only left to its default (True since PyTorch 2.6)", '''
def save_checkpoint(path, model, optimizer, epoch):
    torch.save((epoch, model.state_dict(), optimizer.state_dict()), path)


def load_checkpoint(path, model, optimizer, device="cpu"):
    epoch, model_state, optimizer_state = torch.load(path, map_location=torch.device(device))
    model.load_state_dict(model_state)
    optimizer.load_state_dict(optimizer_state)
    return epoch
'''),
        ("deep copies of the state dicts, the path as a string", '''
import copy


def save_checkpoint(path, model, optimizer, epoch):
    state = {"model": copy.deepcopy(model.state_dict()), "optimizer": copy.deepcopy(optimizer.state_dict()), "epoch": int(epoch)}
    torch.save(state, str(path))


def load_checkpoint(path, model, optimizer, device="cpu"):
    state = torch.load(str(path), map_location=device, weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    return state["epoch"]
'''),
        ("a dict with other key names", [('{"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": epoch}',
                                          '{"net": model.state_dict(), "opt": optimizer.state_dict(), "epochs_done": epoch}'),
                                         ('state["model"]', 'state["net"]'), ('state["optimizer"]', 'state["opt"]'),
                                         ('state["epoch"]', 'state["epochs_done"]')]),
    ],
}


def test_every_mutant_changes_its_answer():
    """A replacement that matched nothing would make a mutation test vacuous."""
    assert_every_mutant_changes_its_answer(load(ASSIGNMENT), {k: [m for m in v if not isinstance(m[1], str)]
                                                              for k, v in MUTANTS.items()})


def test_mutants_and_honest_answers_cover_every_graded_exercise():
    from autograder.examples import test_points
    graded = set(test_points(load(ASSIGNMENT)))
    assert set(MUTANTS) == graded and set(HONEST) == graded
