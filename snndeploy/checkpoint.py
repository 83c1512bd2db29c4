"""Checkpoints: weights in safetensors, facts in JSON, no pickle anywhere (DESIGN.md §2)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .core import atomic
from .core.errors import SnnDeployError
from .core.hashing import sha256
from .core.neuron_config import NeuronConfig
from .core.spec import DataSpec
from .models import SpikingNet, build_model

FORMAT = "snndeploy-checkpoint"
VERSION = 1
WEIGHTS, META, STATE = "model.safetensors", "model.json", "train_state.safetensors"


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode) and the JSON facts that describe it."""

    model: SpikingNet
    meta: dict[str, Any]
    path: Path
    train_state: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def spec(self) -> DataSpec:
        return DataSpec.from_dict(self.meta["data"])

    @property
    def neuron(self) -> NeuronConfig:
        return NeuronConfig.from_dict(self.meta["neuron"])


def resolve(path: str | Path) -> Path:
    """The checkpoint's JSON from a run folder, its JSON or its .safetensors."""
    path = Path(path)
    if path.is_dir():
        path = path / META
    elif path.suffix == ".safetensors":
        path = path.with_suffix(".json")
    if not path.is_file():
        raise SnnDeployError(f"checkpoint not found: {path}")
    return path


def save(folder: str | Path, model: SpikingNet, meta: dict[str, Any],
         train_state: dict[str, torch.Tensor] | None = None) -> Path:
    """Write weights (and optional training state) then the JSON that names their hashes."""
    folder = Path(folder)
    meta = {"format": FORMAT, "version": VERSION, **meta}
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic.atomic_path(folder / WEIGHTS) as w_tmp:
        save_file(tensors, str(w_tmp), metadata={"format": FORMAT})
        meta["weights"] = {"file": WEIGHTS, "sha256": sha256(w_tmp)}
        if train_state is not None:
            with atomic.atomic_path(folder / STATE) as s_tmp:
                save_file({k: v.detach().cpu().contiguous() for k, v in train_state.items()}, str(s_tmp))
                meta["train_state"] = {**meta.get("train_state", {}), "file": STATE, "sha256": sha256(s_tmp)}
    return atomic.write_json(folder / META, meta)


def _load_tensors(path: Path, expected_sha: str | None, what: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise SnnDeployError(f"{what} file missing: {path}")
    if expected_sha is not None and sha256(path) != expected_sha:
        raise SnnDeployError(f"{what} file {path} does not match its checkpoint JSON (truncated or replaced?)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise SnnDeployError(f"{what} file {path} is not valid safetensors: {exc}") from None


def read_meta(path: str | Path) -> tuple[Path, dict[str, Any]]:
    """Read and validate a checkpoint's JSON."""
    meta_path = resolve(path)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SnnDeployError(f"{meta_path} is not a snndeploy checkpoint (unreadable JSON)") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise SnnDeployError(f"{meta_path} is not a snndeploy checkpoint (format is not '{FORMAT}')")
    if meta.get("version") != VERSION:
        raise SnnDeployError(f"{meta_path}: unsupported checkpoint version {meta.get('version')!r}")
    for key in ("model", "data", "neuron", "weights"):
        if key not in meta:
            raise SnnDeployError(f"{meta_path}: checkpoint JSON lacks '{key}'")
    return meta_path, meta


def load(path: str | Path, device: str | torch.device = "cpu", with_train_state: bool = False) -> Checkpoint:
    """Load a checkpoint, checking hashes and that the weights fit the named architecture."""
    meta_path, meta = read_meta(path)
    spec = DataSpec.from_dict(meta["data"])
    model = build_model(meta["model"], spec.input_shape, spec.num_classes, NeuronConfig.from_dict(meta["neuron"]))
    weights = meta["weights"]
    tensors = _load_tensors(meta_path.parent / weights.get("file", WEIGHTS), weights.get("sha256"), "weights")
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise SnnDeployError(f"weights in {meta_path.parent} do not fit model '{meta['model']}': {first}") from None
    state: dict[str, torch.Tensor] = {}
    if with_train_state and "train_state" in meta:
        info = meta["train_state"]
        state = _load_tensors(meta_path.parent / info.get("file", STATE), info.get("sha256"), "training state")
    model.to(device).eval()
    return Checkpoint(model=model, meta=meta, path=meta_path, train_state=state)
