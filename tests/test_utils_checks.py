"""utils.checks: explain mismatches, and judge values by their numbers, not their __eq__."""
import numpy as np
import pytest
import torch

from utils.checks import as_array, check_close, check_raises, check_shape, check_true


def test_close_values_pass_silently():
    assert check_close([1.0, 2.0], np.array([1.0, 2.0 + 1e-9]), "v") is None


def test_mismatch_message_shows_expected_got_and_hint():
    with pytest.raises(AssertionError) as error:
        check_close(1.5, 2.0, "df/dx", hint="upstream times local")
    message = str(error.value)
    assert "df/dx" in message and "expected 2.0" in message and "got      1.5" in message
    assert "Hint: upstream times local" in message


def test_sign_errors_are_named():
    with pytest.raises(AssertionError, match="sign error"):
        check_close([-1.0, 2.0], [1.0, -2.0], "grad")


def test_shapes_must_agree_without_broadcasting():
    with pytest.raises(AssertionError, match=r"expected shape \(3,\), got shape \(1, 3\)"):
        check_close(np.ones((1, 3)), np.ones(3), "x")


def test_nan_is_reported_not_accepted():
    with pytest.raises(AssertionError, match="non-finite"):
        check_close(float("nan"), 1.0, "loss")


class RiggedFloat(float):
    """A value that claims to equal everything."""
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class RiggedArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, dtype=bool)

    def __array_finalize__(self, obj):
        pass


def test_rigged_eq_does_not_fool_the_comparison():
    rigged = np.array([1.0, 2.0]).view(RiggedArray)
    with pytest.raises(AssertionError):
        check_close(rigged, [5.0, 6.0], "rigged array")
    assert type(as_array(rigged)) is np.ndarray


class Spy:
    """Converts to a number by running code: it could read the expected answer from the caller."""
    def __init__(self):
        self.called = False

    def __float__(self):
        self.called = True
        return 4.0

    def __array__(self, dtype=None, copy=None):
        self.called = True
        return np.array(4.0)


def test_values_that_run_code_when_converted_are_refused_unconverted():
    for value in (RiggedFloat(3.0), Spy(), [1.0, Spy()], np.array([Spy()], dtype=object)):
        with pytest.raises(TypeError, match="expected"):
            check_close(value, 4.0 if not isinstance(value, (list, np.ndarray)) else [1.0, 4.0][:len(value)], "v")
    spy = Spy()
    with pytest.raises(TypeError):
        as_array(spy)
    assert spy.called is False


def test_numpy_scalars_lists_and_torch_sizes_are_plain_numbers():
    check_close([np.float32(0.5), np.int64(2)], [0.5, 2.0], "mixed")
    check_close(torch.zeros(2, 3).shape, (2, 3), "shape")


def test_tensors_are_detached_and_compared_by_value():
    t = torch.tensor([1.0, 2.0], requires_grad=True) * 2
    check_close(t, [2.0, 4.0], "tensor")


def test_bools_and_non_numbers_are_rejected_with_a_clear_type_error():
    with pytest.raises(TypeError, match="bool"):
        as_array(True)
    with pytest.raises(TypeError, match="expected numbers"):
        as_array("three")


def test_check_shape_and_check_true():
    check_shape(torch.zeros(2, 3), (2, 3), "t")
    with pytest.raises(AssertionError, match=r"expected shape \(3, 2\), got \(2, 3\)"):
        check_shape(np.zeros((2, 3)), (3, 2), "w")
    check_true(np.bool_(True), "fine")
    with pytest.raises(AssertionError, match="broken"):
        check_true(False, "broken")
    with pytest.raises(AssertionError):
        check_true(np.array([True, True]), "an array is not a verdict")


def test_check_raises_returns_the_error_or_explains():
    error = check_raises(ValueError, int, "x")
    assert isinstance(error, ValueError)
    with pytest.raises(AssertionError, match="should raise ValueError"):
        check_raises(ValueError, int, "3")
