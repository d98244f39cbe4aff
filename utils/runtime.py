"""Seeding and grading mode: the two switches every notebook flips in its first cells."""
import os
import random

import numpy as np


def seed(value=0):
    """Seed Python, NumPy and (if installed) PyTorch, so a run is repeatable.

    Returns a fresh ``np.random.Generator`` seeded with the same value, for code that
    prefers explicit generators over global state.
    """
    random.seed(value)
    np.random.seed(value)
    try:
        import torch
    except ImportError:
        pass
    else:
        torch.manual_seed(value)
    return np.random.default_rng(value)


def grading_mode():
    """True while nbgrader executes the notebook (it sets ``NBGRADER_EXECUTION``).

    Heavy cells use this to shrink: fewer steps, smaller data, no slow animations.
    """
    return bool(os.environ.get("NBGRADER_EXECUTION"))


def pick(full, grading):
    """``full`` normally, ``grading`` while the notebook is being graded."""
    return grading if grading_mode() else full
