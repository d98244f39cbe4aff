"""utils.optim: surfaces with the right gradients, torch trajectories in the lecture's variables,
and an explorer that redraws without a live kernel."""
import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch

from oracles.gradcheck import numerical_gradient, relative_error
from utils.optim import OPTIMIZERS, SURFACES, Explorer, gradient_fn, torch_iterates, torch_trajectory


@pytest.mark.parametrize("key", list(SURFACES))
def test_surface_gradients_match_centred_differences(key):
    surface = SURFACES[key]
    rng = np.random.default_rng(0)
    for _ in range(5):
        point = np.array([rng.uniform(*surface.xlim), rng.uniform(*surface.ylim)])
        numeric = numerical_gradient(lambda p: float(surface.f(p[0], p[1])), point.copy())
        assert relative_error(surface.grad(point), numeric) < 1e-6


@pytest.mark.parametrize("key", [k for k in SURFACES if np.all(np.isfinite(SURFACES[k].minimum))])
def test_global_minimum_is_a_stationary_point(key):
    surface = SURFACES[key]
    assert np.linalg.norm(surface.grad(np.array(surface.minimum))) < 1e-3


def test_two_minima_surface_has_a_higher_local_minimum():
    surface = SURFACES["two minima"]
    xs = np.linspace(0.5, 1.5, 10001)
    local = xs[np.argmin(surface.f(xs, 0.0))]
    assert surface.f(local, 0.0) > surface.f(*surface.minimum) + 0.3


def test_noisy_gradients_are_seeded_and_unbiased():
    surface = SURFACES["noisy"]
    first, again = gradient_fn(surface, seed=3), gradient_fn(surface, seed=3)
    point = np.array([1.0, -1.0])
    assert np.array_equal(first(point), again(point))
    samples = np.array([first(point) for _ in range(4000)])
    assert np.allclose(samples.mean(axis=0), surface.grad(point), atol=0.1)
    assert np.allclose(samples.std(axis=0), surface.noise, rtol=0.1)


def test_torch_iterates_sgd_is_gradient_descent():
    grad = SURFACES["ill-conditioned"].grad
    xs = torch_iterates(lambda p: torch.optim.SGD(p, lr=0.4), np.array([-5.0, -2.0]), grad, 20)
    assert xs.shape == (21, 2)
    assert np.allclose(xs[-1], [-5 * 0.92 ** 20, -2 * 0.6 ** 20], rtol=1e-12)


def test_torch_nesterov_is_reported_in_the_lecture_variables():
    surface, lr, rho = SURFACES["rosenbrock"], 1e-4, 0.9
    x, v = np.array(surface.start), np.zeros(2)
    expected = [x]
    for _ in range(30):
        v = rho * v + surface.grad(x - lr * rho * v)
        x = x - lr * v
        expected.append(x)
    got = torch_trajectory("Nesterov", surface, lr, beta1=rho, steps=30)
    assert np.allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_every_optimizer_runs_on_every_surface():
    for key, surface in SURFACES.items():
        for name in OPTIMIZERS:
            xs = torch_trajectory(name, surface, 1e-3, steps=5)
            assert xs.shape == (6, 2) and np.all(np.isfinite(xs)), (key, name)


def test_explorer_redraws_lines_without_piling_up():
    explorer = Explorer()
    explorer.update("ill-conditioned", OPTIMIZERS, lr=0.1)
    lines_before = len(explorer.ax_path.lines)
    explorer.update("ill-conditioned", ("SGD", "Adam"), lr=0.05, steps=30)
    assert len(explorer.ax_path.lines) == lines_before - 4
    assert [len(line.get_xdata()) for line in explorer.ax_loss.lines] == [31, 31]
    figure = explorer.update("saddle", ("Momentum",), lr=0.05, steps=200)  # escapes to huge values
    assert figure is explorer.figure
    assert explorer.ax_loss.get_ylim()[0] >= -21


def test_explorer_widget_builds_and_draws_once():
    widgets = pytest.importorskip("ipywidgets")
    ui = Explorer().widget()
    assert isinstance(ui, widgets.HBox)
    controls = ui.children[0].children
    assert all(getattr(c, "continuous_update", False) is False for c in controls if hasattr(c, "continuous_update"))
