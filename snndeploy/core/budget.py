"""Resource budgets of a network unrolled over T steps: whether a run's memory, or an exported graph, fits, checked
before any work; a refusal says the estimate, the limit and the largest T that fits (one line)."""

from __future__ import annotations

import math
import resource
from dataclasses import dataclass
from pathlib import Path

from .errors import SnnDeployError

# protobuf refuses a message over 2 GiB (an ONNX file is one message). Measured here (onnx 1.23, protobuf 6.33):
# a small-cnn graph with frozen noise at T = 15,000 is 2.31 GB; onnx.checker.check_model refuses it (ValueError,
# a traceback), and a graph that size cannot be checked, inferred or loaded in memory by ONNX Runtime. The margin
# leaves room for the metadata the exporter attaches after the estimate.
PROTOBUF_LIMIT = int(0.98 * 2**31)


@dataclass(frozen=True)
class Linear:
    """A cost that grows linearly with T: ``fixed + per_step * T`` (bytes, or nodes)."""

    fixed: float
    per_step: float

    def at(self, T: int) -> float:
        return self.fixed + self.per_step * T

    def largest_T(self, cap: float) -> int:
        """The largest T whose cost stays within ``cap`` (0 where not even T = 1 does), rounded down to two
        significant digits: an estimate is no more precise than that."""
        if self.per_step <= 0:
            return 0 if self.fixed > cap else 2**31 - 1
        T = int((cap - self.fixed) // self.per_step)
        if T < 1:
            return 0
        unit = 10 ** max(int(math.log10(T)) - 1, 0)
        return T // unit * unit


def gb(n: float) -> str:
    """Bytes as one line shows them."""
    return f"{n / 1e9:.1f} GB" if n >= 1e8 else f"{n / 1e6:.0f} MB"


def refuse_T(T: int, cost: Linear, cap: float, needs: str, limit: str) -> None:
    """Raise a one-line error when ``cost`` at ``T`` exceeds ``cap``: '--T T needs about X <needs> (<limit>)'
    with the largest T that fits; ``limit`` says what the cap is ('3.9 GB available')."""
    need = cost.at(T)
    if need <= cap:
        return
    largest = cost.largest_T(cap)
    fits = f"the largest T that fits is {largest:,}" if largest else "not even T = 1 fits"
    raise SnnDeployError(f"--T {T} needs about {gb(need)} {needs} ({limit}); {fits}")


def _meminfo_available() -> int | None:
    """MemAvailable of /proc/meminfo (Linux), in bytes."""
    for line in (_read_small("/proc/meminfo") or "").splitlines():
        if line.startswith("MemAvailable:"):
            parts = line.split()
            return int(parts[1]) * 1024 if len(parts) > 1 and parts[1].isdigit() else None
    return None


def _read_small(path: str) -> str | None:
    """A small system file's text (a bounded read), or None where it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(1 << 16).decode("ascii", "replace").strip()
    except OSError:
        return None


def _cgroup_available() -> int | None:
    """What this process's cgroup (v2) still lets it use, where the cgroup has a memory limit."""
    limit, used = _read_small("/sys/fs/cgroup/memory.max"), _read_small("/sys/fs/cgroup/memory.current")
    if limit and used and limit.isdigit() and used.isdigit():
        return max(int(limit) - int(used), 0)
    return None


def _address_space_available() -> int | None:
    """What RLIMIT_AS (``ulimit -v``) still allows: the limit less this process's current virtual size."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    size = 0
    for line in (_read_small("/proc/self/status") or "").splitlines():
        parts = line.split()
        if parts[:1] == ["VmSize:"] and len(parts) > 1 and parts[1].isdigit():
            size = int(parts[1]) * 1024
    return max(soft - size, 0)


def _psutil_available() -> int | None:
    try:
        import psutil  # optional: where /proc is missing (macOS, Windows)
    except ImportError:
        return None
    return int(psutil.virtual_memory().available)


def available_memory() -> int | None:
    """Bytes of host memory this process can still allocate (None where nothing says): the least of the
    system's available memory, the cgroup's headroom and RLIMIT_AS's headroom."""
    system = _meminfo_available() if Path("/proc/meminfo").exists() else _psutil_available()
    known = [n for n in (system, _cgroup_available(), _address_space_available()) if n is not None]
    return min(known) if known else None


def memory_limit_text(available: float) -> str:
    """How a refusal names the memory it compared with."""
    return f"{gb(available)} available"


def check_memory(T: int, cost: Linear, needs: str, available: int | None = None) -> None:
    """Refuse ``T`` where ``cost`` (bytes) exceeds the memory available (``available``, default: measured now);
    nothing is refused where the memory available is unknown."""
    available = available_memory() if available is None else available
    if available is not None:
        refuse_T(T, cost, available, needs, memory_limit_text(available))

