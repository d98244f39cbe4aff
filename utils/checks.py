"""Comparisons that explain themselves: expected vs got, shapes, dtypes and a hint.

Checks return nothing (a test cell ending in one shows no stray ``True``) and raise
``AssertionError`` with the explanation. Every check first coerces what it is given into plain Python floats or base-class
``float64`` arrays, so a value with a surprising ``__eq__`` (a tensor, a masked array,
an ndarray subclass) is judged by its numbers, not by its own comparison operators.
"""
import numbers
import sys

import numpy as np

__all__ = ["as_array", "check_close", "check_shape", "check_true", "check_raises"]


MAX_ITEMS = 10_000_000  # a check never copies more numbers than this
NUMPY_SCALARS = frozenset(t for t in np.sctypeDict.values() if issubclass(t, (np.integer, np.floating)))


def _plain(value, name, depth=0):
    """``value`` as plain Python/NumPy numbers and base-class arrays, calling none of its methods.

    Only exact built-in kinds are accepted: a value of any other type could run code while it
    is converted (``__float__``, ``__array__``, ``__torch_function__``) and, for instance, read
    the expected answer from the checking function's frame.
    """
    kind = type(value)
    if kind is bool or kind is np.bool_:
        raise TypeError(f"{name}: expected a number, got a bool ({value!r})")
    if kind in (int, float) or kind in NUMPY_SCALARS:
        return value
    if isinstance(value, np.ndarray):
        array = np.ndarray.view(value, np.ndarray)  # base-class view: no subclass hooks run
        if array.dtype.kind not in "biuf":
            raise TypeError(f"{name}: expected an array of numbers, got dtype {array.dtype}")
        return array
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    if torch is not None and kind in (torch.Tensor, torch.nn.Parameter):
        return torch.Tensor.numpy(torch.Tensor.double(torch.Tensor.cpu(torch.Tensor.detach(value))))
    if kind in (list, tuple) or (torch is not None and kind is torch.Size):
        if depth > 32:
            raise TypeError(f"{name}: nested too deeply")
        return [_plain(item, name, depth + 1) for item in value]
    raise TypeError(f"{name}: expected numbers (an int, a float, a NumPy array or a tensor), "
                    f"got {kind.__name__}")


def as_array(value, name="value"):
    """Plain ``float64`` ndarray holding ``value``'s numbers (tensors are detached, moved to the CPU)."""
    plain = _plain(value, name)
    try:
        array = np.array(plain, dtype=np.float64)  # a copy, base class, 0-d kept
    except (TypeError, ValueError) as error:
        raise TypeError(f"{name}: expected numbers, got {type(value).__name__} ({error})") from None
    if array.size > MAX_ITEMS:
        raise TypeError(f"{name}: {array.size} numbers is more than a check compares")
    return array


def _describe(array):
    if array.ndim == 0:
        return repr(float(array))
    with np.printoptions(precision=6, threshold=12, edgeitems=3, suppress=True):
        return f"array of shape {array.shape}: {array}"


def check_close(got, expected, name="value", *, rtol=1e-6, atol=1e-8, hint=None):
    """Assert that ``got`` matches ``expected`` elementwise within tolerances.

    Shapes must agree exactly (no silent broadcasting). The message shows both values,
    the largest absolute and relative error, and the hint, if any.
    """
    got_a = as_array(got, name)
    exp_a = as_array(expected, f"expected {name}")
    lines = []
    if got_a.shape != exp_a.shape:
        lines.append(f"{name}: expected shape {exp_a.shape}, got shape {got_a.shape}")
    elif not np.all(np.isfinite(got_a) | ~np.isfinite(exp_a)):
        lines.append(f"{name}: got non-finite values (nan or inf): {_describe(got_a)}")
    elif not np.allclose(got_a, exp_a, rtol=rtol, atol=atol, equal_nan=True):
        abs_err = np.abs(got_a - exp_a)
        rel_err = abs_err / np.maximum(np.abs(exp_a), 1e-300)
        lines += [
            f"{name}: values differ",
            f"  expected {_describe(exp_a)}",
            f"  got      {_describe(got_a)}",
            f"  max abs error {np.nanmax(abs_err):.3g}, max rel error {np.nanmax(rel_err):.3g}"
            f" (tolerance rtol={rtol:g}, atol={atol:g})",
        ]
        if exp_a.size and np.allclose(got_a, -exp_a, rtol=rtol, atol=atol) and np.any(exp_a):
            lines.append("  got is exactly -expected: a sign error?")
    if lines:
        if hint:
            lines.append(f"Hint: {hint}")
        raise AssertionError("\n".join(lines))


def check_shape(got, expected_shape, name="value", hint=None):
    """Assert that ``got`` (array-like or tensor) has exactly ``expected_shape``."""
    shape = tuple(int(n) for n in (got.shape if hasattr(got, "shape") else np.shape(got)))
    expected_shape = tuple(int(n) for n in expected_shape)
    if shape != expected_shape:
        message = f"{name}: expected shape {expected_shape}, got {shape}"
        raise AssertionError(message + (f"\nHint: {hint}" if hint else ""))


def check_true(condition, message, hint=None):
    """Assert a condition that has no natural expected value, with a readable message."""
    if not (condition is True or (isinstance(condition, (np.bool_, numbers.Integral)) and bool(condition))):
        raise AssertionError(message + (f"\nHint: {hint}" if hint else ""))


def check_raises(exception, function, *args, hint=None, **kwargs):
    """Assert that ``function(*args, **kwargs)`` raises ``exception``; returns the error."""
    try:
        function(*args, **kwargs)
    except exception as error:
        return error
    call = f"{getattr(function, '__name__', 'function')}{args}"
    raise AssertionError(f"{call} should raise {exception.__name__}, but it returned normally"
                         + (f"\nHint: {hint}" if hint else ""))

