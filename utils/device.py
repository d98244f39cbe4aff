"""Pick the fastest device that is really there: CUDA, then Apple's MPS, then the CPU."""
import torch

__all__ = ["get_device", "describe_device"]


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
