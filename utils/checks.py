"""Comparisons that explain themselves: expected vs got, shapes, dtypes and a hint.

Checks return nothing (a test cell ending in one shows no stray ``True``) and raise
``AssertionError`` with the explanation. Every check first coerces what it is given into plain Python floats or base-class
``float64`` arrays, so a value with a surprising ``__eq__`` (a tensor, a masked array,
an ndarray subclass) is judged by its numbers, not by its own comparison operators.

A message stands on its own (Colab prints it under its own traceback): it names the value,
shows expected against got (for arrays, the first few differing elements and how many
differ), and ends with the hint. In Jupyter the traceback stops at the test cell's line:
this module's frames are left out (``_render_traceback_``), except in grading mode, where the
autograder reads them to tell a check's message from one a student's code composed.
"""
import numbers
import os
import sys
import traceback
import types

import numpy as np

__all__ = ["as_array", "check_close", "check_dtype", "check_shape", "check_true", "check_raises"]


MAX_ITEMS = 10_000_000  # a check never copies more numbers than this
NUMPY_SCALARS = frozenset(t for t in np.sctypeDict.values() if issubclass(t, (np.integer, np.floating)))
SHOWN = 5  # differing elements listed in a message; the rest are counted
WHOLE = 8  # arrays up to this many elements are also shown whole
GRADING = os.environ.get("NBGRADER_EXECUTION") == "autograde"  # keep every frame for the autograder
NUMPY_INTEGERS = frozenset(t for t in NUMPY_SCALARS if issubclass(t, np.integer))


def _plain(value, name, depth=0):
    """``value`` as plain Python/NumPy numbers and base-class arrays, calling none of its methods.

    Only exact built-in kinds are accepted: a value of any other type could run code while it
    is converted (``__float__``, ``__array__``, ``__torch_function__``) and, for instance, read
    the expected answer from the checking function's frame.
    """
    kind = type(value)
    if kind is bool or kind is np.bool_:
        raise _explained(TypeError(f"{name}: expected a number, got a bool ({value!r})"))
    if kind in (int, float) or kind in NUMPY_SCALARS:
        return value
    if isinstance(value, np.ndarray):
        array = np.ndarray.view(value, np.ndarray)  # base-class view: no subclass hooks run
        if array.dtype.kind not in "biuf":
            raise _explained(TypeError(f"{name}: expected an array of numbers, got dtype {array.dtype}"))
        return array
    torch = sys.modules.get("torch")  # a tensor can only exist once torch is imported
    if torch is not None and kind in (torch.Tensor, torch.nn.Parameter):
        return torch.Tensor.numpy(torch.Tensor.double(torch.Tensor.cpu(torch.Tensor.detach(value))))
    if kind in (list, tuple) or (torch is not None and kind is torch.Size):
        if depth > 32:
            raise _explained(TypeError(f"{name}: nested too deeply"))
        return [_plain(item, name, depth + 1) for item in value]
    raise _explained(TypeError(f"{name}: expected numbers (an int, a float, a NumPy array or a tensor), "
                               f"got {kind.__name__}"))


def as_array(value, name="value"):
    """Plain ``float64`` ndarray holding ``value``'s numbers (tensors are detached, moved to the CPU)."""
    plain = _plain(value, name)
    try:
        array = np.array(plain, dtype=np.float64)  # a copy, base class, 0-d kept
    except (TypeError, ValueError) as error:
        raise _explained(TypeError(f"{name}: expected numbers, got {type(value).__name__} ({error})")) from None
    if array.size > MAX_ITEMS:
        raise _explained(TypeError(f"{name}: {array.size} numbers is more than a check compares"))
    return array


def _digits(expected, got):
    """Significant digits enough to tell ``got`` from ``expected`` (6 when they agree)."""
    for digits in (6, 9, 12):
        if np.any(_formatted(expected, digits) != _formatted(got, digits)) or not np.any(expected != got):
            return digits
    return 17


def _formatted(values, digits):
    """Numbers as a person reads them: ``0``, ``0.5``, ``7.1e-218``, ``nan``."""
    return np.array([f"{x:.{digits}g}" for x in np.ravel(values)])


def _array(values, digits):
    text = ", ".join(_formatted(values, digits))
    return f"[{text}]" if np.ndim(values) else text


def _errors(exp_a, got_a, where):
    """The largest absolute error and, where expected is not 0, the largest relative one."""
    abs_err = np.abs(got_a - exp_a)[where]
    line = f"max abs error {_array(abs_err.max(), 3)}"
    nonzero = exp_a[where] != 0
    if nonzero.any():
        line += f", max rel error {_array((abs_err[nonzero] / np.abs(exp_a[where][nonzero])).max(), 3)}"
    return line


def _differences(exp_a, got_a, bad, name, what):
    """The lines that show where ``got`` and ``expected`` differ (``bad`` marks those elements):
    small arrays whole, larger ones by their first few differing elements."""
    if exp_a.ndim == 0:
        digits = _digits(exp_a, got_a)
        return [f"{name}: {what}: expected {_array(exp_a, digits)}, got {_array(got_a, digits)}"]
    count = int(bad.sum())
    lines = [f"{name}: {what} at {count} of {bad.size} elements"]
    if bad.size <= WHOLE and exp_a.ndim == 1:
        digits = _digits(exp_a[bad], got_a[bad])
        return lines + [f"  expected {_array(exp_a, digits)}", f"  got      {_array(got_a, digits)}"]
    shown = list(zip(*np.unravel_index(np.flatnonzero(bad)[:SHOWN], bad.shape)))
    digits = _digits(np.array([exp_a[i] for i in shown]), np.array([got_a[i] for i in shown]))
    lines.append(f"  {'index':<14} {'expected':>14} {'got':>14}")
    for index in shown:
        label = "[" + ", ".join(str(int(i)) for i in index) + "]"
        lines.append(f"  {label:<14} {_array(exp_a[index], digits):>14} {_array(got_a[index], digits):>14}")
    if count > SHOWN:
        lines.append(f"  ... and {count - SHOWN} more")
    return lines


def check_close(got, expected, name="value", *, rtol=1e-6, atol=1e-8, hint=None):
    """Assert that ``got`` matches ``expected`` elementwise within tolerances.

    Shapes must agree exactly (no silent broadcasting). The message shows expected against
    got (the differing elements of an array, a few of them), the largest errors, the
    tolerance, and the hint, if any.
    """
    __tracebackhide__ = not GRADING
    got_a = as_array(got, name)
    exp_a = as_array(expected, f"expected {name}")
    lines = []
    if got_a.shape != exp_a.shape:
        lines.append(f"{name}: expected shape {exp_a.shape}, got shape {got_a.shape}")
    else:
        finite = np.isfinite(got_a) | ~np.isfinite(exp_a)
        close = np.isclose(got_a, exp_a, rtol=rtol, atol=atol, equal_nan=True)
        if not finite.all():
            lines += _differences(exp_a, got_a, ~finite, name, "got non-finite values (nan or inf)")
        elif not close.all():
            lines += _differences(exp_a, got_a, ~close, name, "values differ")
            lines.append(f"  {_errors(exp_a, got_a, ~close)} (tolerance rtol={rtol:g}, atol={atol:g})")
            if np.any(exp_a) and np.allclose(got_a, -exp_a, rtol=rtol, atol=atol):
                lines.append("  got is exactly -expected: a sign error?")
    _fail(lines, hint)


def _dtype_name(value):
    """The dtype of a value as a short name (``float32``), reading no attribute a student defined."""
    kind = type(value)
    if kind in (bool, int, float):
        return f"Python {kind.__name__}"
    if kind in NUMPY_SCALARS or kind is np.bool_:
        return np.dtype(kind).name
    if isinstance(value, np.ndarray):
        return np.ndarray.view(value, np.ndarray).dtype.name
    torch = sys.modules.get("torch")
    if torch is not None and kind in (torch.Tensor, torch.nn.Parameter):
        return str(torch.Tensor.dtype.__get__(value)).removeprefix("torch.")
    raise _explained(TypeError(f"expected an array, a tensor or a number, got {kind.__name__}"))


def _expected_dtype_name(dtype):
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(dtype, torch.dtype):
        return str(dtype).removeprefix("torch.")
    if any(dtype is kind for kind in (bool, int, float)):  # not ==: np.dtype("float64") == float
        return f"Python {dtype.__name__}"
    return np.dtype(dtype).name


def check_dtype(got, expected_dtype, name="value", hint=None):
    """Assert that ``got`` (array, tensor or number) has ``expected_dtype``.

    ``expected_dtype`` is a NumPy dtype (``np.float32``, ``"float32"``), a torch dtype, or
    ``float`` / ``int`` for a Python number. NumPy and torch dtypes of the same name agree:
    whether an array or a tensor came back is a separate question.
    """
    __tracebackhide__ = not GRADING
    got_name, expected_name = _dtype_name(got), _expected_dtype_name(expected_dtype)
    lines = [] if got_name == expected_name else [f"{name}: expected dtype {expected_name}, got {got_name}"]
    _fail(lines, hint)


def _shape_of(value, name):
    """The shape of an array, tensor or nested list, reading no attribute a student defined."""
    if isinstance(value, np.ndarray):
        return np.ndarray.view(value, np.ndarray).shape
    torch = sys.modules.get("torch")
    if torch is not None and type(value) in (torch.Tensor, torch.nn.Parameter):
        return tuple(torch.Tensor.size(value))
    return as_array(value, name).shape


def check_shape(got, expected_shape, name="value", hint=None):
    """Assert that ``got`` (array-like or tensor) has exactly ``expected_shape``."""
    __tracebackhide__ = not GRADING
    shape = tuple(int(n) for n in _shape_of(got, name))
    expected_shape = tuple(int(n) for n in expected_shape)
    _fail([] if shape == expected_shape else [f"{name}: expected shape {expected_shape}, got {shape}"], hint)


def check_true(condition, message, hint=None):
    """Assert a condition that has no natural expected value, with a readable message."""
    __tracebackhide__ = not GRADING
    verdict = type(condition) in (bool, int, np.bool_) or type(condition) in NUMPY_INTEGERS
    _fail([] if verdict and bool(condition) else [message], hint)


def _called(function, args):
    """``f(1.0, array([...]))``: the call, without running any code of the student's."""
    label = function.__name__ if type(function) in (types.FunctionType, types.BuiltinFunctionType, type) else "function"
    return f"{label}({', '.join(_short_repr(a) for a in args)})"


def _short_repr(value, limit=60):
    text = repr(value) if _reprs_safely(value) else f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _reprs_safely(value, depth=0):
    """Whether ``repr(value)`` runs only Python's, NumPy's or torch's own code."""
    kind = type(value)
    torch = sys.modules.get("torch")
    if kind in (list, tuple) and depth < 3:
        return all(_reprs_safely(item, depth + 1) for item in value)
    return (kind in (bool, int, float, str, type(None), np.ndarray) or kind in NUMPY_SCALARS
            or (torch is not None and kind in (torch.Tensor, torch.Size)))


def check_raises(exception, function, *args, hint=None, **kwargs):
    """Assert that ``function(*args, **kwargs)`` raises ``exception``; returns the error."""
    __tracebackhide__ = not GRADING
    try:
        function(*args, **kwargs)
    except exception as error:
        return error
    except Exception as other:
        builtin = type(other).__module__ == "builtins"  # a student's own exception class is not asked to explain
        first_line = (str(other).splitlines() or [""])[0][:200] if builtin else "(its message is not shown)"
        _fail([f"{_called(function, args)} should raise {exception.__name__}, "
               f"but it raised {type(other).__name__}: {first_line}"], hint, cause=other)
    _fail([f"{_called(function, args)} should raise {exception.__name__}, but it returned normally"], hint)


def _fail(lines, hint, cause=None):
    """Raise the AssertionError that ``lines`` (and the hint) explain; do nothing if there are none."""
    __tracebackhide__ = not GRADING
    if lines:
        if hint:
            lines.append(f"Hint: {hint}")
        raise _explained(AssertionError("\n".join(lines))) from cause


def _explained(error):
    """``error``, shown by IPython without this module's frames (outside grading mode)."""
    if not GRADING:
        error._render_traceback_ = lambda: _traceback_without_checks(error)
    return error


def _traceback_without_checks(error):
    """IPython's own rendering of ``error``'s traceback, with the frames of this file left out,
    so that the last frame shown is the test cell's line that made the check."""
    tb, kept = error.__traceback__, []
    while tb is not None:
        if tb.tb_frame.f_code.co_filename != __file__:
            kept.append(tb)
        tb = tb.tb_next
    trimmed = None
    for entry in reversed(kept):
        trimmed = types.TracebackType(trimmed, entry.tb_frame, entry.tb_lasti, entry.tb_lineno)
    try:
        from IPython import get_ipython
        return get_ipython().InteractiveTB.structured_traceback(type(error), error, trimmed)
    except Exception:  # no IPython, or one whose API differs: a plain traceback still explains
        return traceback.format_exception(type(error), error, trimmed)
