"""Mutation tests for notebook 07 (training practice): each plausible wrong answer costs exactly the
points of its own exercise (a split that does not shuffle, early stopping that keeps the live weights,
weight decay applied to biases, augmentation applied to the validation set, a search that draws the
learning rate uniformly, transfer learning that forgets to freeze, ...), and honest answers written in
other styles keep every point.

All of them are judged in one kernel (tests/mutants.py), which also measures how many of them the
visible checks catch. (The untouched student version earning nothing is test_grading.py's job.)
"""
import pytest

from mutants import (test_each_honest_alternative_keeps_its_points,  # noqa: F401 (run here, on this
                     test_each_wrong_answer_fails_only_its_own_exercise,  # module's MUTANTS and HONEST)
                     test_visible_checks_catch_most_wrong_answers, verdicts)
from notebook_tools import assert_every_mutant_changes_its_answer, load

ASSIGNMENT = "07_training_practice"

# test id -> [(what the student got wrong, [(old, new), ...] replacements in the answer cell)]
MUTANTS = {
    "train-split": [
        ("never shuffles (the last examples become the validation set)",
         [("torch.randperm(n, generator=generator)", "torch.arange(n)")]),
        ("ignores the generator", [("torch.randperm(n, generator=generator)", "torch.randperm(n)")]),
        ("validation examples also in the training set", [("return order[n_val:], order[:n_val]", "return order, order[:n_val]")]),
        ("int(n * val_fraction) instead of round", [("n_val = round(n * val_fraction)", "n_val = int(n * val_fraction)")]),
        ("accepts any val_fraction",
         [('    if not 0 < val_fraction < 1:\n        raise ValueError(f"val_fraction must be strictly between 0 and 1, got {val_fraction}")\n', "")]),
    ],
    "train-curves": [
        ("evaluates in train mode (dropout on)", [("    was_training = model.training\n    model.eval()\n", "    was_training = model.training\n")]),
        ("keeps a reference to the live weights instead of a copy",
         [("best_state = copy.deepcopy(model.state_dict())", "best_state = model.state_dict()")]),
        ("returns the last epoch's weights, not the best", [("    model.load_state_dict(best_state)\n", "")]),
        ("ignores the penalty", [("            if penalty is not None:\n                loss = loss + penalty(model)\n", "")]),
        ("mean of the batch means (the smaller last batch counts as much as a full one)",
         [("total_loss, correct, count = 0.0, 0, 0", "total_loss, correct, count, means = 0.0, 0, 0, []"),
          ('total_loss += F.cross_entropy(logits, y, reduction="sum").item()', "means.append(F.cross_entropy(logits, y).item())"),
          ("return total_loss / count, correct / count", "return sum(means) / len(means), correct / count")]),
        ("leaves the model in eval mode", [("    model.train(was_training)\n", "")]),
        ("evaluate returns 0-d tensors", [('F.cross_entropy(logits, y, reduction="sum").item()', 'F.cross_entropy(logits, y, reduction="sum")'),
                                          ("(logits.argmax(dim=1) == y).sum().item()", "(logits.argmax(dim=1) == y).sum()")]),
    ],
    "train-decay": [
        ("the penalty decays the biases too", [("        if parameter.dim() >= 2:\n            total", "        if True:\n            total")]),
        ("the decay group holds the biases too",
         [("weights = [p for p in model.parameters() if p.dim() >= 2]", "weights = list(model.parameters())"),
          ("others = [p for p in model.parameters() if p.dim() < 2]", "others = []")]),
        ("no 1/2 in the penalty", [("return lam / 2 * total", "return lam * total")]),
        ("the penalty is detached from the graph", [("(parameter ** 2).sum()", "(parameter.detach() ** 2).sum()")]),
        ("both groups decay", [('{"params": others, "weight_decay": 0.0}', '{"params": others, "weight_decay": weight_decay}')]),
    ],
    "train-augment": [
        ("augments the validation set",
         [('"val": DataLoader(AugmentedDataset(val_x, val_y), batch_size=500)',
           '"val": DataLoader(AugmentedDataset(val_x, val_y, transform), batch_size=500)')]),
        ("fills uncovered pixels with 0 (grey) instead of the background", [(", fill=BACKGROUND)", ")")]),
        ("augments once, when the data set is built",
         [("self.images, self.labels, self.transform = images, labels, transform",
           "self.images = images if transform is None else torch.stack([transform(image) for image in images])\n"
           "        self.labels, self.transform = labels, None")]),
        ("the training batches are not shuffled", [("shuffle=True, generator=generator)", "shuffle=False)")]),
        ("evaluates on augmented training digits",
         [('"train": DataLoader(AugmentedDataset(train_x, train_y), batch_size=500)',
           '"train": DataLoader(AugmentedDataset(train_x, train_y, transform), batch_size=500)')]),
    ],
    "train-search": [
        ("the search samples the learning rate uniformly",
         [("values = {name: log_uniform(low, high, 1, generator).item() for name, (low, high) in space.items()}",
           'values = {name: (low + (high - low) * torch.rand(1, generator=generator, dtype=torch.float64)).item() if name == "lr"\n'
           "                  else log_uniform(low, high, 1, generator).item() for name, (low, high) in space.items()}")]),
        ("refine keeps the worst trials", [("reverse=True", "reverse=False")]),
        ("one random number for every hyper-parameter of a trial",
         [("values = {name: log_uniform(low, high, 1, generator).item() for name, (low, high) in space.items()}",
           "u = torch.rand(1, generator=generator, dtype=torch.float64).item()\n"
           "        values = {name: math.exp(math.log(low) + u * (math.log(high) - math.log(low))) for name, (low, high) in space.items()}")]),
        ("log_uniform samples uniformly", [("return torch.exp(math.log(low) + u * (math.log(high) - math.log(low)))", "return low + u * (high - low)")]),
        ("the refined range leaves the old one",
         [("(max(low, min(values) / margin), min(high, max(values) * margin))", "(min(values) / margin, max(values) * margin)")]),
        ("refine ignores the margin", [("min(values) / margin", "min(values)"), ("max(values) * margin", "max(values)")]),
    ],
    "train-transfer": [
        ("forgets to freeze the features",
         [("        for parameter in model.features.parameters():\n            parameter.requires_grad_(False)\n"
           "        return model, list(model.head.parameters())", "        return model, list(model.parameters())")]),
        ("changes the pre-trained model (no copy)", [("model = copy.deepcopy(pretrained)", "model = pretrained")]),
        ("keeps the pre-trained head", [("    model.head = nn.Linear(pretrained.head.in_features, n_classes)\n", "")]),
        ("'scratch' starts from the pre-trained weights",
         [("        model = SmallCNN(n_classes)\n        return model, list(model.parameters())",
           "        model = copy.deepcopy(pretrained)\n        model.head = nn.Linear(pretrained.head.in_features, n_classes)\n"
           "        return model, list(model.parameters())")]),
        ("fine-tuning starts from a random initialisation",
         [("        return model, list(model.head.parameters())\n    return model, list(model.parameters())",
           "        return model, list(model.head.parameters())\n    model = SmallCNN(n_classes)\n    return model, list(model.parameters())")]),
        ("freezes the new head too", [("for parameter in model.features.parameters():", "for parameter in model.parameters():")]),
    ],
}

# Correct answers in other styles: every one must keep its points.
HONEST = {
    "train-split": [("validation taken from the end, bounds written as two comparisons", '''
def split_indices(n, val_fraction, generator=None):
    if val_fraction <= 0 or val_fraction >= 1:
        raise ValueError("val_fraction must lie strictly between 0 and 1")
    n_val = round(n * val_fraction)
    shuffled = torch.randperm(n, generator=generator)
    return shuffled[: n - n_val].clone(), shuffled[n - n_val:].clone()      # validation from the end
''')],
    "train-curves": [("a list of per-batch sums, snapshots of every epoch, the best chosen at the end", '''
def evaluate(model, loader):
    mode = model.training
    model.train(False)
    losses, hits, seen = [], [], 0
    with torch.no_grad():
        for x, y in loader:
            out = model(x)
            losses.append(F.cross_entropy(out, y) * len(y))
            hits.append((out.argmax(1) == y).sum())
            seen += len(y)
    model.train(mode)
    return float(torch.stack(losses).sum() / seen), float(torch.stack(hits).sum()) / seen


def fit(model, optimizer, train_loader, eval_loaders, epochs, penalty=None):
    history = {}
    snapshots = []
    for _ in range(epochs):
        model.train()
        for x, y in train_loader:
            optimizer.zero_grad(set_to_none=True)
            objective = F.cross_entropy(model(x), y)
            if penalty:
                objective = objective + penalty(model)
            objective.backward()
            optimizer.step()
        for name, data in eval_loaders.items():
            loss, acc = evaluate(model, data)
            history.setdefault(name + "_loss", []).append(loss)
            history.setdefault(name + "_acc", []).append(acc)
        snapshots.append({k: v.detach().clone() for k, v in model.state_dict().items()})
    best = min(range(epochs), key=lambda e: history["val_loss"][e])
    model.load_state_dict(snapshots[best])
    history["best_epoch"] = best
    return history
''')],
    "train-decay": [("pow and ndim, the groups filled from named_parameters", '''
def l2_penalty(model, lam):
    squares = [w.pow(2).sum() for w in model.parameters() if w.ndim > 1]
    if not squares:
        return torch.tensor(0.0)
    return 0.5 * lam * torch.stack(squares).sum()


def decay_groups(model, weight_decay):
    groups = [{"params": [], "weight_decay": weight_decay}, {"params": [], "weight_decay": 0.0}]
    for name, parameter in model.named_parameters():
        groups[0 if parameter.ndim > 1 else 1]["params"].append(parameter)
    return groups
''')],
    "train-augment": [("Compose, an identity lambda, TensorDatasets for the plain loaders", '''
def augmentation():
    return v2.Compose([v2.RandomAffine(degrees=(-10, 10), translate=(0.1, 0.1), scale=(0.9, 1.1), fill=BACKGROUND)])


class AugmentedDataset(Dataset):
    def __init__(self, images, labels, transform=None):
        self.images = images
        self.labels = labels
        self.transform = transform if transform is not None else (lambda image: image)

    def __len__(self):
        return self.images.shape[0]

    def __getitem__(self, index):
        return self.transform(self.images[index]), self.labels[index]


def make_loaders(train_x, train_y, val_x, val_y, batch_size, transform=None, generator=None):
    loaders = {"fit": DataLoader(AugmentedDataset(train_x, train_y, transform), batch_size, shuffle=True, generator=generator)}
    loaders["train"] = DataLoader(TensorDataset(train_x, train_y), batch_size=64)
    loaders["val"] = DataLoader(TensorDataset(val_x, val_y), batch_size=128, shuffle=False)
    return loaders
''')],
    "train-search": [("log10 and a power of ten, all draws at once, heapq for the best trials", '''
def log_uniform(low, high, size, generator=None):
    exponent = math.log10(low) + (math.log10(high) - math.log10(low)) * torch.rand(size, generator=generator, dtype=torch.float64)
    return torch.pow(10.0, exponent).clamp(low, high)


def random_search(objective, space, n_trials, generator=None):
    draws = {name: log_uniform(low, high, n_trials, generator).tolist() for name, (low, high) in space.items()}
    results = []
    for k in range(n_trials):
        values = {name: draws[name][k] for name in space}
        results.append(dict(values, score=objective(**values)))
    return results


def refine(trials, space, top_k=3, margin=2.0):
    import heapq
    best = heapq.nlargest(top_k, trials, key=lambda t: t["score"])
    return {name: (max(low, min(t[name] for t in best) / margin), min(high, max(t[name] for t in best) * margin))
            for name, (low, high) in space.items()}
''')],
    "train-transfer": [("scratch by resetting a copy, frozen with requires_grad_ on the whole copy", '''
def transfer_model(pretrained, mode, n_classes):
    if mode not in {"frozen", "finetune", "scratch"}:
        raise ValueError(mode)
    model = copy.deepcopy(pretrained)
    if mode == "scratch":
        for module in model.modules():
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                module.reset_parameters()
    if mode == "frozen":
        model.requires_grad_(False)                 # everything, then the new head below is trainable
    model.head = nn.Linear(model.head.in_features, n_classes)
    trainable = [p for p in model.parameters() if p.requires_grad]
    return model, trainable
''')],
}


def test_every_mutant_changes_its_answer():
    """A replacement that matched nothing would make a mutation test vacuous."""
    assert_every_mutant_changes_its_answer(load(ASSIGNMENT), MUTANTS)


def test_mutants_and_honest_answers_cover_every_graded_exercise():
    from autograder.examples import test_points
    graded = set(test_points(load(ASSIGNMENT)))
    assert set(MUTANTS) == graded and set(HONEST) == graded
