"""Checkpoints: weights in safetensors, the artifact facts and training history in JSON, no pickle anywhere."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .core import atomic
from .core.errors import SnnDeployError
from .core.facts import VERSION, ArtifactFacts, Container, envelope, read_facts
from .core.hashing import sha256
from .core.neuron_config import NeuronConfig
from .core.spec import DataSpec
from .models import SpikingNet, build_model

FORMAT = "snndeploy-checkpoint"
WEIGHTS, META, STATE = "model.safetensors", "model.json", "train_state.safetensors"
_V1_RECORD = ("model", "data", "neuron", "training")


def _read_v1(obj: dict[str, Any], where: str) -> tuple[ArtifactFacts, dict[str, Any]]:
    """The first release's layout: the record's parts at the top level beside weights, history, train_state."""
    for key in ("model", "data", "neuron", "weights"):
        if key not in obj:
            raise SnnDeployError(f"{where}: checkpoint JSON lacks '{key}'")
    extra = {k: v for k, v in obj.items() if k not in ("format", "version", *_V1_RECORD)}
    if unknown := sorted(set(extra) - set(CONTAINER.own_keys)):
        raise SnnDeployError(f"{where} has unknown key(s): {', '.join(unknown)}")
    sha = obj["weights"].get("sha256") if isinstance(obj["weights"], dict) else None
    record = {"version": VERSION, "model": obj["model"], "data": obj["data"], "neuron": obj["neuron"], "T": None,
              "stage": None, "noise": None, "noise_inputs": {}, "precision": "fp32", "batch": "dynamic",
              "opset": None, "inline": None, "seed": None, "training": obj.get("training"), "weights_sha256": sha}
    return ArtifactFacts.from_dict(record, where), extra


CONTAINER = Container(FORMAT, "a snndeploy checkpoint", required=("weights",), optional=("history", "train_state"),
                      redo="train it again with `snndeploy train`", checkpoint=True, v1=_read_v1)


@dataclass
class Checkpoint:
    """A loaded checkpoint: the model (eval mode), its facts and the JSON's own keys (weights, history, ...)."""

    model: SpikingNet
    facts: ArtifactFacts
    path: Path
    extra: dict[str, Any] = field(default_factory=dict)
    train_state: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def spec(self) -> DataSpec:
        return self.facts.data

    @property
    def neuron(self) -> NeuronConfig:
        return self.facts.neuron



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


def save(folder: str | Path, model: SpikingNet, facts: ArtifactFacts, extra: dict[str, Any] | None = None,
         train_state: dict[str, torch.Tensor] | None = None) -> Path:
    """Write weights (and optional training state) then the JSON: the facts beside ``extra`` (history,
    train_state's JSON part) and the hashes of the tensor files."""
    folder = Path(folder)
    extra = dict(extra or {})
    if not facts.is_checkpoint:
        raise SnnDeployError(f"a checkpoint runs at any T; its facts must not fix T (got T={facts.T})")
    if unknown := sorted(set(extra) - set(CONTAINER.optional)):
        raise SnnDeployError(f"a checkpoint JSON has no key(s) {', '.join(unknown)}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    with atomic.atomic_path(folder / WEIGHTS) as w_tmp:
        save_file(tensors, str(w_tmp), metadata={"format": FORMAT})
        digest = sha256(w_tmp)
        extra["weights"] = {"file": WEIGHTS, "sha256": digest}
        facts = dataclasses.replace(facts, weights_sha256=digest)
        if train_state is not None:
            with atomic.atomic_path(folder / STATE) as s_tmp:
                save_file({k: v.detach().cpu().contiguous() for k, v in train_state.items()}, str(s_tmp))
                extra["train_state"] = {**extra.get("train_state", {}), "file": STATE, "sha256": sha256(s_tmp)}
    return atomic.write_json(folder / META, envelope(CONTAINER, facts, extra))


def _load_tensors(path: Path, expected_sha: str | None, what: str) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise SnnDeployError(f"{what} file missing: {path}")
    if expected_sha is not None and sha256(path) != expected_sha:
        raise SnnDeployError(f"{what} file {path} does not match its checkpoint JSON (truncated or replaced?)")
    try:
        return load_file(str(path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise SnnDeployError(f"{what} file {path} is not valid safetensors: {exc}") from None


def read_meta(path: str | Path) -> tuple[Path, ArtifactFacts, dict[str, Any]]:
    """Read and validate a checkpoint's JSON: its path, its facts and its own keys (weights, history, ...)."""
    meta_path = resolve(path)
    try:
        obj = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SnnDeployError(f"{meta_path} is not a snndeploy checkpoint (unreadable JSON)") from None
    facts, extra = read_facts(obj, str(meta_path), CONTAINER)
    weights = extra["weights"]
    if not isinstance(weights, dict) or not isinstance(weights.get("file", WEIGHTS), str):
        raise SnnDeployError(f"{meta_path}: checkpoint JSON's 'weights' must name a file")
    return meta_path, facts, extra


def load(path: str | Path, device: str | torch.device = "cpu", with_train_state: bool = False) -> Checkpoint:
    """Load a checkpoint, checking hashes and that the weights fit the named architecture."""
    meta_path, facts, extra = read_meta(path)
    spec = facts.data
    model = build_model(facts.model, spec.input_shape, spec.num_classes, facts.neuron)
    weights = extra["weights"]
    tensors = _load_tensors(meta_path.parent / weights.get("file", WEIGHTS), weights.get("sha256"), "weights")
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise SnnDeployError(f"weights in {meta_path.parent} do not fit model '{facts.model}': {first}") from None
    state: dict[str, torch.Tensor] = {}
    if with_train_state and isinstance(extra.get("train_state"), dict):
        info = extra["train_state"]
        state = _load_tensors(meta_path.parent / info.get("file", STATE), info.get("sha256"), "training state")
    model.to(device).eval()
    return Checkpoint(model=model, facts=facts, path=meta_path, extra=extra, train_state=state)
