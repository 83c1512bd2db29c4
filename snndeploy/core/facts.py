"""The facts every artifact carries (checkpoint, ONNX graph, TensorRT engine): one typed, versioned record,
and the one reader that checks the format and version of the files that embed it."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from .config import TrainConfig, from_mapping
from .errors import SnnDeployError
from .neuron_config import NeuronConfig
from .spec import DataSpec

# One number for the record and for the three files that embed it: they change together. Version 1 is the
# loose dicts of the first release (checkpoint JSON, ONNX metadata, engine sidecar), read by `Container.v1`.
VERSION = 2
NOISE_MODES = ("graph", "input", "frozen")
PRECISIONS = ("fp32", "fp16", "int8")
# the largest batch of a dynamic-batch artifact unless asked otherwise: engine profiles, ONNX Runtime's
# TensorRT provider, Triton's max_batch_size
DEFAULT_MAX_BATCH = 64
STAGES = (1, 2, 3)
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class ArtifactFacts:
    """What a model file is: architecture, data, neuron, how it was unrolled and built, where it came from.

    A checkpoint runs at any T, so its record has no T, stage or noise mode (all three None); every graph,
    engine and runner has all three. Derived artifacts are ``dataclasses.replace`` of their source's record.
    """

    version: ClassVar[int] = VERSION

    model: str
    data: DataSpec
    neuron: NeuronConfig
    T: int | None = None
    stage: int | None = None
    noise: str | None = None  # graph (random ops), input (raw draws fed as inputs), frozen (constants)
    noise_inputs: dict[str, tuple[int, ...]] = field(default_factory=dict)  # input name -> per-sample shape
    precision: str = "fp32"
    batch: str | int = "dynamic"
    max_batch: int | None = None  # the largest batch one call takes (a --noise graph bank's capacity); None: any
    opset: int | None = None
    inline: bool | None = None
    seed: int | None = None  # seed of the graph's frozen noise or noise bank
    training: TrainConfig | None = None
    weights_sha256: str | None = None  # of the checkpoint's weights file this artifact was made from

    def __post_init__(self) -> None:
        _check(self)
        object.__setattr__(self, "noise_inputs", {k: tuple(v) for k, v in self.noise_inputs.items()})

    @property
    def is_checkpoint(self) -> bool:
        """True for a checkpoint's record, which is run at any T."""
        return self.T is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (alpha = inf written as 'inf'), with the schema version."""
        return {"version": VERSION, "model": self.model, "data": self.data.to_dict(),
                "neuron": self.neuron.to_dict(), "T": self.T, "stage": self.stage, "noise": self.noise,
                "noise_inputs": {k: list(v) for k, v in self.noise_inputs.items()}, "precision": self.precision,
                "batch": self.batch, "max_batch": self.max_batch, "opset": self.opset, "inline": self.inline,
                "seed": self.seed,
                "training": None if self.training is None else self.training.to_dict(),
                "weights_sha256": self.weights_sha256}

    @classmethod
    def from_dict(cls, d: Any, where: str = "") -> ArtifactFacts:
        """Rebuild from ``to_dict``'s output; unknown or missing keys and wrong types are one-line errors."""
        prefix = f"{where}: " if where else ""
        if not isinstance(d, dict):
            raise SnnDeployError(f"{prefix}artifact facts must be a mapping, got {type(d).__name__}")
        names = {"version"} | {f.name for f in fields(cls)}
        if unknown := sorted(set(map(str, d)) - names):
            raise SnnDeployError(f"{prefix}artifact facts have unknown key(s): {', '.join(unknown)}")
        d = {"max_batch": None, **d}  # added within version 2: files written before it lack the key
        if missing := sorted(names - set(d)):
            raise SnnDeployError(f"{prefix}artifact facts lack key(s): {', '.join(missing)}")
        if d["version"] != VERSION:
            raise SnnDeployError(f"{prefix}artifact facts have version {d['version']!r}; this snndeploy reads "
                                 f"version {VERSION}")
        shapes = d["noise_inputs"]
        if not isinstance(shapes, dict) or not all(isinstance(v, list) for v in shapes.values()):
            raise SnnDeployError(f"{prefix}facts field 'noise_inputs' must map names to lists of sizes")
        try:
            data = DataSpec.from_dict(d["data"])
            neuron = _neuron(d["neuron"])
            training = None if d["training"] is None else from_mapping(TrainConfig, d["training"], "training")
        except SnnDeployError as exc:
            raise SnnDeployError(f"{prefix}{exc}") from None
        plain = {k: d[k] for k in ("model", "T", "stage", "noise", "precision", "batch", "max_batch", "opset", "inline",
                                   "seed", "weights_sha256")}
        _check_types(plain, shapes, prefix)
        try:
            return cls(data=data, neuron=neuron, training=training, noise_inputs=shapes, **plain)
        except SnnDeployError as exc:
            raise SnnDeployError(f"{prefix}{exc}") from None


def _neuron(d: Any) -> NeuronConfig:
    if not isinstance(d, dict):
        raise SnnDeployError(f"neuron options must be a mapping, got {type(d).__name__}")
    beta = d.get("beta")
    if beta is not None and (isinstance(beta, bool) or not isinstance(beta, (int, float))):
        raise SnnDeployError(f"beta must be a number or null, got {beta!r}")
    try:
        return NeuronConfig.from_dict(d)
    except TypeError as exc:
        raise SnnDeployError(f"neuron options are badly typed: {exc}") from None


_TYPES: dict[str, tuple[tuple[type, ...], str]] = {
    "model": ((str,), "a string"),
    "T": ((int, type(None)), "an integer or null"),
    "stage": ((int, type(None)), "an integer or null"),
    "noise": ((str, type(None)), "a string or null"),
    "precision": ((str,), "a string"),
    "batch": ((str, int), "'dynamic' or an integer"),
    "max_batch": ((int, type(None)), "an integer or null"),
    "opset": ((int, type(None)), "an integer or null"),
    "inline": ((bool, type(None)), "true, false or null"),
    "seed": ((int, type(None)), "an integer or null"),
    "weights_sha256": ((str, type(None)), "a hex string or null"),
}


def _check_types(plain: dict[str, Any], shapes: dict[str, Any], prefix: str) -> None:
    """JSON types of the plain fields (bool is not an integer here)."""
    for name, value in plain.items():
        kinds, what = _TYPES[name]
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise SnnDeployError(f"{prefix}facts field '{name}' must be {what}, got {value!r}")
    for name, shape in shapes.items():
        if not all(isinstance(s, int) and not isinstance(s, bool) for s in shape):
            raise SnnDeployError(f"{prefix}facts field 'noise_inputs' entry '{name}' must be integer sizes, "
                                 f"got {shape!r}")


def _check(f: ArtifactFacts) -> None:
    """Values that no artifact can have, whether built in code or read from a file."""
    if not isinstance(f.model, str) or not f.model:
        raise SnnDeployError(f"model name must be a non-empty string, got {f.model!r}")
    if not isinstance(f.data, DataSpec) or not isinstance(f.neuron, NeuronConfig):
        raise SnnDeployError("facts need a DataSpec and a NeuronConfig")
    if f.training is not None and not isinstance(f.training, TrainConfig):
        raise SnnDeployError("facts' training must be a TrainConfig or None")
    if (f.T is None) != (f.stage is None) or (f.T is None) != (f.noise is None):
        raise SnnDeployError(f"T, stage and noise mode are set together or not at all (a checkpoint), "
                             f"got T={f.T!r}, stage={f.stage!r}, noise={f.noise!r}")
    if f.T is not None and (isinstance(f.T, bool) or not isinstance(f.T, int) or f.T < 1):
        raise SnnDeployError(f"T must be >= 1, got {f.T!r}")
    if f.stage is not None and f.stage not in STAGES:
        raise SnnDeployError(f"stage must be one of {', '.join(map(str, STAGES))}, got {f.stage!r}")
    if f.noise is not None and f.noise not in NOISE_MODES:
        raise SnnDeployError(f"unknown noise mode {f.noise!r}; choose one of: {', '.join(NOISE_MODES)}")
    if f.noise_inputs and f.noise != "input":
        raise SnnDeployError(f"only a --noise input graph has noise inputs, this one is noise={f.noise!r}")
    for name, shape in f.noise_inputs.items():
        if not isinstance(name, str) or not all(isinstance(s, int) and s > 0 for s in shape):
            raise SnnDeployError(f"noise input {name!r} must have a positive per-sample shape, got {list(shape)!r}")
    if f.precision not in PRECISIONS:
        raise SnnDeployError(f"precision must be one of {', '.join(PRECISIONS)}, got {f.precision!r}")
    if f.batch != "dynamic" and (isinstance(f.batch, bool) or not isinstance(f.batch, int) or f.batch < 1):
        raise SnnDeployError(f"batch must be 'dynamic' or a positive integer, got {f.batch!r}")
    if f.opset is not None and (isinstance(f.opset, bool) or not isinstance(f.opset, int) or f.opset < 1):
        raise SnnDeployError(f"opset must be a positive integer, got {f.opset!r}")
    if f.weights_sha256 is not None and not _SHA256.fullmatch(str(f.weights_sha256)):
        raise SnnDeployError(f"weights_sha256 must be 64 lowercase hex digits, got {f.weights_sha256!r}")


@dataclass(frozen=True)
class Container:
    """A kind of file that embeds the record beside keys of its own (weights hash, TensorRT version, ...)."""

    format: str
    what: str  # "a snndeploy checkpoint"
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    redo: str = ""  # how to make a current file from an old one
    checkpoint: bool = False  # True: the record is a checkpoint's (no T); False: a graph's or an engine's
    v1: Callable[[dict[str, Any], str], tuple[ArtifactFacts, dict[str, Any]]] | None = None  # reads version 1

    @property
    def own_keys(self) -> frozenset[str]:
        return frozenset(self.required) | frozenset(self.optional)


def envelope(container: Container, facts: ArtifactFacts, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON object of one file: format, version, the record under 'facts', and the file's own keys."""
    if unknown := sorted(set(extra) - container.own_keys):
        raise SnnDeployError(f"{container.format} has no key(s) {', '.join(unknown)}")
    if missing := [k for k in container.required if k not in extra]:
        raise SnnDeployError(f"{container.format} lacks {', '.join(missing)}")
    return {"format": container.format, "version": VERSION, "facts": facts.to_dict(), **extra}


def read_facts(obj: Any, where: str, container: Container) -> tuple[ArtifactFacts, dict[str, Any]]:
    """The record and the file's own keys from a parsed JSON object; format and version are checked here."""
    if not isinstance(obj, dict) or obj.get("format") != container.format:
        raise SnnDeployError(f"{where} is not {container.what} (format is not '{container.format}')")
    version = obj.get("version")
    if version == 1:
        if container.v1 is None:
            raise SnnDeployError(f"{where} was written by an older snndeploy (format version 1); {container.redo}")
        return container.v1(obj, where)
    if version != VERSION:
        newer = isinstance(version, int) and not isinstance(version, bool) and version > VERSION
        hint = "upgrade snndeploy to read it" if newer else container.redo
        raise SnnDeployError(f"{where}: unsupported {container.format} version {version!r} (this snndeploy "
                             f"reads {VERSION}); {hint}")
    extra = {k: v for k, v in obj.items() if k not in ("format", "version", "facts")}
    if unknown := sorted(set(map(str, extra)) - container.own_keys):
        raise SnnDeployError(f"{where} has unknown key(s): {', '.join(unknown)}")
    if missing := [k for k in ("facts", *container.required) if k not in obj]:
        raise SnnDeployError(f"{where} lacks '{missing[0]}'")
    facts = ArtifactFacts.from_dict(obj["facts"], where)
    if facts.is_checkpoint != container.checkpoint:
        kind = "a checkpoint's" if facts.is_checkpoint else "a graph's"
        raise SnnDeployError(f"{where} holds {kind} facts, which do not fit {container.what}")
    return facts, extra
