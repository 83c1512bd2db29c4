"""Runners for every backend behind one interface, opened from an artifact path."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import SnnDeployError
from .base import Runner, TensorInfo
from .onnxruntime import OnnxRuntimeRunner
from .tensorrt import TensorRTRunner
from .torch_runner import TorchRunner


def open_runner(path: str | Path, *, T: int = 5, stage: int = 3, alpha: float | None = None,
                device: str = "cpu") -> Runner:
    """A runner for a checkpoint (folder/.json/.safetensors), an ONNX file or a TensorRT engine."""
    p = Path(path)
    if p.suffix in (".plan", ".engine"):
        return TensorRTRunner(p)
    if p.suffix == ".onnx":
        return OnnxRuntimeRunner(p, device=device)
    if p.is_dir() or p.suffix in (".json", ".safetensors"):
        return TorchRunner(p, T=T, stage=stage, alpha=alpha, device=device)
    if not p.exists():
        raise SnnDeployError(f"artifact not found: {p}")
    raise SnnDeployError(f"unknown artifact type: {p} (expected a checkpoint, a .onnx file or a .plan engine)")


__all__ = ["Runner", "TensorInfo", "open_runner"]
