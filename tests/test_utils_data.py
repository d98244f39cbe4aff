"""utils.data: the shipped subset loads fast, splits reproducibly, and the loader never needs a network."""
import time

import numpy as np
import pytest
import torch

from utils import data as mnist


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a socket fails the test: nothing here may touch the network."""
    def refuse(*args, **kwargs):
        raise AssertionError("a test tried to open a network connection")
    monkeypatch.setattr(mnist.socket, "create_connection", refuse)
    monkeypatch.setattr(mnist.datasets.MNIST, "download", refuse)


def test_subset_file_is_small_and_fast():
    assert mnist.SUBSET_FILE.stat().st_size < 2_000_000
    started = time.perf_counter()
    data = mnist.load_mnist(full=False, verbose=False)
    image, label = data.train[0]
    assert time.perf_counter() - started < 1.0
    assert image.shape == (1, 28, 28) and image.dtype == torch.float32 and isinstance(label, int)


def test_split_is_stratified_disjoint_and_seeded():
    (train_x, train_y), (test_x, test_y) = mnist.subset_split(seed=0)
    assert train_x.shape == (4000, 28, 28) and test_x.shape == (1000, 28, 28)
    assert np.bincount(train_y).tolist() == [400] * 10 and np.bincount(test_y).tolist() == [100] * 10
    train_rows = {row.tobytes() for row in train_x}
    assert not any(row.tobytes() in train_rows for row in test_x), "a test digit is also in the training set"
    (again_x, _), _ = mnist.subset_split(seed=0)
    (other_x, _), _ = mnist.subset_split(seed=1)
    assert np.array_equal(train_x, again_x) and not np.array_equal(train_x, other_x)


def test_missing_files_fall_back_to_the_subset_and_say_why(tmp_path, capsys):
    data = mnist.load_mnist(full=True, root=tmp_path, download=False)
    assert data.source == "subset" and len(data.train) == 4000 and len(data.test) == 1000
    out = capsys.readouterr().out
    assert "offline MNIST subset" in out and "downloading is off" in out


def test_offline_environment_variable_forbids_downloads(tmp_path, monkeypatch):
    monkeypatch.setenv(mnist.OFFLINE_ENV, "1")
    assert mnist.load_mnist(full=True, root=tmp_path, verbose=False).source == "subset"


def test_unreachable_mirror_falls_back_quickly(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "_network_reachable", lambda *a, **k: False)
    data = mnist.load_mnist(full=True, root=tmp_path, download=True, verbose=False)
    assert data.source == "subset" and "unreachable" in data.description


def test_failed_download_falls_back(tmp_path, monkeypatch):
    def broken(self):
        raise OSError("connection reset")
    monkeypatch.setattr(mnist, "_network_reachable", lambda *a, **k: True)
    monkeypatch.setattr(mnist.datasets.MNIST, "download", broken)
    data = mnist.load_mnist(full=True, root=tmp_path, download=True, verbose=False)
    assert data.source == "subset" and "connection reset" in data.description


def _write_idx(path, array, magic):
    import struct
    header = struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def test_full_mnist_is_used_when_its_files_are_there(tmp_path):
    """torchvision's own reader on tiny idx files in the standard layout: the 'full' branch."""
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in [("train", 12), ("t10k", 5)]:
        _write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)), 2051)
        _write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n), 2049)
    data = mnist.load_mnist(full=True, root=tmp_path, download=False, verbose=False)
    assert data.source == "full" and (len(data.train), len(data.test)) == (12, 5)
    assert type(data.train) is mnist.datasets.MNIST


def test_subset_goes_through_mnist_getitem_and_transforms():
    data = mnist.load_mnist(full=False, verbose=False)
    assert isinstance(data.train, mnist.datasets.MNIST)
    raw = mnist.OfflineMNIST(data.train.data, data.train.targets, transform=None)
    image, _ = raw[0]
    assert image.mode == "L" and image.size == (28, 28)
    x, y = data.train[3]
    expected = (data.train.data[3].float() / 255 - mnist.MEAN) / mnist.STD
    assert torch.allclose(x[0], expected, atol=1e-6) and y == int(data.train.targets[3])


def test_as_tensors_matches_the_transform_path():
    data = mnist.load_mnist(full=False, verbose=False)
    images, labels = mnist.as_tensors(data.test)
    assert images.shape == (1000, 1, 28, 28) and labels.dtype == torch.int64
    batch_x, batch_y = next(iter(mnist.make_loaders(data, test_batch_size=1000)[1]))
    assert torch.allclose(images, batch_x, atol=1e-6) and torch.equal(labels, batch_y)
    meta_images, _ = mnist.as_tensors(data.test, device="meta")
    assert meta_images.device.type == "meta" and meta_images.shape == images.shape


def test_training_loader_shuffle_is_seeded():
    data = mnist.load_mnist(full=False, verbose=False)
    first = [next(iter(mnist.make_loaders(data, batch_size=8, seed=s)[0]))[1] for s in (0, 0, 1)]
    assert torch.equal(first[0], first[1]) and not torch.equal(first[0], first[2])
