"""Checkpoints: weights in safetensors, the artifact facts and training history in JSON, no pickle anywhere."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as tensors_from_bytes
from safetensors.torch import save_file

from ..core import atomic
from ..core.errors import SnnDeployError
from ..core.facts import VERSION, ArtifactFacts, Container, envelope, read_facts
from ..core.hashing import SHA256_HEX, sha256, sha256_bytes
from ..core.neuron_config import NeuronConfig
from ..core.spec import DataSpec
from ..models import SpikingNet, build_model

FORMAT = "snndeploy-checkpoint"
META = "model.json"  # the manifest: names the tensor files (model.<hash>.safetensors, ...) with their hashes
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
    """The checkpoint's JSON from a run folder, its JSON or one of its .safetensors files."""
    path = Path(path)
    if path.is_dir():
        path = path / META
    elif path.suffix == ".safetensors":
        path = path.parent / META
    if not path.is_file():
        raise SnnDeployError(f"checkpoint not found: {path}")
    return path


def _hashed_name(stem: str) -> Callable[[Path], Path]:
    """The final name of a written tensor file: ``<stem>.<first 16 hex of its sha256>.safetensors``."""
    return lambda tmp: tmp.parent / f"{stem}.{sha256(tmp)[:16]}.safetensors"


def _write_tensors(folder: Path, stem: str, tensors: dict[str, torch.Tensor], **meta: str) -> tuple[str, str]:
    """Write a safetensors file under its content name: (file name, sha256). A kill leaves at most a temp file."""
    with atomic.atomic_path(_hashed_name(stem), folder) as tmp:
        save_file(tensors, str(tmp), metadata=meta or None)
        digest = sha256(tmp)
    return f"{stem}.{digest[:16]}.safetensors", digest


def _named_files(folder: Path) -> set[str]:
    """The tensor files the folder's current checkpoint JSON names (none if it is absent or unreadable)."""
    try:
        obj = json.loads((folder / META).read_text(encoding="utf-8"))
        return {obj[k]["file"] for k in ("weights", "train_state") if isinstance(obj.get(k), dict)
                and isinstance(obj[k].get("file"), str)}
    except (OSError, ValueError, TypeError):
        return set()


def save(folder: str | Path, model: SpikingNet, facts: ArtifactFacts, extra: dict[str, Any] | None = None,
         train_state: dict[str, torch.Tensor] | None = None) -> Path:
    """Commit a checkpoint as one unit: the tensor files under new names (from their hashes), then the JSON,
    which names them with their hashes, replaced atomically — the commit point. Until then the previous
    JSON and the files it names stay whole, so a kill at any moment leaves a loadable checkpoint. The files
    of the previous checkpoint are kept one more generation (a reader that has just read the old JSON can
    still open them); older ones and stale temp files are removed."""
    folder = Path(folder)
    extra = dict(extra or {})
    if not facts.is_checkpoint:
        raise SnnDeployError(f"a checkpoint runs at any T; its facts must not fix T (got T={facts.T})")
    if unknown := sorted(set(extra) - set(CONTAINER.optional)):
        raise SnnDeployError(f"a checkpoint JSON has no key(s) {', '.join(unknown)}")
    atomic.remove_stale_temps(folder)
    keep = _named_files(folder)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    name, digest = _write_tensors(folder, "model", tensors, format=FORMAT)
    extra["weights"] = {"file": name, "sha256": digest}
    facts = dataclasses.replace(facts, weights_sha256=digest)
    if train_state is not None:
        state = {k: v.detach().cpu().contiguous() for k, v in train_state.items()}
        state_name, state_digest = _write_tensors(folder, "train_state", state)
        extra["train_state"] = {**extra.get("train_state", {}), "file": state_name, "sha256": state_digest}
    path = atomic.write_json(folder / META, envelope(CONTAINER, facts, extra))
    keep |= _named_files(folder)
    for old in folder.iterdir():
        if _OURS.fullmatch(old.name) and old.name not in keep:
            old.unlink(missing_ok=True)
    return path


def _load_tensors(path: Path, expected_sha: str, what: str) -> dict[str, torch.Tensor]:
    try:
        data = path.read_bytes()  # one read: the hash and the tensors come from the same bytes
    except FileNotFoundError:
        raise _Missing(f"{what} file missing: {path}") from None
    except OSError as exc:
        raise SnnDeployError(f"cannot read {what} file {path}: {exc.strerror or exc}") from None
    if sha256_bytes(data) != expected_sha:
        raise SnnDeployError(f"{what} file {path} does not match its checkpoint JSON (truncated or replaced?)")
    try:
        return tensors_from_bytes(data)
    except (SafetensorError, ValueError) as exc:
        raise SnnDeployError(f"{what} file {path} is not valid safetensors: {exc}") from None


class _Missing(SnnDeployError):
    """A file the JSON names is gone: a writer may have committed a newer checkpoint meanwhile."""


def _file_entry(entry: Any, key: str, where: Path) -> tuple[str, str]:
    """(bare file name, sha256) of a tensor file the JSON names; one line for anything else."""
    if not isinstance(entry, dict):
        raise SnnDeployError(f"{where}: '{key}' must be a mapping with 'file' and 'sha256'")
    name, digest = entry.get("file"), entry.get("sha256")
    if not isinstance(name, str) or not name.endswith(".safetensors") or Path(name).name != name \
            or name in (".", "..") or "\\" in name:
        raise SnnDeployError(f"{where}: '{key}.file' must be a .safetensors file name in the run folder, got {name!r}")
    if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
        raise SnnDeployError(f"{where}: '{key}.sha256' must be the file's sha256 (64 hex digits), got {digest!r}")
    return name, digest


# the tensor files this module writes (and the fixed names of earlier releases), the only ones it removes
_OURS = re.compile(r"(model|train_state)(\.[0-9a-f]{16})?\.safetensors")


def read_meta(path: str | Path) -> tuple[Path, ArtifactFacts, dict[str, Any]]:
    """Read and validate a checkpoint's JSON: its path, its facts and its own keys (weights, history, ...)."""
    meta_path = resolve(path)
    try:
        obj = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SnnDeployError(f"{meta_path} is not a snndeploy checkpoint (unreadable JSON)") from None
    except OSError as exc:
        raise SnnDeployError(f"cannot read {meta_path}: {exc.strerror or exc}") from None
    facts, extra = read_facts(obj, str(meta_path), CONTAINER)
    _file_entry(extra["weights"], "weights", meta_path)
    if "train_state" in extra:
        _train_state_entry(extra["train_state"], meta_path)
    if not isinstance(extra.get("history", []), list):
        raise SnnDeployError(f"{meta_path}: 'history' must be a list")
    return meta_path, facts, extra


def _train_state_entry(info: Any, where: Path) -> None:
    """The JSON half of the training state: file and hash, epoch, optimizer groups, scheduler."""
    _file_entry(info, "train_state", where)
    epoch = info.get("epoch")
    if isinstance(epoch, bool) or not isinstance(epoch, int) or epoch < 0:
        raise SnnDeployError(f"{where}: 'train_state.epoch' must be a non-negative integer, got {epoch!r}")
    groups = info.get("param_groups")
    if not isinstance(groups, list) or not all(isinstance(g, dict) for g in groups):
        raise SnnDeployError(f"{where}: 'train_state.param_groups' must be a list of mappings")
    if not isinstance(info.get("scheduler"), dict):
        raise SnnDeployError(f"{where}: 'train_state.scheduler' must be a mapping")


def _check_weights(tensors: dict[str, torch.Tensor], model: SpikingNet, where: Path) -> None:
    """Weights must have the model's own dtypes (float parameters, integer counters) and be finite."""
    own = model.state_dict()
    for name, t in tensors.items():
        want = own.get(name)
        if want is not None and t.dtype != want.dtype:
            raise SnnDeployError(f"weights in {where}: '{name}' is {t.dtype}, the model needs {want.dtype}")
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise SnnDeployError(f"weights in {where}: '{name}' holds NaN or infinite values")


_ATTEMPTS = 10  # reads of the JSON while writers keep committing newer checkpoints


def load(path: str | Path, device: str | torch.device = "cpu", with_train_state: bool = False) -> Checkpoint:
    """Load a checkpoint, checking hashes and that the weights fit the named architecture.

    A writer may commit a newer checkpoint while this reads: when a file the JSON named has gone, the JSON is
    read again (a few times) instead of failing."""
    for attempt in range(_ATTEMPTS):
        try:
            return _load_once(path, device, with_train_state)
        except _Missing:
            if attempt == _ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def _load_once(path: str | Path, device: str | torch.device, with_train_state: bool) -> Checkpoint:
    meta_path, facts, extra = read_meta(path)
    spec = facts.data
    model = build_model(facts.model, spec.input_shape, spec.num_classes, facts.neuron)
    name, digest = _file_entry(extra["weights"], "weights", meta_path)
    tensors = _load_tensors(meta_path.parent / name, digest, "weights")
    _check_weights(tensors, model, meta_path.parent)
    try:
        model.load_state_dict(tensors, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[1].strip() if len(str(exc).splitlines()) > 1 else str(exc)
        raise SnnDeployError(f"weights in {meta_path.parent} do not fit model '{facts.model}': {first}") from None
    state: dict[str, torch.Tensor] = {}
    if with_train_state and "train_state" in extra:
        state_name, state_digest = _file_entry(extra["train_state"], "train_state", meta_path)
        state = _load_tensors(meta_path.parent / state_name, state_digest, "training state")
    model.to(device).eval()
    return Checkpoint(model=model, facts=facts, path=meta_path, extra=extra, train_state=state)
