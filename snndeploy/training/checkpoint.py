"""Checkpoints: weights in safetensors, the artifact facts and training history in JSON, no pickle anywhere."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load as tensors_from_bytes
from safetensors.torch import save_file

from ..core import atomic, files
from ..core.errors import SnnDeployError, short
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


# "previous": the tensor files the checkpoint before this one named, removed right after this JSON is committed;
# listed so that a kill between the commit and the removal is cleaned at the next save (readers re-read the JSON
# when a named file has vanished). Only files a manifest of the folder named are ever removed: a foreign
# model.safetensors in an -o folder is never ours.
CONTAINER = Container(FORMAT, "a snndeploy checkpoint", required=("weights",),
                      optional=("history", "train_state", "previous"),
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
    if not path.exists():  # a FIFO or a folder in its place is judged by the reader: "not a regular file"
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


def _manifest_files(folder: Path) -> tuple[set[str], set[str]]:
    """The tensor files the folder's current checkpoint JSON names, and those it lists as the previous
    generation's: none if there is no valid checkpoint JSON (a folder of foreign files holds nothing of ours)."""
    try:
        _, _, extra = read_meta(folder / META)
    except SnnDeployError:
        return set(), set()
    named = {_file_entry(extra[k], k, folder)[0] for k in ("weights", "train_state") if k in extra}
    return named, set(extra.get("previous", []))


def _check_finite(tensors: dict[str, torch.Tensor], what: str) -> None:
    """Refuse NaN or infinite values in floating tensors about to be written: they never reach a manifest."""
    for name, t in tensors.items():
        if t.is_floating_point() and not bool(torch.isfinite(t).all()):
            raise SnnDeployError(f"{what} '{short(name, 60)}' holds NaN or infinite values; not saved")


def _remove_ours(folder: Path, names: set[str]) -> None:
    """Remove the tensor files a manifest of ``folder`` named that no manifest names any more: regular files
    under the names this module writes, never a link or anything else."""
    for name in sorted(names):
        path = folder / name
        try:
            if _OURS.fullmatch(name) and stat.S_ISREG(os.lstat(path).st_mode):
                path.unlink()
        except OSError:
            pass  # gone already, or not ours to judge: keep going


def save(folder: str | Path, model: SpikingNet, facts: ArtifactFacts, extra: dict[str, Any] | None = None,
         train_state: dict[str, torch.Tensor] | None = None) -> Path:
    """Commit a checkpoint as one unit: the tensor files under new names (from their hashes), then the JSON,
    which names them with their hashes, replaced atomically — the commit point. Until then the previous
    JSON and the files it names stay whole, so a kill at any moment leaves a loadable checkpoint. Once the new
    JSON is committed, the files the previous one named are removed (one generation on disk, not two); the new
    JSON lists them as 'previous' so that a kill before their removal is cleaned at the next save (a reader
    that has just read the old JSON reads the new one when a file vanished). Only files a checkpoint JSON of
    this folder named are ever removed, and dead writers' temp folders; a tensor that is not finite is refused
    before any file is written."""
    folder = Path(folder)
    extra = dict(extra or {})
    if not facts.is_checkpoint:
        raise SnnDeployError(f"a checkpoint runs at any T; its facts must not fix T (got T={facts.T})")
    if unknown := sorted(set(extra) - set(CONTAINER.optional)):
        raise SnnDeployError(f"a checkpoint JSON has no key(s) {', '.join(unknown)}")
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    state = None if train_state is None else {k: v.detach().cpu().contiguous() for k, v in train_state.items()}
    _check_finite(tensors, "weight")  # before any file is written: a NaN leaves no file and no manifest
    _check_finite(state or {}, "training state tensor")
    atomic.remove_stale_temps(folder)
    named, previous = _manifest_files(folder)
    name, digest = _write_tensors(folder, "model", tensors, format=FORMAT)
    extra["weights"] = {"file": name, "sha256": digest}
    facts = dataclasses.replace(facts, weights_sha256=digest)
    now = {name}
    if state is not None:
        state_name, state_digest = _write_tensors(folder, "train_state", state)
        extra["train_state"] = {**extra.get("train_state", {}), "file": state_name, "sha256": state_digest}
        now.add(state_name)
    extra["previous"] = sorted(named - now)
    path = atomic.write_json(folder / META, envelope(CONTAINER, facts, extra))
    _remove_ours(folder, (named | previous) - now)
    return path


def _load_tensors(path: Path, expected_sha: str, what: str) -> dict[str, torch.Tensor]:
    if not os.path.lexists(path):
        raise _Missing(f"{what} file missing: {path}")
    try:
        data = files.read_bytes(path, f"{what} file", "tensors")  # the hash and the tensors from the same bytes
    except SnnDeployError:
        if not os.path.lexists(path):
            raise _Missing(f"{what} file missing: {path}") from None
        raise
    if sha256_bytes(data) != expected_sha:
        raise SnnDeployError(f"{what} file {path} does not match its checkpoint JSON (truncated or replaced?)")
    try:
        return tensors_from_bytes(data)
    except (SafetensorError, ValueError) as exc:
        raise SnnDeployError(f"{what} file {path} is not valid safetensors: {short(str(exc))}") from None


class _Missing(SnnDeployError):
    """A file the JSON names is gone: a writer may have committed a newer checkpoint meanwhile."""


def _bare_name(name: Any, what: str, where: Path) -> str:
    """A .safetensors file name in the run folder (no path); one line for anything else."""
    if not isinstance(name, str) or not name.endswith(".safetensors") or Path(name).name != name \
            or name in (".", "..") or "\\" in name:
        raise SnnDeployError(f"{where}: '{what}' must be a .safetensors file name in the run folder, "
                             f"got {short(name)}")
    return name


def _file_entry(entry: Any, key: str, where: Path) -> tuple[str, str]:
    """(bare file name, sha256) of a tensor file the JSON names; one line for anything else."""
    if not isinstance(entry, dict):
        raise SnnDeployError(f"{where}: '{key}' must be a mapping with 'file' and 'sha256'")
    name, digest = _bare_name(entry.get("file"), f"{key}.file", where), entry.get("sha256")
    if not isinstance(digest, str) or not SHA256_HEX.fullmatch(digest):
        raise SnnDeployError(f"{where}: '{key}.sha256' must be the file's sha256 (64 hex digits), got {short(digest)}")
    return name, digest


# the tensor files this module writes (and the fixed names of earlier releases), the only ones it removes
_OURS = re.compile(r"(model|train_state)(\.[0-9a-f]{16})?\.safetensors")


def read_meta(path: str | Path) -> tuple[Path, ArtifactFacts, dict[str, Any]]:
    """Read and validate a checkpoint's JSON: its path, its facts and its own keys (weights, history, ...)."""
    meta_path = resolve(path)
    obj = files.read_json(meta_path, "checkpoint JSON")  # a regular file, bounded in size and depth
    facts, extra = read_facts(obj, str(meta_path), CONTAINER)
    _file_entry(extra["weights"], "weights", meta_path)
    if "train_state" in extra:
        _train_state_entry(extra["train_state"], meta_path)
    if not isinstance(extra.get("history", []), list):
        raise SnnDeployError(f"{meta_path}: 'history' must be a list")
    previous = extra.get("previous", [])
    if not isinstance(previous, list):
        raise SnnDeployError(f"{meta_path}: 'previous' must be a list of .safetensors file names")
    for name in previous:
        _bare_name(name, "previous", meta_path)
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


def _check_weights(tensors: dict[str, torch.Tensor], own: dict[str, torch.Tensor], model: str, where: Path) -> None:
    """The weights must be the model's own tensors (``own``: its state dict, on the meta device): the same names,
    shapes and dtypes (float parameters, integer counters), and finite. Compared before the model is built, so
    a manifest whose image size asks for terabytes is refused by its weights' shapes, not by the allocator."""
    if missing := sorted(set(own) - set(tensors)):
        raise SnnDeployError(f"weights in {where} do not fit model '{model}': '{short(missing[0], 60)}' is missing")
    if unexpected := sorted(set(tensors) - set(own)):
        raise SnnDeployError(f"weights in {where} do not fit model '{model}': '{short(unexpected[0], 60)}' is "
                             "not one of its tensors")
    for name, t in tensors.items():
        want = own[name]
        if t.shape != want.shape:
            raise SnnDeployError(f"weights in {where} do not fit model '{model}': '{name}' has shape "
                                 f"{tuple(t.shape)}, the model needs {tuple(want.shape)}")
        if t.dtype != want.dtype:
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
    with torch.device("meta"):  # the model's tensor shapes, without memory
        shell = build_model(facts.model, spec.input_shape, spec.num_classes, facts.neuron)
    name, digest = _file_entry(extra["weights"], "weights", meta_path)
    tensors = _load_tensors(meta_path.parent / name, digest, "weights")
    _check_weights(tensors, shell.state_dict(), facts.model, meta_path.parent)
    model = build_model(facts.model, spec.input_shape, spec.num_classes, facts.neuron)
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
