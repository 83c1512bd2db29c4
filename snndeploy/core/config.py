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

from . import validate as v
from .device import check_device_name
from .errors import SnnDeployError
from .neuron_config import TRAIN_MODE, NeuronConfig, check_noise, check_T
from .validate import option_name

C = TypeVar("C")

METHODS = tuple(TRAIN_MODE)  # noise, bptt, ann
LOSSES = ("mse", "ce")
# bank: pre-drawn unit draws read at random offsets (snndeploy/neuron/bank.py); fresh: new draws every call
NOISE_DRAWS = ("bank", "fresh")


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
    raise SnnDeployError(f"option '{name}' must be {wanted}, got {value!r}")


def from_mapping(cls: type[C], data: dict[str, Any], what: str = "config", where: str = "") -> C:
    """Build a frozen dataclass from a mapping; unknown keys and wrong types are errors."""
    prefix = f"{where}: " if where else ""
    if not isinstance(data, dict):
        raise SnnDeployError(f"{prefix}{what} options must be a mapping of option: value")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - known, key=str)  # key=str: a YAML file may hold number keys beside names
    if unknown:
        named = ", ".join(_with_hint(str(k), known) for k in unknown)
        raise SnnDeployError(f"{prefix}unknown {what} option(s): {named}; known: {', '.join(sorted(known))}")
    return cls(**{k: _coerce(k, v, hints[k]) for k, v in data.items()})  # type: ignore[call-arg]


def _with_hint(key: str, known: set[str]) -> str:
    """An unknown key, with the known one it is likely a typo of: 'epoch (did you mean epochs?)'."""
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f"{key} (did you mean {close[0]}?)" if close else key


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


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping, with one-line errors for missing or malformed files."""
    path = Path(path)
    if not path.is_file():
        raise SnnDeployError(f"config file not found: {path}")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        why = _yaml_problem(exc) if isinstance(exc, yaml.YAMLError) else str(exc)
        raise SnnDeployError(f"config file {path} is not valid YAML: {why}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SnnDeployError(f"config file {path} must hold a mapping of option: value")
    return data


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
        if self.method not in METHODS:
            raise SnnDeployError(f"unknown method '{self.method}'; choose one of: {', '.join(METHODS)}")
        if self.loss not in LOSSES:
            raise SnnDeployError(f"unknown loss '{self.loss}'; choose one of: {', '.join(LOSSES)}")
        check_T(self.T, option_name("T"))
        if self.noise_draws not in NOISE_DRAWS:
            raise SnnDeployError(f"unknown noise draws '{self.noise_draws}'; choose one of: {', '.join(NOISE_DRAWS)}")
        if self.method != "bptt" and self.T != 1:
            raise SnnDeployError(f"method '{self.method}' trains at T = 1; --T applies to --method bptt")
        for name in ("epochs", "batch_size", "t0_epochs"):
            if getattr(self, name) < 1:
                raise SnnDeployError(f"{option_name(name)} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise SnnDeployError(f"{option_name('lr')} must be a positive number, got {self.lr}")
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
