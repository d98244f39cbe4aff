"""Calls that name the inputs that broke them, for hidden tests that loop over many inputs.

An exception raised by a student's function in the middle of a hidden loop shows only its own
message, and the student cannot tell which input caused it; ``call`` says.
"""

__all__ = ["call"]


def call(label, function, *args, **kwargs):
    """``function(*args, **kwargs)``; an exception it raises becomes an AssertionError naming ``label``.

    ``label`` is the call as the student would write it, e.g. ``"sigmoid(-1000.0)"``.
    """
    try:
        return function(*args, **kwargs)
    except Exception as error:
        raise AssertionError(f"{label} raised {type(error).__name__}: {error}") from None
