"""Where the Triton Inference Server binary is: the `tritonserver` that NVIDIA's PyTriton wheel
(`nvidia-pytriton`) bundles with its Python backend, its stubs for each Python version and its shared libraries.

snndeploy runs that binary itself (not PyTriton's Python API, which pins numpy < 2): the wheel is installed with
``pip install --no-deps nvidia-pytriton`` so that it brings files, not a second numpy. The environment variable
``SNNDEPLOY_TRITONSERVER`` may name another ``tritonserver`` binary (a Triton container's
``/opt/tritonserver/bin/tritonserver``); its backends are then looked for in ``../backends`` beside it.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import SnnDeployError

PYTRITON = "nvidia-pytriton==0.7.0"
INSTALL = f"pip install --no-deps '{PYTRITON}' 'tritonclient[http,grpc]>=2.40'"
ENV = "SNNDEPLOY_TRITONSERVER"
STUB = "triton_python_backend_stub"
BACKEND_FILES = ("libtriton_python.so", "triton_python_backend_utils.py")


@dataclass(frozen=True)
class ServerInstall:
    """The files one Triton server run needs."""

    binary: Path
    python_backend: Path  # the folder holding libtriton_python.so and triton_python_backend_utils.py
    stub: Path  # the Python backend's stub process built for this Python version
    libraries: tuple[Path, ...]  # folders for LD_LIBRARY_PATH

    def environment(self, base: dict[str, str] | None = None) -> dict[str, str]:
        """The server's environment: its own shared libraries, then this interpreter's (the stub links
        ``libpython3.X`` by name and would otherwise find the system's, which a pyenv or conda Python does not
        match)."""
        env = dict(os.environ if base is None else base)
        own = [str(p) for p in self.libraries]
        libdir = sysconfig.get_config_var("LIBDIR")
        if libdir:
            own.append(libdir)
        env["LD_LIBRARY_PATH"] = os.pathsep.join([*own, *filter(None, [env.get("LD_LIBRARY_PATH")])])
        env.pop("PYTHONHOME", None)
        return env


def _python_version() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def find_server() -> ServerInstall:
    """The installed server, or a one-line error saying how to install it."""
    override = os.environ.get(ENV)
    if override:
        binary = Path(override)
        if not binary.is_file() or not os.access(binary, os.X_OK):
            raise SnnDeployError(f"{ENV}={override} is not an executable file")
        backend = binary.resolve().parents[1] / "backends" / "python"
        stub = backend / STUB
        libraries: tuple[Path, ...] = ()
    else:
        try:
            spec = importlib.util.find_spec("pytriton")
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.submodule_search_locations:
            raise SnnDeployError(f"Triton Inference Server is not installed: {INSTALL}")
        root = Path(next(iter(spec.submodule_search_locations))) / "tritonserver"
        binary = root / "bin" / "tritonserver"
        backend = root / "backends" / "python"
        stub = root / "python_backend_stubs" / _python_version() / STUB
        libraries = (root.parents[1] / "nvidia_pytriton.libs",)
    missing = [p for p in (binary, stub, *(backend / f for f in BACKEND_FILES)) if not p.is_file()]
    if missing:
        raise SnnDeployError(f"the Triton server install is incomplete ({missing[0]} is missing; Python "
                             f"{_python_version()} needs its own backend stub): {INSTALL}")
    return ServerInstall(binary, backend, stub, libraries)


def backend_folder(install: ServerInstall, work: Path) -> Path:
    """A ``--backend-directory`` made for this run in ``work``: ``python/`` holding links to the backend's
    library and utilities and to the stub of this Python version (the backend runs the stub it finds beside
    its library)."""
    python = work / "backends" / "python"
    python.mkdir(parents=True, exist_ok=True)
    for source in (*(install.python_backend / f for f in BACKEND_FILES), install.stub):
        link = python / source.name
        if not link.is_symlink():
            link.symlink_to(source)
    return work / "backends"
