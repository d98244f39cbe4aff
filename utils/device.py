"""Pick the fastest device that is really there: CUDA, then Apple's MPS, then the CPU.

Two stand-ins let device-handling code be checked on a machine without a GPU: ``SimulatedCUDA``, a
pretend asynchronous GPU for timing code, and ``saved_as_if_on``, which makes ``torch.save`` write a
file that looks as if it had been written on another device.
"""
import contextlib
import time

import torch
import torch.serialization

__all__ = ["get_device", "describe_device", "SimulatedCUDA", "saved_as_if_on"]


def get_device(prefer=None):
    """The ``torch.device`` to compute on.

    ``prefer`` ("cuda", "mps", "cpu") forces a choice and fails loudly if it is missing,
    so a notebook never silently trains on the wrong device.
    """
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if prefer is not None:
        kind = torch.device(prefer).type
        if not available.get(kind, False):
            raise RuntimeError(f"device {prefer!r} was requested but is not available here")
        return torch.device(prefer)
    return torch.device(next(kind for kind in ("cuda", "mps", "cpu") if available[kind]))


def describe_device(device=None):
    """One line naming the device, e.g. 'cuda:0 (NVIDIA H100 80GB HBM3)' or 'cpu (2 threads)'."""
    device = torch.device(device) if device is not None else get_device()
    if device.type == "cuda":
        return f"{device} ({torch.cuda.get_device_name(device)})"
    if device.type == "cpu":
        return f"cpu ({torch.get_num_threads()} threads)"
    return str(device)


def _synchronize_simulated(device=None, _gpu=None):
    _gpu.synchronize(device)


def _always_available():
    return True


class SimulatedCUDA:
    """A pretend CUDA device on the CPU, to check GPU timing code without a GPU.

    A real GPU works through its queue of kernels while Python runs ahead; ``torch.cuda.synchronize()``
    waits until the queue is empty. Here ``gpu.launch(seconds)`` queues that much pretend work and
    returns at once, and ``torch.cuda.synchronize`` sleeps for all the work queued since the last
    synchronisation. (The pretend GPU works only while someone waits for it, so what a check sees does
    not depend on how fast Python runs on a busy machine.) Inside ``with SimulatedCUDA() as gpu:``
    ``torch.cuda.is_available()`` is True, and ``gpu.launch_times`` and ``gpu.sync_times`` record, on
    ``time.perf_counter``'s clock, when each launch happened and when each synchronisation began and
    ended. Both functions are changed in their code, not replaced by name, so every way of reaching
    them (``from torch.cuda import synchronize`` included) sees the pretence.
    """

    def __init__(self):
        self.pending = 0.0
        self.launch_times = []
        self.sync_times = []

    @property
    def launches(self):
        return len(self.launch_times)

    @property
    def syncs(self):
        return len(self.sync_times)

    def launch(self, seconds):
        """Queue ``seconds`` of work; return at once, as a kernel launch does."""
        self.launch_times.append(time.perf_counter())
        self.pending += seconds

    def synchronize(self, device=None):
        began = time.perf_counter()
        time.sleep(self.pending)
        self.pending = 0.0
        self.sync_times.append((began, time.perf_counter()))

    def __enter__(self):
        self._saved = [(function, function.__code__, function.__defaults__)
                       for function in (torch.cuda.synchronize, torch.cuda.is_available)]
        torch.cuda.synchronize.__code__ = _synchronize_simulated.__code__
        torch.cuda.synchronize.__defaults__ = (None, self)
        torch.cuda.is_available.__code__ = _always_available.__code__
        return self

    def __exit__(self, *exc_info):
        for function, code, defaults in self._saved:
            function.__code__, function.__defaults__ = code, defaults
        return False


@contextlib.contextmanager
def saved_as_if_on(location):
    """While active, ``torch.save`` labels every tensor it writes as stored on ``location`` ("cuda:0", say),
    the way a checkpoint written on that device is labelled. Loading such a file where that device does
    not exist needs ``map_location``."""
    real = torch.serialization.location_tag
    torch.serialization.location_tag = lambda storage: location
    try:
        yield
    finally:
        torch.serialization.location_tag = real
