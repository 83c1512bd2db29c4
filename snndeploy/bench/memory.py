"""Peak resident memory of this process, and a baseline to measure it from (Linux /proc, else ru_maxrss)."""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def _proc_status_mb(field: str) -> float | None:
    """A memory field of /proc/self/status (VmRSS, VmHWM) in MiB, or None off Linux."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """This process's peak resident set size in MiB.

    Linux: VmHWM, the high-water mark of this address space. ``ru_maxrss`` would be wrong in a
    spawned child, since Linux carries it across exec: the child starts with its parent's peak.
    Elsewhere ``ru_maxrss`` (KiB on Linux, bytes on macOS).
    """
    hwm = _proc_status_mb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def rss_baseline_mb() -> float:
    """Reset the peak to the current RSS where Linux allows it (clear_refs 5) and return the baseline."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return peak_rss_mb()  # no reset: the peak so far is the baseline
    current = _proc_status_mb("VmRSS")
    return current if current is not None else peak_rss_mb()
