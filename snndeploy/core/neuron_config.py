"""LIF and noise parameters of a spiking layer, validated like user input."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

from . import validate as v
from .draws import RAW
from .errors import SnnDeployError

NOISE_TYPES = tuple(RAW)  # gaussian, uniform: the kinds snndeploy.core.draws draws
# How a graph (or engine) gets its noise: drawn by its own random ops, fed as raw draws, or frozen in it
NOISE_MODES = ("graph", "input", "frozen")
GRAPH_STAGES = (2, 3)  # what graphs and engines are unrolled for (a PyTorch runner also runs stage 1)

# How the spiking layers run (snndeploy/neuron/step.py implements each mode), one table per question:
# a training method while it trains; the network it trained, when judged (noise: stage 3 at T = N); a stage.
TRAIN_MODE = {"noise": "stage1", "bptt": "lif", "ann": "ann"}
EVAL_MODE = {"noise": "stage3", "bptt": "lif", "ann": "ann"}
STAGE_MODE = {1: "stage1", 2: "stage2", 3: "stage3"}


def check_T(T: Any, what: str = "T") -> int:
    """A number of time steps: an integer from 1 to DIM_MAX (TensorRT and Triton keep it in 32 bits)."""
    return v.integer(T, what, 1, v.DIM_MAX)


def check_stage(stage: Any, what: str = "stage") -> int:
    """A stage a network is evaluated or unrolled at: 2 or 3."""
    if isinstance(stage, bool) or stage not in GRAPH_STAGES:
        raise SnnDeployError(f"{what} must be 2 or 3, got {v.show(stage)}")
    return int(stage)


def check_noise(kind: Any) -> str:
    """A neuron's noise kind: gaussian or uniform."""
    if not isinstance(kind, str) or kind not in NOISE_TYPES:
        raise SnnDeployError(f"unknown noise type {v.show(kind)}; choose one of: {', '.join(NOISE_TYPES)}")
    return kind


def check_noise_mode(mode: Any, what: str = "--noise") -> str:
    """How a graph gets its noise: graph, input or frozen."""
    if not isinstance(mode, str) or mode not in NOISE_MODES:
        raise SnnDeployError(f"{what} must be one of: {', '.join(NOISE_MODES)}; got {v.show(mode)}")
    return mode


@dataclass(frozen=True)
class NeuronConfig:
    """LIF and noise parameters (docs/design.md); alpha/beta only matter for stage 3.

    Every field is checked on construction: finite numbers (alpha may be +inf, beta and v_reset None),
    lam in [0, 1], v_th, surrogate_a and eps > 0, noise_hi > noise_lo, alpha >= 2/(hi-lo).
    """

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
        check_noise(self.noise)
        checked = {
            "lam": v.number(self.lam, "neuron.lam"),
            "v_th": v.number(self.v_th, "neuron.v_th", above=0.0),
            "v_reset": v.optional(self.v_reset, v.number, "neuron.v_reset"),
            "surrogate_a": v.number(self.surrogate_a, "neuron.surrogate_a", above=0.0),
            "noise_lo": v.number(self.noise_lo, "neuron.noise_lo"),
            "noise_hi": v.number(self.noise_hi, "neuron.noise_hi"),
            "alpha": v.number(self.alpha, "neuron.alpha", inf=True),
            "beta": v.optional(self.beta, v.number, "neuron.beta"),
            "eps": v.number(self.eps, "neuron.eps", above=0.0),
        }
        if not 0.0 <= checked["lam"] <= 1.0:
            raise SnnDeployError(f"lam (decay) must be in [0, 1], got {self.lam}")
        if not checked["noise_hi"] > checked["noise_lo"]:
            raise SnnDeployError(f"noise range must have hi > lo, got [{self.noise_lo}, {self.noise_hi}]")
        check_alpha(checked["alpha"], checked["noise_lo"], checked["noise_hi"])
        for key, value in checked.items():  # numpy scalars -> Python floats
            object.__setattr__(self, key, value)

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
    def from_dict(cls, d: Any) -> NeuronConfig:
        """Build from a dict, rejecting unknown keys and bad values; alpha may be the string 'inf'.
        Missing keys take their defaults (the first release wrote fewer of them)."""
        if not isinstance(d, dict):
            raise SnnDeployError(f"neuron options must be a mapping, got {type(d).__name__}")
        known = {f.name for f in fields(cls)}
        if unknown := sorted(set(map(str, d)) - known):
            named = ", ".join(v.show(k, 40) if len(k) > 40 else k for k in unknown[:5])
            raise SnnDeployError(f"unknown neuron option(s): {named}" + (", ..." if len(unknown) > 5 else ""))
        d = dict(d)
        if isinstance(d.get("alpha"), str):  # to_dict writes alpha = inf as 'inf'; no other string is a number here
            if d["alpha"].lower() not in ("inf", "infinity"):
                v.fail("neuron.alpha", "a number or 'inf'", d["alpha"])
            d["alpha"] = math.inf
        return cls(**d)


def parse_alpha(value: float | str) -> float:
    """Accept a number or 'inf' (not NaN)."""
    try:
        alpha = float(value)
    except (TypeError, ValueError, OverflowError):
        raise SnnDeployError(f"alpha must be a number or 'inf', got {v.show(value)}") from None
    if math.isnan(alpha):
        raise SnnDeployError(f"alpha must be a number or 'inf', got {v.show(value)}")
    return alpha


def residual_radius(alpha: float, lo: float, hi: float) -> float:
    """r = (hi - lo)/2 - 1/alpha: the half-range left for the residual noise."""
    return (hi - lo) / 2 - (0.0 if math.isinf(alpha) else 1.0 / alpha)


def check_alpha(alpha: float, lo: float = 0.0, hi: float = 1.0) -> None:
    """Reject alpha < 2/(hi-lo), which would make the residual noise range negative."""
    bound = 2.0 / (hi - lo)
    if math.isnan(alpha) or alpha < bound - 1e-12:
        raise SnnDeployError(f"alpha must be >= 2/(hi-lo) = {bound:g} for noise range [{lo:g}, {hi:g}], got {alpha}")
