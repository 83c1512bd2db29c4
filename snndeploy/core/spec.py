"""What a model needs to know about its input data: image shape, classes, normalisation."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from .errors import SnnDeployError


@dataclass(frozen=True)
class DataSpec:
    """What a model needs to know about its input data."""

    name: str
    channels: int
    height: int
    width: int
    class_names: tuple[str, ...]
    mean: tuple[float, ...]  # per channel, in [0,1] pixel units
    std: tuple[float, ...]

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
    def from_dict(cls, d: dict) -> DataSpec:
        """Rebuild a spec from to_dict's output, rejecting unknown or missing keys."""
        if not isinstance(d, dict):
            raise SnnDeployError(f"data spec must be a mapping, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        if unknown := sorted(set(d) - names):
            raise SnnDeployError(f"data spec has unknown keys: {', '.join(map(str, unknown))}")
        if missing := sorted(names - set(d)):
            raise SnnDeployError(f"data spec is missing keys: {', '.join(missing)}")
        try:
            spec = cls(
                str(d["name"]),
                int(d["channels"]),
                int(d["height"]),
                int(d["width"]),
                tuple(map(str, d["class_names"])),
                tuple(map(float, d["mean"])),
                tuple(map(float, d["std"])),
            )
        except (TypeError, ValueError) as e:
            raise SnnDeployError(f"data spec has a badly typed value: {e}") from None
        ok = min(spec.input_shape) > 0 and spec.class_names and len(spec.mean) == len(spec.std) == spec.channels
        if not ok or min(spec.std) <= 0:
            raise SnnDeployError(f"data spec is inconsistent: {spec.to_dict()}")
        return spec
