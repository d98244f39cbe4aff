"""MNIST for the notebooks: the real thing when it is here or can be fetched, a shipped subset otherwise.

Full MNIST (60,000 + 10,000 digits) comes through torchvision's ``datasets.MNIST``, cached under
``data/MNIST/``. Offline, in grading and in tests, the 5,000 real MNIST digits of ``data/mnist_5k.npz``
(see data/README.md) are split, stratified and seeded, into 4,000 training and 1,000 test images
and served by a subclass of the same ``datasets.MNIST``, so both sources give PIL images to the same
``transforms`` and the same ``DataLoader``. The loader never fails for want of a network: a download
is attempted only when allowed, gives up within seconds, and falls back to the subset, saying why.
"""
import os
import socket
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset
from torchvision import datasets, transforms
from torchvision.datasets.vision import VisionDataset

from utils.runtime import grading_mode

__all__ = ["DATA_DIR", "SUBSET_FILE", "MEAN", "STD", "MNISTData", "OfflineMNIST", "load_mnist",
           "subset_split", "default_transform", "make_loaders", "as_tensors"]

DATA_DIR = Path(__file__).resolve().parents[1] / "data"
SUBSET_FILE = DATA_DIR / "mnist_5k.npz"
MEAN, STD = 0.1307, 0.3081  # pixel mean and std of MNIST's 60,000 training images, in [0, 1] units
OFFLINE_ENV = "DLF_OFFLINE"  # set to 1 to forbid any download (CI, tests, a train without wifi)
MIRROR_HOST = "ossci-datasets.s3.amazonaws.com"  # torchvision's first MNIST mirror


@dataclass
class MNISTData:
    """The two datasets, which source they came from ("full" or "subset"), and a one-line description."""

    train: Dataset
    test: Dataset
    source: str
    description: str


class OfflineMNIST(datasets.MNIST):
    """MNIST's own ``__getitem__`` (uint8 tensor -> PIL image -> transform) over in-memory digits."""

    def __init__(self, images, labels, train=True, transform=None, target_transform=None):
        VisionDataset.__init__(self, str(DATA_DIR), transform=transform, target_transform=target_transform)
        self.train = train
        self.data = torch.as_tensor(images, dtype=torch.uint8)
        self.targets = torch.as_tensor(labels, dtype=torch.int64)


def default_transform():
    """To a (1, 28, 28) float tensor, standardised with MNIST's mean and std."""
    return transforms.Compose([transforms.ToTensor(), transforms.Normalize((MEAN,), (STD,))])


def subset_split(test_per_class=100, seed=0, path=SUBSET_FILE):
    """Stratified, seeded split of the shipped digits: ((train images, labels), (test images, labels))."""
    with np.load(path) as archive:
        images, labels = archive["images"], archive["labels"].astype(np.int64)
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for digit in range(10):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test_idx.append(members[:test_per_class])
        train_idx.append(members[test_per_class:])
    train_idx, test_idx = rng.permutation(np.concatenate(train_idx)), np.sort(np.concatenate(test_idx))
    return (images[train_idx], labels[train_idx]), (images[test_idx], labels[test_idx])


def _network_reachable(host=MIRROR_HOST, timeout=3.0):
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _full_mnist(root, download, transform, train_transform):
    """torchvision's MNIST from ``root`` (downloading it first if allowed), or the reason it is not there."""
    try:
        return (datasets.MNIST(root, train=True, transform=train_transform),
                datasets.MNIST(root, train=False, transform=transform)), None
    except RuntimeError:  # "Dataset not found": the files are not under root/MNIST/raw
        pass
    if not download:
        return None, f"no MNIST files under {root}/MNIST and downloading is off"
    if not _network_reachable():
        return None, f"no MNIST files under {root}/MNIST and {MIRROR_HOST} is unreachable"
    try:
        return (datasets.MNIST(root, train=True, transform=train_transform, download=True),
                datasets.MNIST(root, train=False, transform=transform)), None
    except Exception as error:  # a half-finished download must not stop the notebook
        return None, f"downloading MNIST failed ({type(error).__name__}: {error})"


def load_mnist(full=True, root=DATA_DIR, download=None, transform=None, train_transform=None, seed=0,
               verbose=True):
    """MNIST as an ``MNISTData``: full when asked for and available, the offline subset otherwise.

    ``full=False`` always gives the subset. ``download=None`` means: download if the files are missing,
    unless grading or ``DLF_OFFLINE`` is set. ``train_transform`` (default: ``transform``) lets the
    training set add augmentation. ``seed`` fixes the subset's train/test split.
    """
    transform = transform or default_transform()
    train_transform = train_transform or transform
    if download is None:
        download = not grading_mode() and not os.environ.get(OFFLINE_ENV)
    reason = "the offline subset was asked for"
    if full:
        pair, reason = _full_mnist(Path(root), download, transform, train_transform)
        if pair is not None:
            data = MNISTData(*pair, "full", f"full MNIST ({len(pair[0]):,} train / {len(pair[1]):,} test) "
                                            f"from {Path(root) / 'MNIST'}")
            if verbose:
                print("Data:", data.description)
            return data
    (train_x, train_y), (test_x, test_y) = subset_split(seed=seed)
    data = MNISTData(OfflineMNIST(train_x, train_y, True, train_transform),
                     OfflineMNIST(test_x, test_y, False, transform), "subset",
                     f"offline MNIST subset ({len(train_y):,} train / {len(test_y):,} test) from "
                     f"{SUBSET_FILE.name}, because {reason}")
    if verbose:
        print("Data:", data.description)
    return data


def make_loaders(data, batch_size=64, test_batch_size=1000, pin_memory=False, seed=0):
    """Shuffled training and ordered test ``DataLoader``s; the shuffle order is seeded.

    ``pin_memory=True`` (worth it only with a CUDA device) puts batches in page-locked memory, which
    lets ``tensor.to("cuda", non_blocking=True)`` copy them while the GPU is still busy.
    """
    generator = torch.Generator().manual_seed(seed)
    train = DataLoader(data.train, batch_size=batch_size, shuffle=True, generator=generator,
                       pin_memory=pin_memory)
    test = DataLoader(data.test, batch_size=test_batch_size, shuffle=False, pin_memory=pin_memory)
    return train, test


def as_tensors(dataset, device="cpu"):
    """The whole dataset as (images (N, 1, 28, 28) float32 standardised, labels (N,) int64) on ``device``.

    The same numbers as ``default_transform()`` gives, without a PIL image per digit: the way to keep
    MNIST resident on a GPU and skip the DataLoader.
    """
    images = dataset.data.to(device).unsqueeze(1).float().div_(255).sub_(MEAN).div_(STD)
    return images, dataset.targets.to(device)
