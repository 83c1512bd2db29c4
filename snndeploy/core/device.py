"""Choosing the PyTorch device, with a one-line error where CUDA is asked for and absent."""

from __future__ import annotations

import re
from typing import Any

from .errors import SnnDeployError, short
from .install import hint
from .lazy import lazy_import

torch = lazy_import("torch", hint("train", "PyTorch"))


def check_device_name(name: str) -> None:
    """Refuse a device name PyTorch has no device for (configs check it before any work)."""
    if not re.fullmatch(r"cpu|cuda(:\d+)?", name):
        raise SnnDeployError(f"PyTorch runs on 'cpu' or 'cuda' (or 'cuda:N'), not {short(name)}")


def pick_device(name: str, local_rank: int = 0) -> Any:
    """The requested ``torch.device`` (this process's GPU under torchrun), checked against the machine."""
    check_device_name(name)
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SnnDeployError("device 'cuda' requested but PyTorch sees no CUDA GPU; use --device cpu")
    return torch.device(f"cuda:{local_rank}") if name == "cuda" and local_rank else torch.device(name)
