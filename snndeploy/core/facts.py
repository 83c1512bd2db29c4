"""The facts every artifact carries (checkpoint, ONNX graph, TensorRT engine): one typed, versioned record,
and the one reader that checks the format and version of the files that embed it."""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

from . import validate as v
from .config import TrainConfig, from_mapping
from .errors import SnnDeployError
from .hashing import SHA256_HEX
from .neuron_config import GRAPH_STAGES, NOISE_MODES, NeuronConfig, check_T
from .spec import DataSpec

# One number for the record and for the three files that embed it: they change together. Version 1 is the
# loose dicts of the first release (checkpoint JSON, ONNX metadata, engine sidecar), read by `Container.v1`.
VERSION = 2
PRECISIONS = ("fp32", "fp16", "int8")
# the largest batch of a dynamic-batch artifact unless asked otherwise: engine profiles, ONNX Runtime's
# TensorRT provider, Triton's max_batch_size
DEFAULT_MAX_BATCH = 64
STAGES = (1, 2, 3)  # a PyTorch runner also runs stage 1


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
        """Rebuild from ``to_dict``'s output; unknown or missing keys and wrong types or values are one-line
        errors that name the field (prefixed with ``where``)."""
        prefix = f"{where}: " if where else ""
        try:
            return cls._from_dict(d)
        except SnnDeployError as exc:
            raise SnnDeployError(prefix + _one_line(str(exc))) from None

    @classmethod
    def _from_dict(cls, d: Any) -> ArtifactFacts:
        if not isinstance(d, dict):
            raise SnnDeployError(f"artifact facts must be a mapping, got {type(d).__name__}")
        names = [f.name for f in fields(cls)]
        if unknown := sorted(set(map(str, d)) - {"version", *names}):
            raise SnnDeployError(f"artifact facts have unknown key(s): {_names(unknown)}")
        d = {"max_batch": None, **d}  # added within version 2: files written before it lack the key
        if missing := [k for k in ("version", *names) if k not in d]:
            raise SnnDeployError(f"artifact facts lack key(s): {', '.join(missing)}")
        version = d["version"]
        if type(version) is not int or version != VERSION:
            raise SnnDeployError(f"artifact facts have version {v.show(version)}; this snndeploy reads "
                                 f"version {VERSION}")
        training = d["training"]
        record = {**{k: d[k] for k in names}, "data": DataSpec.from_dict(d["data"]),
                  "neuron": NeuronConfig.from_dict(d["neuron"]),
                  "training": None if training is None else from_mapping(TrainConfig, training, "training")}
        return cls(**record)


def _one_line(message: str) -> str:
    """A message that quotes a file's text, kept on one line (control characters escaped)."""
    return v.CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), message)


def _names(keys: list[str]) -> str:
    """Key names for a message: one line, each cut to 40 characters."""
    return ", ".join(repr(k)[1:-1][:40] if v.CONTROL.search(k) or len(k) > 40 else k for k in keys)


def _shape(value: Any, what: str) -> tuple[int, ...]:
    return v.items(value, what, lambda s, w: v.integer(s, w, 1, v.DIM_MAX))


def _check(f: ArtifactFacts) -> None:
    """Every field's type and range, whether built in code or read from a file (one check for both); lists
    become tuples and numpy integers Python ints."""
    if not isinstance(f.data, DataSpec):
        raise SnnDeployError(f"facts' data must be a DataSpec, got {type(f.data).__name__}")
    if not isinstance(f.neuron, NeuronConfig):
        raise SnnDeployError(f"facts' neuron must be a NeuronConfig, got {type(f.neuron).__name__}")
    if f.training is not None and not isinstance(f.training, TrainConfig):
        raise SnnDeployError(f"facts' training must be a TrainConfig or null, got {type(f.training).__name__}")
    checked: dict[str, Any] = {
        "model": v.text(f.model, "model"),
        "T": v.optional(f.T, check_T),
        "stage": v.optional(f.stage, v.choice, "stage", STAGES),
        "noise": v.optional(f.noise, v.choice, "noise", NOISE_MODES),
        "precision": v.choice(f.precision, "precision", PRECISIONS),
        "batch": f.batch if isinstance(f.batch, str) and f.batch == "dynamic" else _batch(f.batch),
        "max_batch": v.optional(f.max_batch, v.integer, "max_batch", 1, v.DIM_MAX),
        "opset": v.optional(f.opset, v.integer, "opset", 1, v.DIM_MAX),
        "inline": v.optional(f.inline, v.flag, "inline"),
        "seed": v.optional(f.seed, v.integer, "seed", v.SEED_MIN, v.SEED_MAX),
        "weights_sha256": v.optional(f.weights_sha256, _sha256, "weights_sha256"),
    }
    shapes = v.mapping(f.noise_inputs, "noise_inputs")
    for name in shapes:
        v.text(name, "noise_inputs name")
    checked["noise_inputs"] = {k: _shape(s, f"noise_inputs[{v.show(k)}]") for k, s in shapes.items()}
    T, stage, noise = checked["T"], checked["stage"], checked["noise"]
    if (T is None) != (stage is None) or (T is None) != (noise is None):
        raise SnnDeployError(f"T, stage and noise mode are set together or not at all (a checkpoint), "
                             f"got T={T!r}, stage={stage!r}, noise={noise!r}")
    if checked["noise_inputs"] and noise != "input":
        raise SnnDeployError(f"only a --noise input graph has noise inputs, this one is noise={noise!r}")
    for key, value in checked.items():
        object.__setattr__(f, key, value)


def _batch(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= v.DIM_MAX:
        v.fail("batch", "'dynamic' or an integer >= 1", value)
    return int(value)


def _sha256(value: Any, what: str) -> str:
    if not isinstance(value, str) or not SHA256_HEX.fullmatch(value):
        v.fail(what, "64 lowercase hex digits or null", value)
    return value


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
    if type(version) is int and version == 1:
        if container.v1 is None:
            raise SnnDeployError(f"{where} was written by an older snndeploy (format version 1); {container.redo}")
        return container.v1(obj, where)
    if type(version) is not int or version != VERSION:
        newer = type(version) is int and version > VERSION
        hint = "upgrade snndeploy to read it" if newer else container.redo
        raise SnnDeployError(f"{where}: unsupported {container.format} version {v.show(version)} (this snndeploy "
                             f"reads {VERSION}); {hint}")
    extra = {k: value for k, value in obj.items() if k not in ("format", "version", "facts")}
    if unknown := sorted(set(map(str, extra)) - container.own_keys):
        raise SnnDeployError(f"{where} has unknown key(s): {_names(unknown)}")
    if missing := [k for k in ("facts", *container.required) if k not in obj]:
        raise SnnDeployError(f"{where} lacks '{missing[0]}'")
    facts = ArtifactFacts.from_dict(obj["facts"], where)
    if facts.is_checkpoint != container.checkpoint:
        kind = "a checkpoint's" if facts.is_checkpoint else "a graph's"
        raise SnnDeployError(f"{where} holds {kind} facts, which do not fit {container.what}")
    if not container.checkpoint and facts.stage not in GRAPH_STAGES:
        raise SnnDeployError(f"{where}: stage must be one of {', '.join(map(str, GRAPH_STAGES))} for "
                             f"{container.what}, got {facts.stage}")
    return facts, extra
