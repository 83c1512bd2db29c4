"""Frozen dataclass configs that hold defaults and types together and reject unknown keys."""

from __future__ import annotations

import dataclasses
import difflib
import math
import re
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar

import yaml

from . import files
from . import validate as v
from .device import check_device_name
from .errors import SnnDeployError, short
from .neuron_config import TRAIN_MODE, NeuronConfig, check_noise, check_T
from .validate import flag_name, option_name

C = TypeVar("C")

METHODS = tuple(TRAIN_MODE)  # noise, bptt, ann
LOSSES = ("mse", "ce")
# bank: pre-drawn unit draws read at random offsets (snndeploy/neuron/bank.py); fresh: new draws every call
NOISE_DRAWS = ("bank", "fresh")
# Adam moves every weight by about lr per step, and weights are of order 1: past this a run can only diverge
# (--lr 1e38 overflowed in the first step)
LR_MAX = 10.0


# a plain decimal number (what a YAML float field may hold as a string): no NaN, no hex, no underscores
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _coerce(name: str, value: Any, hint: Any) -> Any:
    """Check (and gently convert int -> float) one value against its type hint."""
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    if value is None:
        if type(None) in options:
            return None
        raise SnnDeployError(f"option '{name}' must not be empty")
    for opt in options:
        if typing.get_origin(opt) is tuple and isinstance(value, (list, tuple)):
            item = typing.get_args(opt)[0]
            return tuple(_coerce(f"{name}[{i}]", v, item) for i, v in enumerate(value))
        if opt is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if opt is float and isinstance(value, str) and value.lower() in ("inf", "infinity"):
            return math.inf
        if opt is float and isinstance(value, str) and _DECIMAL.fullmatch(value.strip()):
            # YAML 1.1 (PyYAML) reads 1e-3 as a string: it needs a dot (1.0e-3) to be a float
            return float(value)
        if opt in (int, str, bool) and type(value) is opt:
            return value
    wanted = " or ".join(getattr(o, "__name__", str(o)) for o in options if o is not type(None))
    raise SnnDeployError(f"option '{name}' must be {wanted}, got {short(value)}")


def from_mapping(cls: type[C], data: dict[str, Any], what: str = "config", where: str = "",
                 over: dict[str, Any] | None = None) -> C:
    """Build a frozen dataclass from a mapping; unknown keys and wrong types are errors.

    ``where`` names the config file ``data`` was read from: an error about one of its values names the file and
    the key ('run.yaml: epochs must be >= 1, got 0'), not the flag. ``over``: the flags given, which win over the
    file's values; an error about one of them names the flag."""
    prefix = f"{where}: " if where else ""
    if not isinstance(data, dict):
        raise SnnDeployError(f"{prefix}{what} options must be a mapping of option: value")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known, key=str)  # key=str: a YAML file may hold number keys beside names
    if unknown:
        named = ", ".join(_with_hint(k, known) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise SnnDeployError(f"{prefix}unknown {what} option(s): {named}; known: {', '.join(sorted(known))}")
    over = over or {}
    from_file = [k for k in data if k not in over] if where else []  # the keys whose values the file gives
    values = {}
    for key, value in {**data, **over}.items():
        at = prefix if key in from_file else ""
        try:
            values[key] = _coerce(key, value, hints[key])
        except SnnDeployError as exc:
            raise SnnDeployError(f"{at}{exc}") from None
        if at and values[key] == "":
            # a file the user wrote: "" would read as "not given" or, as a path, the current folder (records are
            # read as written: they name no file)
            raise SnnDeployError(f"{at}{option_name(key)} is empty: give a value, or leave the key out for the "
                                 "default")
        # what a flag's value gets (one path for both); ranges: cls's own checks
        v.option_value(values[key], f"{at}{key}" if at else flag_name(key), key, finite=False)
    try:
        return cls(**values)  # type: ignore[call-arg]
    except SnnDeployError as exc:
        if not from_file:
            raise
        raise SnnDeployError(_in_file(str(exc), cls, values, from_file, where)) from None


def _flag_pattern(flag: str) -> str:
    """A flag as a whole word of a message ('--noise' but not the start of '--noise-range')."""
    return rf"(?<![\w-]){re.escape(flag)}(?![\w-])"


def _in_file(message: str, cls: type, values: dict[str, Any], from_file: list[str], where: str) -> str:
    """A dataclass check's message re-worded for values read from the config file ``where``: the flags of its keys
    become the keys ('--batch-size (batch_size)' -> 'batch_size'), with the file in front. A message that names no
    option gets the key whose value alone fails ('run.yaml: device: PyTorch runs on ...'); one that names only
    flags the user gave is theirs, unchanged."""
    named = False
    for flag in dict.fromkeys(flag_name(k) for k in from_file):  # the noise range's two keys share a flag
        keys = [k for k in from_file if flag_name(k) == flag]
        for key in keys:  # '--noise-range (noise_hi)': that key
            message, n = re.subn(re.escape(f"{flag} ({key})"), key, message)
            named = named or n > 0
        message, n = re.subn(_flag_pattern(flag), "/".join(keys), message)
        named = named or n > 0
    if named:
        return f"{where}: {message}"
    if any(re.search(_flag_pattern(flag_name(k)), message) for k in values):  # a flag the user gave
        return message
    alone = [k for k in from_file if _fails_alone(cls, k, values[k], message)]
    return f"{where}: {alone[0]}: {message}" if alone else f"{where}: {message}"


def _fails_alone(cls: type, key: str, value: Any, message: str) -> bool:
    """Whether ``key`` = ``value`` with every other option at its default fails with ``message``."""
    try:
        cls(**{key: value})
    except SnnDeployError as exc:
        return str(exc) == message
    return False


def _with_hint(key: Any, known: set[str]) -> str:
    """An unknown key (cut short), with the known one it is likely a typo of: 'epoch (did you mean epochs?)'."""
    text = str(key) if isinstance(key, str | int) and len(str(key)) <= 40 else short(key, 40)
    close = difflib.get_close_matches(text, sorted(known), n=1)
    return f"{text} (did you mean {close[0]}?)" if close else text


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's multi-line message on one line, with the line and column of the problem: 'line 2, column 2:
    expected ',' or ']', but got ':' (while parsing a flow sequence from line 1)'."""
    problem, mark = getattr(exc, "problem", None), getattr(exc, "problem_mark", None)
    if problem is None or mark is None:  # a YAMLError without a position
        return " ".join(str(exc).split()[:40])
    text = f"line {mark.line + 1}, column {mark.column + 1}: {problem}"
    context, where = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context:
        text += f" ({context}" + (f" from line {where.line + 1})" if where is not None else ")")
    return " ".join(text.split())


class _Unsafe(Exception):
    """A config file that uses anchors/aliases ("aliases") or nests too deep ("depth")."""


class _ConfigLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses anchors and aliases (a few hundred bytes of aliases of aliases expand to
    gigabytes: the billion laughs) and nesting past files.MAX_DEPTH (which would end in a RecursionError), node by
    node as the document is composed, before any value is built. A config needs neither."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Unsafe("aliases")
        if not isinstance(event, yaml.SequenceStartEvent | yaml.MappingStartEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        if self.depth > files.MAX_DEPTH:
            raise _Unsafe("depth")
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping (a bounded regular file, without anchors or aliases, at most files.MAX_DEPTH deep),
    with one-line errors for missing, hostile or malformed files."""
    path = Path(path)
    text = files.read_text(path, "config file", "config")
    loader = _ConfigLoader(text)
    try:
        data = loader.get_single_data()
    except _Unsafe as exc:
        if exc.args[0] == "aliases":
            raise SnnDeployError(f"config file {path} uses YAML anchors/aliases (&name / *name), which snndeploy "
                                 "does not accept") from None
        raise SnnDeployError(f"config file {path} nests more than {files.MAX_DEPTH} levels deep; it is not a "
                             "snndeploy file") from None
    except RecursionError:  # the depth count above comes first; this is in case a PyYAML part recurses deeper
        raise SnnDeployError(f"config file {path} nests too deep; it is not a snndeploy file") from None
    except yaml.YAMLError as exc:
        raise SnnDeployError(f"config file {path} is not valid YAML: {_yaml_problem(exc)}") from None
    except (ValueError, OverflowError) as exc:  # a value PyYAML cannot build: an int of 5000 digits, a 13th month
        raise SnnDeployError(f"config file {path} is not valid YAML: {str(exc).splitlines()[0][:100]}") from None
    finally:
        loader.dispose()
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SnnDeployError(f"config file {path} must hold a mapping of option: value")
    return data


def _count(value: Any, what: str) -> int:
    """A number of images or pixels: an integer from 1 to DIM_MAX."""
    if isinstance(value, int) and not isinstance(value, bool) and value < 1:
        v.fail(what, "a positive integer", value)
    return v.integer(value, what, 1, v.DIM_MAX)


@dataclass(frozen=True)
class TrainConfig:
    """Everything `snndeploy train` needs; defaults follow the paper (docs/design.md)."""

    model: str = "small-cnn"
    dataset: str = "sample"
    data_dir: str | None = None
    method: str = "noise"
    T: int = 1
    epochs: int = 20
    batch_size: int = 64
    lr: float = 1e-4
    t0_epochs: int = 100
    loss: str = "mse"
    noise: str = "gaussian"
    noise_lo: float = 0.0
    noise_hi: float = 1.0
    noise_draws: str = "bank"
    seed: int = 0
    device: str = "cpu"
    limit_train: int | None = None
    limit_test: int | None = None
    image_size: int | None = None
    augment: bool = False
    out: str = "runs/train"

    def __post_init__(self) -> None:
        """Every check of every option, for flags and config files alike (both build a TrainConfig)."""
        for key, options in (("method", METHODS), ("loss", LOSSES), ("noise_draws", NOISE_DRAWS)):
            if getattr(self, key) not in options:
                raise SnnDeployError(f"unknown {key.replace('_', ' ')} {short(getattr(self, key))}; choose one of: "
                                     f"{', '.join(options)}")
        check_T(self.T, option_name("T"))
        if self.method != "bptt" and self.T != 1:
            raise SnnDeployError(f"method '{self.method}' trains at T = 1; --T applies to --method bptt")
        for key in ("epochs", "batch_size", "t0_epochs"):
            v.integer(getattr(self, key), option_name(key), 1, v.DIM_MAX)
        for key in ("limit_train", "limit_test", "image_size"):
            v.optional(getattr(self, key), _count, option_name(key))
        lr = v.number(self.lr, option_name("lr"))
        if not lr > 0:
            raise SnnDeployError(f"{option_name('lr')} must be a positive number, got {self.lr}")
        if lr > LR_MAX:
            raise SnnDeployError(f"{option_name('lr')} must be at most {LR_MAX:g} (Adam moves every weight by about lr "
                                 f"per step), got {lr:g}")
        lo, hi = v.number(self.noise_lo, option_name("noise_lo")), v.number(self.noise_hi, option_name("noise_hi"))
        if not lo < hi:
            raise SnnDeployError(f"{flag_name('noise_lo')} must have lo < hi, got {lo},{hi}")
        v.seed(self.seed, option_name("seed"))
        check_device_name(self.device)
        check_noise(self.noise)

    @property
    def neuron(self) -> NeuronConfig:
        """The neuron parameters this run trains with (its noise kind and range; the rest default)."""
        return NeuronConfig(noise=self.noise, noise_lo=self.noise_lo, noise_hi=self.noise_hi)

    def replace(self, **changes: Any) -> TrainConfig:
        """A copy with some options changed (None values are ignored)."""
        changes = {k: v for k, v in changes.items() if v is not None}
        return from_mapping(TrainConfig, {**dataclasses.asdict(self), **changes}, "train")

    def to_dict(self) -> dict[str, Any]:
        """Plain dict for the checkpoint's JSON."""
        return dataclasses.asdict(self)
