"""Runners for every backend behind one interface, opened from an artifact path through the table of kinds."""

from __future__ import annotations

from pathlib import Path

from .base import BackendUnavailable, Runner, TensorInfo
from .formats import BACKENDS, KINDS, ArtifactKind, kind_for_backend, kind_of


def open_runner(path: str | Path, *, T: int = 5, stage: int = 3, alpha: float | None = None,
                device: str = "cpu", seed: int | None = None) -> Runner:
    """A runner for a checkpoint (folder/.json/.safetensors), an ONNX file or a TensorRT engine (KINDS).

    T, stage and alpha apply to checkpoints (graphs and engines have theirs); ``seed`` seeds the random ops
    of an ONNX graph that draws its own noise."""
    p = Path(path)
    kind = kind_of(p)
    if kind.name == "engine":
        return kind.runner(p)
    if kind.name == "onnx":
        return kind.runner(p, device=device, seed=seed)
    return kind.runner(p, T=T, stage=stage, alpha=alpha, device=device)


__all__ = ["BACKENDS", "KINDS", "ArtifactKind", "BackendUnavailable", "Runner", "TensorInfo", "kind_for_backend",
           "kind_of", "open_runner"]
