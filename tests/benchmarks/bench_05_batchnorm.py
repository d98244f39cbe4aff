"""Notebook 5's two measured claims: the simplified BatchNorm backward pass against the
node-by-node one, and the inference speed-up of folding BatchNorm into the preceding layer.

Run: ``python tests/benchmarks/bench_05_batchnorm.py``. It measures the solution notebook's own
code (its answer cells are executed here, not copied), on one CPU thread as the notebook runs,
and on the GPU too when there is one, and prints medians and ratios. Timings on a shared machine are noisy: compare ratios, re-run.
"""
import json
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from utils.batchnorm import median_time, small_cnn

NOTEBOOK = Path(__file__).resolve().parents[2] / "solutions" / "05_batchnorm" / "05_batchnorm.ipynb"

CELLS = ("batchnorm-imports", "batchnorm-backward-graph-answer", "batchnorm-backward-simple-answer",
         "batchnorm-fold-answer", "batchnorm-fuse")


def notebook_functions():
    """Namespace holding the solution notebook's imports, backward passes, fold_batchnorm and fuse."""
    cells = json.loads(NOTEBOOK.read_text())["cells"]     # plain JSON: runs where nbformat is not installed
    sources = {cell["metadata"].get("nbgrader", {}).get("grade_id"): "".join(cell["source"]) for cell in cells}
    namespace = {}
    for cell_id in CELLS:
        exec(compile(sources[cell_id], cell_id, "exec"), namespace)
    return namespace


def bench_backward(ns):
    print("BatchNorm backward, float64 NumPy, median of 20 runs (autograd: torch F.batch_norm forward + backward)")
    print(f"{'batch':>12} {'graph ms':>10} {'formula ms':>11} {'autograd ms':>12} {'graph/formula':>14}")
    rng = np.random.default_rng(0)
    for n, d in ((64, 128), (512, 1024), (2048, 1024)):
        x, dout, gamma = rng.normal(size=(n, d)), rng.normal(size=(n, d)), rng.normal(size=d)
        t_graph = median_time(lambda: ns["batchnorm_backward_graph"](dout, x, gamma))
        t_simple = median_time(lambda: ns["batchnorm_backward_simple"](dout, x, gamma))
        X, G = torch.tensor(x, requires_grad=True), torch.tensor(gamma, requires_grad=True)
        D = torch.tensor(dout)
        t_autograd = median_time(lambda: F.batch_norm(X, None, None, G, None, training=True).backward(D))
        print(f"{n:>5} x {d:<5} {t_graph * 1e3:10.2f} {t_simple * 1e3:11.2f} {t_autograd * 1e3:12.2f} "
              f"{t_graph / t_simple:13.2f}x")


def conv_bn_net(widths=(32, 64, 128)):
    """A VGG-style stack of conv (no bias) - BN - ReLU blocks with pooling, for 3 x 32 x 32 images."""
    layers, channels = [], 3
    for width in widths:
        layers += [nn.Conv2d(channels, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
                   nn.MaxPool2d(2)]
        channels = width
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, 10))


def with_statistics(model):
    """Give every BatchNorm non-trivial running statistics and affine parameters; eval mode."""
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                n = module.num_features
                module.running_mean.copy_(torch.randn(n, generator=generator))
                module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                module.weight.copy_(torch.randn(n, generator=generator))
                module.bias.copy_(torch.randn(n, generator=generator))
    return model.eval()


def bench_fusion(ns):
    print("\nBatchNorm folded into the preceding conv, eval mode, float32, median of 100 runs")
    print(f"{'model':>34} {'batch':>6} {'with BN ms':>11} {'fused ms':>9} {'speed-up':>9} {'max |diff|':>11}")
    torch.manual_seed(0)
    cases = (("notebook's small_cnn, 1x10x10", small_cnn(), (1, 10, 10), (64, 256)),
             ("3 conv-BN-ReLU blocks, 3x32x32", conv_bn_net(), (3, 32, 32), (1, 64)))
    for name, model, image_shape, batches in cases:
        model = with_statistics(model)
        fused = ns["fuse"](model)
        for batch in batches:
            x = torch.randn(batch, *image_shape)
            with torch.no_grad():
                difference = (fused(x) - model(x)).abs().max().item()
                t_model = median_time(lambda: model(x), repeats=100, warmup=10)
                t_fused = median_time(lambda: fused(x), repeats=100, warmup=10)
            print(f"{name:>34} {batch:>6} {t_model * 1e3:11.2f} {t_fused * 1e3:9.2f} {t_model / t_fused:8.2f}x "
                  f"{difference:11.1e}")


def bench_fusion_cuda(ns):
    """The same comparison on a GPU, if there is one (kernel launches, not arithmetic, dominate small nets)."""
    print("\nOn the GPU (float32, eval mode, median of 100 runs, synchronised)")
    print(f"{'model':>34} {'batch':>6} {'with BN ms':>11} {'fused ms':>9} {'speed-up':>9}")
    torch.manual_seed(0)
    for batch in (1, 64, 512):
        model = with_statistics(conv_bn_net()).cuda()
        fused = ns["fuse"](model)
        x = torch.randn(batch, 3, 32, 32, device="cuda")

        def timed(net):
            def run():
                net(x)
                torch.cuda.synchronize()
            return run
        with torch.no_grad():
            t_model = median_time(timed(model), repeats=100, warmup=10)
            t_fused = median_time(timed(fused), repeats=100, warmup=10)
        print(f"{'3 conv-BN-ReLU blocks, 3x32x32':>34} {batch:>6} {t_model * 1e3:11.3f} {t_fused * 1e3:9.3f} "
              f"{t_model / t_fused:8.2f}x")


if __name__ == "__main__":
    functions = notebook_functions()       # its imports cell sets one thread, as in the notebook
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)\n")
    bench_backward(functions)
    bench_fusion(functions)
    if torch.cuda.is_available():
        bench_fusion_cuda(functions)
