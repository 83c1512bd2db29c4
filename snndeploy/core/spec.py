"""What a model needs to know about its input data: image shape, classes, normalisation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

from . import validate as v
from .errors import SnnDeployError

# Bounds on what a model's input can be: far above any dataset snndeploy trains on (ImageNet: 3 x 224 x 224, 1000
# classes), and low enough that a file asking for more (2**31-pixel sides) is refused before a model is sized by it.
MAX_SIDE = 4096
MAX_CHANNELS = 64
MAX_CLASSES = 100_000


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about its input data.

    Every field is checked on construction, whether built in code or read from a file: positive (C, H, W) of at
    most MAX_CHANNELS x MAX_SIDE x MAX_SIDE, one to MAX_CLASSES unique one-line class names, a finite mean and a
    finite std > 0 for each channel.
    """

    name: str
    channels: int
    height: int
    width: int
    class_names: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, in [0,1] pixel units
    std: tuple[float, ...]

    def __post_init__(self) -> None:
        checked: dict[str, Any] = {"name": v.text(self.name, "data.name")}
        for dim, most in (("channels", MAX_CHANNELS), ("height", MAX_SIDE), ("width", MAX_SIDE)):
            checked[dim] = v.integer(getattr(self, dim), f"data.{dim}", 1, most)
        names = v.items(self.class_names, "data.class_names", v.text)
        if not names:
            raise SnnDeployError("data.class_names must name at least one class, got []")
        if len(names) > MAX_CLASSES:
            raise SnnDeployError(f"data.class_names must name at most {MAX_CLASSES} classes, got {len(names)}")
        if len(set(names)) != len(names):
            twice = next(n for i, n in enumerate(names) if n in names[:i])
            raise SnnDeployError(f"data.class_names must be unique, got {v.show(twice)} twice")
        checked["class_names"] = names
        checked["mean"] = v.items(self.mean, "data.mean", v.number)
        checked["std"] = v.items(self.std, "data.std", lambda x, what: v.number(x, what, above=0.0))
        for key in ("mean", "std"):
            if len(checked[key]) != checked["channels"]:
                raise SnnDeployError(f"data spec is inconsistent: {len(checked[key])} {key} value(s) for "
                                     f"{checked['channels']} channel(s)")
        for key, value in checked.items():  # lists -> tuples, numpy scalars -> Python numbers
            object.__setattr__(self, key, value)

    @property
    def num_classes(self) -> int:
        """Number of classes."""
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Shape (C, H, W) of one image."""
        return (self.channels, self.height, self.width)

    def to_dict(self) -> dict:
        """JSON-friendly dict of the spec."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: Any) -> DataSpec:
        """Rebuild a spec from to_dict's output, rejecting unknown or missing keys and bad values."""
        if not isinstance(d, dict):
            raise SnnDeployError(f"data spec must be a mapping, got {type(d).__name__}")
        names = [f.name for f in fields(cls)]
        if unknown := sorted(set(map(str, d)) - set(names)):
            raise SnnDeployError(f"data spec has unknown keys: {', '.join(unknown)}")
        if missing := [n for n in names if n not in d]:
            raise SnnDeployError(f"data spec is missing keys: {', '.join(missing)}")
        return cls(**{n: d[n] for n in names})
