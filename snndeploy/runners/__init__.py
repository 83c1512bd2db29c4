"""Runners for every backend behind one interface, opened from an artifact path through the table of kinds
(snndeploy.runners.table)."""

from __future__ import annotations

from pathlib import Path

from .base import BackendUnavailable, Runner, TensorInfo
from .table import (
    ArtifactKind,
    Recipe,
    backends,
    find_kind,
    kind_for_backend,
    kind_named,
    kind_of,
    kinds,
    register,
    unregister,
)


def open_runner(path: str | Path, *, T: int = 5, stage: int = 3, alpha: float | None = None,
                device: str = "cpu", seed: int | None = None) -> Runner:
    """A runner for any artifact of the kinds table, with the options its backend takes (Runner.options).

    T, stage and alpha apply to checkpoints (graphs and engines have theirs); ``seed`` seeds the random ops
    of an ONNX graph that draws its own noise."""
    return kind_of(path).open(path, T=T, stage=stage, alpha=alpha, device=device, seed=seed)


__all__ = ["ArtifactKind", "BackendUnavailable", "Recipe", "Runner", "TensorInfo", "backends", "find_kind",
           "kind_for_backend", "kind_named", "kind_of", "kinds", "open_runner", "register", "unregister"]
