"""Neuron maths as small pure functions: noise, potential normalisation, surrogate, LIF steps.

Training, PyTorch inference and the ONNX export all call these functions, so they cannot drift.
Every tensor here is ``[B, ...]`` (one time step); statistics are taken per sample over all the
layer's neurons (every axis but the first).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from .errors import SnnDeployError

NOISE_TYPES = ("gaussian", "uniform")


@dataclass(frozen=True)
class NeuronConfig:
    """LIF and noise parameters (DESIGN.md §1); alpha/beta only matter for stage 3."""

    lam: float = 0.5
    v_th: float = 1.0
    v_reset: float = 0.0
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


def _per_sample_absmax(z: torch.Tensor) -> torch.Tensor:
    """max|z| per sample over all other axes, shaped to broadcast against z."""
    return z.abs().flatten(1).amax(dim=1).view(-1, *([1] * (z.dim() - 1)))


def scale_gaussian(z: torch.Tensor, lo: float, hi: float, base: torch.Tensor | None = None) -> torch.Tensor:
    """Map standard-normal z to a Gaussian shape spanning exactly [lo, hi] per sample (plus ``base``)."""
    scale = (hi - lo) / (2 * _per_sample_absmax(z))
    if base is None:
        base = torch.zeros((), dtype=z.dtype, device=z.device)
    return torch.addcmul(base, z, scale).add_((hi + lo) / 2)


def draw(like: torch.Tensor, kind: str = "gaussian", out: torch.Tensor | None = None) -> torch.Tensor:
    """Raw random numbers shaped like ``like``: N(0,1) for gaussian, U[0,1) for uniform.

    ``out``, when given, is a contiguous buffer of that shape to fill: reusing one saves page
    faults, which on the CPU cost about as much as the generator itself.
    """
    if out is None:
        out = torch.empty_like(like, memory_format=torch.contiguous_format)
    return out.normal_() if kind == "gaussian" else out.uniform_()


def noise(z: torch.Tensor, kind: str = "gaussian", lo: float = 0.0, hi: float = 1.0,
          base: torch.Tensor | None = None) -> torch.Tensor:
    """N_noise (stages 1 and 2) from raw draws z (see ``draw``), added to ``base`` in the same pass."""
    if kind == "gaussian":
        return scale_gaussian(z, lo, hi, base)
    n = z * (hi - lo) + lo
    return n if base is None else n + base


def residual_noise(z: torch.Tensor, r: float, kind: str = "gaussian") -> torch.Tensor:
    """Zero-mean residual noise N' spanning [-r, r] (stage 3) from raw draws z."""
    if kind == "gaussian":
        return z / _per_sample_absmax(z) * r
    return (z * 2 - 1) * r


def potential_norm(a: torch.Tensor, alpha: float, beta: float, eps: float = 1e-6) -> torch.Tensor:
    """N(lam V) of eqs. 9-10: standardise per sample, squash into beta +- 1/alpha."""
    if math.isinf(alpha):
        return torch.full_like(a, beta)
    flat = a.flatten(1)
    shape = (-1, *([1] * (a.dim() - 1)))
    mu = flat.mean(dim=1).view(shape)
    sigma = flat.std(dim=1, unbiased=False).view(shape)
    a_hat = (a - mu) / (sigma + eps)
    return a_hat / (alpha * _per_sample_absmax(a_hat) + eps) + beta


def surrogate_grad(h: torch.Tensor, v_th: float = 1.0, a: float = 3.0) -> torch.Tensor:
    """dS/dH of eq. 4: a / (2 (1 + (pi/2 a (H - v_th))^2))."""
    return surrogate_scale(h, v_th, a).reciprocal_()


def surrogate_scale(h: torch.Tensor, v_th: float, a: float) -> torch.Tensor:
    """1 / surrogate_grad, in two passes: (2/a) (1 + (pi/2 a)^2 (H - v_th)^2)."""
    d = torch.sub(h, v_th)
    base = torch.tensor(2 / a, dtype=h.dtype, device=h.device)
    return torch.addcmul(base, d, d, value=(math.pi / 2 * a) ** 2 * 2 / a)


class _SpikeFn(torch.autograd.Function):
    """Heaviside forward (strict >), arctan surrogate backward."""

    @staticmethod
    def forward(ctx, h: torch.Tensor, v_th: float, a: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(h)
        ctx.v_th, ctx.a = v_th, a
        return (h > v_th).to(h.dtype)

    @staticmethod
    def backward(ctx, grad_out: torch.Tensor):  # type: ignore[override]
        (h,) = ctx.saved_tensors
        u = surrogate_scale(h, ctx.v_th, ctx.a)
        return torch.div(grad_out, u, out=u), None, None


def fire(h: torch.Tensor, v_th: float = 1.0, a: float = 3.0) -> torch.Tensor:
    """Spike S = (H > v_th), differentiable through the surrogate when grad is on."""
    if h.requires_grad:
        return _SpikeFn.apply(h, v_th, a)
    return (h > v_th).to(h.dtype)


def hard_reset(h: torch.Tensor, s: torch.Tensor, v_reset: float = 0.0) -> torch.Tensor:
    """V = H where no spike, v_reset where a spike fired (eq. 3)."""
    return h * (1 - s) + v_reset * s


def charge(v_prev: torch.Tensor | None, current: torch.Tensor, lam: float) -> torch.Tensor:
    """Plain LIF charge H = lam V(t-1) + I (eq. 1); V(0) = 0."""
    return current if v_prev is None else lam * v_prev + current
