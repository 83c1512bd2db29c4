"""LIF and noise parameters of a spiking layer, validated like user input."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from .errors import SnnDeployError

NOISE_TYPES = ("gaussian", "uniform")


@dataclass(frozen=True)
class NeuronConfig:
    """LIF and noise parameters (docs/design.md); alpha/beta only matter for stage 3."""

    lam: float = 0.5
    v_th: float = 1.0
    v_reset: float | None = 0.0  # None: soft reset, V - v_th after a spike (integrate-and-fire)
    surrogate_a: float = 3.0
    noise: str = "gaussian"
    noise_lo: float = 0.0
    noise_hi: float = 1.0
    alpha: float = 4.0
    beta: float | None = None  # None means the middle of the noise range
    eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.noise not in NOISE_TYPES:
            raise SnnDeployError(f"unknown noise type '{self.noise}'; choose one of: {', '.join(NOISE_TYPES)}")
        for name in ("lam", "v_th", "v_reset", "surrogate_a", "noise_lo", "noise_hi", "alpha", "eps"):
            value = getattr(self, name)
            if name == "v_reset" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise SnnDeployError(f"{name} must be a number, got {value!r}")
        if not 0.0 <= self.lam <= 1.0:
            raise SnnDeployError(f"lam (decay) must be in [0, 1], got {self.lam}")
        if not self.noise_hi > self.noise_lo:
            raise SnnDeployError(f"noise range must have hi > lo, got [{self.noise_lo}, {self.noise_hi}]")
        if math.isinf(self.noise_lo) or math.isinf(self.noise_hi):
            raise SnnDeployError("noise range must be finite")
        if self.surrogate_a <= 0 or self.eps <= 0:
            raise SnnDeployError("surrogate_a and eps must be > 0")
        check_alpha(self.alpha, self.noise_lo, self.noise_hi)

    @property
    def beta_value(self) -> float:
        """The mean of the normalised potential (default: middle of the noise range)."""
        return (self.noise_lo + self.noise_hi) / 2 if self.beta is None else float(self.beta)

    @property
    def residual(self) -> float:
        """Half-range r of the residual noise N' in stage 3."""
        return residual_radius(self.alpha, self.noise_lo, self.noise_hi)

    def to_dict(self) -> dict:
        """JSON-safe dict (alpha = inf written as the string 'inf')."""
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        if math.isinf(d["alpha"]):
            d["alpha"] = "inf"
        return d

    @classmethod
    def from_dict(cls, d: dict) -> NeuronConfig:
        """Build from a dict, rejecting unknown keys."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise SnnDeployError(f"unknown neuron option(s): {', '.join(unknown)}")
        d = dict(d)
        if "alpha" in d:
            d["alpha"] = parse_alpha(d["alpha"])
        return cls(**d)


def parse_alpha(value: float | str) -> float:
    """Accept a number or 'inf'."""
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SnnDeployError(f"alpha must be a number or 'inf', got {value!r}") from None


def residual_radius(alpha: float, lo: float, hi: float) -> float:
    """r = (hi - lo)/2 - 1/alpha: the half-range left for the residual noise."""
    return (hi - lo) / 2 - (0.0 if math.isinf(alpha) else 1.0 / alpha)


def check_alpha(alpha: float, lo: float = 0.0, hi: float = 1.0) -> None:
    """Reject alpha < 2/(hi-lo), which would make the residual noise range negative."""
    bound = 2.0 / (hi - lo)
    if math.isnan(alpha) or alpha < bound - 1e-12:
        raise SnnDeployError(f"alpha must be >= 2/(hi-lo) = {bound:g} for noise range [{lo:g}, {hi:g}], got {alpha}")
