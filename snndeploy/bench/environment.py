"""The facts about the machine and software that every benchmark result travels with.

A latency or a training time means nothing without the CPU, the thread count, the library versions and the GPU
it was measured on: every bench JSON, CSV and Markdown file starts with this record, and the console shows it
above the results table."""

from __future__ import annotations

import importlib.metadata
import platform
import socket
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..core import hashing, threads
from ..core.install import hint
from ..core.lazy import lazy_import
from ..runners.table import libraries

torch_module = lazy_import("torch", hint("train", "PyTorch"))

# distributions whose versions change what a benchmark measures (absent ones are left out), beside the backend
# libraries of the kinds table (snndeploy.runners.table)
LIBRARIES = ("snndeploy", "numpy", "onnx", "polygraphy", "nvidia-modelopt")


def distributions() -> tuple[str, ...]:
    """LIBRARIES, then the distributions of every backend library of the kinds table."""
    return tuple(dict.fromkeys([*LIBRARIES, *(d for dists in libraries().values() for d in dists)]))


def cpu_model() -> str:
    """The CPU's marketing name (Linux /proc/cpuinfo), else what platform reports."""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith(("model name", "hardware", "cpu model")):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu() -> str | None:
    """The CUDA GPU PyTorch sees (name, compute capability), if PyTorch is installed and has one. PyTorch is an
    optional probe here (lazily imported): the record is written on machines without it too."""
    if not torch_module.available():
        return None
    cuda = torch_module.load().cuda
    if not cuda.is_available():
        return None
    major, minor = cuda.get_device_capability(0)
    return f"{cuda.get_device_name(0)} (sm {major}.{minor})"


def versions() -> dict[str, str]:
    """Installed versions of the libraries that matter to the measurements, and Python's."""
    out = {"python": platform.python_version()}
    for name in distributions():
        try:
            out[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return out


def environment(artifacts: Iterable[str | Path] = (), **extra: Any) -> dict[str, Any]:
    """One record of where and with what a benchmark ran: host, OS, CPU model, cores, threads, library
    versions, GPU, the sha256 of each artifact file (folders are named, not hashed), plus ``extra`` (the noise
    mode, the device, ...)."""
    hashes = {}
    for a in artifacts:
        p = Path(a)
        hashes[str(a)] = hashing.sha256(p) if p.is_file() else None
    return {"host": socket.gethostname(), "os": f"{platform.system()} {platform.release()}",
            "cpu": cpu_model(), "cores": threads.available(), "threads": threads.current(),
            "versions": versions(), "gpu": gpu(), "command": " ".join(Path(sys.argv[0]).name.split() + sys.argv[1:]),
            **extra, "artifacts": hashes}


def summary(env: dict[str, Any]) -> str:
    """One line for the console above a results table."""
    v = env.get("versions", {})
    backend_dists = [d for dists in libraries().values() for d in dists]
    libs = ", ".join(f"{k} {v[k]}" for k in dict.fromkeys(backend_dists) if k in v)
    where = env.get("gpu") or "no GPU"
    extra = "".join(f", {k} {env[k]}" for k in ("noise", "device") if env.get(k) is not None)
    return f"{env['cpu']}, {env['cores']} cores, {env['threads']} threads, {where}; {libs}{extra}"
