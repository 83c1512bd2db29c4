"""Neuron maths as small pure functions: noise, potential normalisation, surrogate, LIF steps.

Training, PyTorch inference and the ONNX export all call these functions, so they cannot drift.
Every tensor here is ``[B, ...]`` (one time step); statistics are taken per sample over all the
layer's neurons (every axis but the first).
"""

from __future__ import annotations

import math

import torch


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
