"""utils.runtime and utils.device: seeding repeats runs; grading mode follows nbgrader's variable."""
import random

import numpy as np
import pytest
import torch

from utils import grading_mode, pick, seed
from utils.device import describe_device, get_device


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
