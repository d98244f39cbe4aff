"""utils.runtime and utils.device: seeding repeats runs; grading mode follows nbgrader's variable; the
stand-ins for a GPU (a simulated CUDA device, a file that looks written on one) behave like the real thing."""
import random

import numpy as np
import pytest
import torch

from utils import grading_mode, pick, seed
from utils.device import SimulatedCUDA, describe_device, get_device, saved_as_if_on


def test_seed_makes_every_generator_repeat():
    def draw():
        assert seed(7) is None  # a cell ending in seed(7) prints nothing
        return random.random(), np.random.rand(), torch.rand(1).item()
    assert draw() == draw()
    seed(8)
    assert np.random.rand() != (seed(7), np.random.rand())[1]


def test_grading_mode_follows_nbgrader_execution(monkeypatch):
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    assert grading_mode() is False and pick(full=100, grading=5) == 100
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert grading_mode() is True and pick(full=100, grading=5) == 5


def test_device_prefers_what_exists_and_refuses_what_does_not(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert get_device() == torch.device("cpu")
    assert describe_device("cpu").startswith("cpu (")
    with pytest.raises(RuntimeError, match="not available"):
        get_device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_device().type == "cuda"


def test_simulated_cuda_waits_for_queued_work_under_any_name_and_restores_torch():
    from torch.cuda import synchronize            # bound before the pretence starts: it must see it too
    real_synchronize, real_available = torch.cuda.synchronize.__code__, torch.cuda.is_available.__code__
    with SimulatedCUDA() as gpu:
        assert torch.cuda.is_available()
        gpu.launch(0.02)
        gpu.launch(0.01)
        synchronize("cuda")
        torch.cuda.synchronize(torch.device("cuda", 0))
    assert gpu.launches == 2 and gpu.syncs == 2
    (first_began, first_ended), (second_began, second_ended) = gpu.sync_times
    assert first_ended - first_began >= 0.03                # the queued work, done while someone waited
    assert second_ended - second_began < 0.02               # nothing left to wait for
    assert torch.cuda.synchronize.__code__ is real_synchronize and torch.cuda.is_available.__code__ is real_available


def test_a_file_saved_as_if_on_a_gpu_needs_map_location(tmp_path):
    path = tmp_path / "gpu.pt"
    with saved_as_if_on("cuda:63"):
        torch.save({"w": torch.arange(3.0)}, path)
    with pytest.raises(RuntimeError):
        torch.load(path, weights_only=True)
    assert torch.equal(torch.load(path, map_location="cpu", weights_only=True)["w"], torch.arange(3.0))
    torch.save({"w": torch.ones(1)}, tmp_path / "plain.pt")            # and torch.save is itself again
    assert torch.load(tmp_path / "plain.pt", weights_only=True)["w"].device.type == "cpu"
