"""Numerical gradient checking with centred differences, as in CS231n.

This is notebook 1's exercise 5, and it would pass for any backward pass the notebooks ask for, so
only hidden tests use it (a second opinion next to ``torch.autograd``).

``numerical_gradient`` nudges one coordinate at a time, so it is slow but needs nothing
from the code under test except a way to evaluate the function. ``relative_error`` is
the scale-free comparison: about 1e-7 or less is right, 1e-2 or more is a bug.
"""
import numpy as np

__all__ = ["numerical_gradient", "relative_error", "gradient_check"]


def numerical_gradient(f, x, h=1e-5):
    """Gradient of the scalar function ``f`` at the float array ``x``: (f(x+h) - f(x-h)) / 2h.

    ``x`` is perturbed in place and restored, so ``f`` may close over it (as a layer's
    parameters are). Returns an array of ``x``'s shape.
    """
    if not (isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating)):
        raise TypeError("numerical_gradient needs a float ndarray it can perturb in place")
    grad = np.zeros_like(x, dtype=np.float64)
    for index in np.ndindex(x.shape):
        original = x[index]
        x[index] = original + h
        f_plus = float(f(x))
        x[index] = original - h
        f_minus = float(f(x))
        x[index] = original
        grad[index] = (f_plus - f_minus) / (2 * h)
    return grad


def relative_error(a, b, eps=1e-8):
    """max |a - b| / max(|a| + |b|, eps): 0 for identical arrays, 1 for opposite ones."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare shapes {a.shape} and {b.shape}")
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), eps), initial=0.0))


def gradient_check(f, x, analytic_grad, h=1e-5, tolerance=1e-6, name="gradient"):
    """Compare ``analytic_grad`` with the numerical gradient of ``f`` at ``x``.

    Raises ``AssertionError`` with the relative error and the worst coordinate when they
    disagree; returns the relative error when they agree.
    """
    numeric = numerical_gradient(f, x, h)
    analytic = np.asarray(analytic_grad, dtype=np.float64)
    error = relative_error(analytic, numeric)
    if error > tolerance:
        worst = np.unravel_index(np.argmax(np.abs(analytic - numeric)), numeric.shape)
        raise AssertionError(
            f"{name}: relative error {error:.2e} > {tolerance:g}; worst at index {worst}: "
            f"analytic {analytic[worst]:.6g}, numerical {numeric[worst]:.6g}")
    return error
