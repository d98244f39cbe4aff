"""Receptive fields measured by backpropagation: the oracle of notebook 3's receptive-field exercise.

The receptive field is *measured* (backpropagate from one output pixel of a real PyTorch model and
look where the gradient lands), so it checks a student's formula independently of any formula.
"""
import numpy as np

__all__ = ["stack_model", "measure_receptive_field"]


def stack_model(layers):
    """A PyTorch stack of single-channel convolutions with all-ones weights and no bias.

    ``layers`` lists ``(kernel, stride, dilation)`` from the input up. Positive weights mean no
    gradient can cancel, so the non-zero input gradient of one output pixel is exactly its
    receptive field. A k x k pooling window with stride s covers the same inputs as this conv.
    """
    import torch

    modules = []
    for kernel, stride, dilation in layers:
        conv = torch.nn.Conv2d(1, 1, int(kernel), stride=int(stride), dilation=int(dilation), bias=False)
        torch.nn.init.ones_(conv.weight)
        modules.append(conv)
    return torch.nn.Sequential(*modules).double()


def measure_receptive_field(model, input_size, channels=1):
    """(height, width) of the input region that one output pixel of ``model`` depends on.

    Runs a ``(1, channels, input_size, input_size)`` input of ones through ``model``, backpropagates
    from the centre output pixel (summed over channels) and returns the bounding box of the non-zero
    input gradient. ``input_size`` must be large enough for that box to lie inside the input.
    """
    import torch

    dtype = next(model.parameters()).dtype if any(True for _ in model.parameters()) else torch.float64
    x = torch.ones(1, channels, input_size, input_size, dtype=dtype, requires_grad=True)
    out = model(x)
    h, w = out.shape[-2:]
    out[0, :, h // 2, w // 2].sum().backward()
    rows, cols = np.nonzero(x.grad.abs().sum(dim=(0, 1)).numpy())
    if rows.size == 0:
        raise ValueError("the output pixel does not depend on the input (all-zero gradient)")
    touches_border = rows.min() == 0 or cols.min() == 0 or rows.max() == input_size - 1 or cols.max() == input_size - 1
    if touches_border:
        raise ValueError(f"input_size={input_size} is too small: the receptive field reaches the border")
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
