"""oracles.gradcheck: centred differences agree with known gradients and catch wrong ones."""
import numpy as np
import pytest

from oracles.gradcheck import gradient_check, numerical_gradient, relative_error


def test_numerical_gradient_of_a_quadratic_form():
    rng = np.random.default_rng(0)
    A = rng.normal(size=(4, 4))
    x = rng.normal(size=4)
    grad = numerical_gradient(lambda v: v @ A @ v, x.copy())
    assert relative_error(grad, (A + A.T) @ x) < 1e-8


def test_x_is_restored_and_closures_see_the_perturbation():
    w = np.array([[1.0, 2.0], [3.0, 4.0]])
    before = w.copy()
    grad = numerical_gradient(lambda _: float(np.sum(w ** 2)), w)  # f reads w, not its argument
    np.testing.assert_array_equal(w, before)
    np.testing.assert_allclose(grad, 2 * before, rtol=1e-7)


def test_integer_arrays_are_refused():
    with pytest.raises(TypeError):
        numerical_gradient(lambda v: float(v.sum()), np.arange(3))


def test_relative_error_scale_free_and_safe_at_zero():
    assert relative_error([1e-3], [1e-3]) == 0.0
    assert relative_error([1.0], [-1.0]) == 1.0
    assert relative_error(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_error([2e6], [2e6 + 2]) == pytest.approx(5e-7)
    with pytest.raises(ValueError):
        relative_error(np.zeros(2), np.zeros(3))


def test_gradient_check_accepts_right_and_rejects_wrong_gradients():
    x = np.array([0.3, -1.2, 2.0])
    f = lambda v: float(np.sum(np.sin(v)))
    assert gradient_check(f, x, np.cos(x)) < 1e-8
    with pytest.raises(AssertionError, match="worst at index"):
        gradient_check(f, x, -np.cos(x))
