"""How many CPU threads this process computes with: one setting for PyTorch, ONNX Runtime and OpenMP/BLAS.

On a shared machine the libraries' defaults (a thread per core each) oversubscribe the cores: two such
processes on two cores made a training epoch 15x slower. ``set_threads`` is called once per command
(``--threads N``) before any work; runners read ``current()`` for their own thread pools."""

from __future__ import annotations

import os
import sys

from .errors import SnnDeployError

# libraries that size their pools from the environment when they load (after this call, torch is also told)
_ENV = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
_threads: int | None = None


def available() -> int:
    """The cores this process may run on (its CPU affinity, else the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _from_environment() -> int | None:
    """OMP_NUM_THREADS as a launcher set it (torchrun gives each of several workers one thread), if valid."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) >= 1 else None


def set_threads(n: int | None) -> int:
    """Compute with ``n`` CPU threads from now on (None: OMP_NUM_THREADS if the environment sets it, else every
    available core); returns the count in use."""
    global _threads
    if n is not None and not 1 <= n <= 4096:
        raise SnnDeployError(f"--threads must be from 1 to 4096, got {n}")
    count = n or _from_environment() or available()
    _threads = count
    for var in _ENV:
        os.environ[var] = str(count)
    torch = sys.modules.get("torch")
    if torch is not None:  # already loaded: its pools read the environment only once
        torch.set_num_threads(count)
    return count


def current() -> int:
    """The thread count set for this process (until set_threads is called: OMP_NUM_THREADS, else every core)."""
    return _threads or _from_environment() or available()
