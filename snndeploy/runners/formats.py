"""The one table of artifact kinds (after Ultralytics' ``export_formats()``): file suffixes, runner, backend,
precisions, devices and what each needs installed. Every dispatcher (open_runner, bench, the CLI) reads it
instead of testing suffixes itself."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import SnnDeployError
from .base import Runner
from .onnxruntime import PROVIDERS
from .onnxruntime import unavailable as ort_unavailable


@dataclass(frozen=True)
class ArtifactKind:
    """One kind of artifact and the backend that runs it."""

    name: str  # checkpoint, onnx, engine
    what: str  # for messages: "a checkpoint (run folder, .json or .safetensors)"
    suffixes: tuple[str, ...]
    backend: str  # pytorch, onnxruntime, tensorrt: the names `snndeploy bench --backend` takes
    runner_path: str  # "module:Class", imported on first use: the PyTorch runner must not load PyTorch for the others
    precisions: tuple[str, ...]
    devices: tuple[str, ...]  # the --device values it runs on
    gpu_only: bool
    install: str  # the extra that provides its backend

    @property
    def runner(self) -> type[Runner]:
        """The runner class of this kind."""
        module, _, name = self.runner_path.partition(":")
        return getattr(importlib.import_module(module), name)

    def matches(self, path: Path) -> bool:
        return path.suffix in self.suffixes or (self.name == "checkpoint" and path.is_dir())

    def unavailable(self, device: str) -> str | None:
        """Why this backend cannot run on ``device`` here (one line), or None when it can be tried."""
        if device not in self.devices:
            return f"{self.backend} runs on {', '.join(self.devices)}, not {device}"
        return _CHECKS[self.name](device)

    def precision_problem(self, precision: str) -> str | None:
        """Why this backend cannot run ``precision`` (one line naming the backends that can), or None."""
        if precision in self.precisions:
            return None
        others = [k.backend for k in KINDS if precision in k.precisions]
        where = f"; {precision} runs on --backend {' or '.join(others)}" if others else ""
        return f"{self.backend} runs {', '.join(self.precisions)} only{where}"


def _module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _check_torch(device: str) -> str | None:
    if not _module("torch"):
        return "PyTorch is not installed (pip install 'snndeploy[train]')"
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            return "no CUDA GPU visible to PyTorch"
    return None


def _check_trt(device: str) -> str | None:
    if not _module("tensorrt"):
        return "TensorRT is not installed (pip install 'snndeploy[gpu]')"
    from ..engine import cuda

    try:
        cuda.device_info()
    except SnnDeployError as exc:
        return str(exc)
    return None


_CHECKS: dict[str, Callable[[str], str | None]] = {"checkpoint": _check_torch, "onnx": ort_unavailable,
                                                   "engine": _check_trt}

KINDS: tuple[ArtifactKind, ...] = (
    ArtifactKind("checkpoint", "a checkpoint (run folder, .json or .safetensors)", (".json", ".safetensors"),
                 "pytorch", "snndeploy.runners.torch_runner:TorchRunner", ("fp32",), ("cpu", "cuda"), False,
                 "snndeploy[train]"),
    ArtifactKind("onnx", "an ONNX graph (.onnx)", (".onnx",), "onnxruntime",
                 "snndeploy.runners.onnxruntime:OnnxRuntimeRunner",
                 ("fp32", "fp16", "int8"), tuple(PROVIDERS), False, "snndeploy[cpu] or snndeploy[gpu]"),
    ArtifactKind("engine", "a TensorRT engine (.plan or .engine)", (".plan", ".engine"), "tensorrt",
                 "snndeploy.runners.tensorrt:TensorRTRunner",
                 ("fp32", "fp16", "int8"), ("cuda",), True, "snndeploy[gpu]"),
)
BACKENDS: tuple[str, ...] = tuple(k.backend for k in KINDS)


def kind_of(path: str | Path) -> ArtifactKind:
    """The kind of an artifact path; a one-line error for a missing file or an unknown suffix."""
    p = Path(path)
    for kind in KINDS:
        if kind.matches(p):
            return kind
    if not p.exists():
        raise SnnDeployError(f"artifact not found: {p}")
    names = "; ".join(k.what for k in KINDS)
    raise SnnDeployError(f"unknown artifact type: {p} (expected {names})")


def kind_for_backend(backend: str) -> ArtifactKind:
    """The kind a backend name runs."""
    for kind in KINDS:
        if kind.backend == backend:
            return kind
    raise SnnDeployError(f"unknown backend '{backend}'; choose from {', '.join(BACKENDS)}")
