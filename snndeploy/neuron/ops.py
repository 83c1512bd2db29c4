"""Every neuron op once: its PyTorch form and its ONNX emission side by side (docs/design.md).

Each op is a class with ``torch(cfg, ...)`` on tensors ``[B, ...]`` (one time step; statistics per sample
over every axis but the first) and ``onnx(b, cfg, ...)`` emitting the same maths with standard ONNX ops
through a ``Builder``. Ops with a ``function`` name are exported as local functions of the ``snndeploy``
domain (the graph's custom ops); the others are emitted inline. ``snndeploy.neuron.crosscheck`` runs
both forms on the same inputs; the tests do so for every op.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import onnx
import torch
from onnx import TensorProto, helper

from ..core.neuron_config import NeuronConfig
from .onnx_builder import DOMAIN, Builder


def draw(like: torch.Tensor, kind: str = "gaussian", out: torch.Tensor | None = None) -> torch.Tensor:
    """Raw random numbers shaped like ``like``: N(0,1) for gaussian, U[0,1) for uniform.

    ``out``, when given, is a contiguous buffer of that shape to fill: reusing one saves page faults,
    which on the CPU cost about as much as the generator itself.
    """
    if out is None:
        out = torch.empty_like(like, memory_format=torch.contiguous_format)
    return out.normal_() if kind == "gaussian" else out.uniform_()


def _per_sample_absmax(z: torch.Tensor) -> torch.Tensor:
    """max|z| per sample over all other axes, shaped to broadcast against z."""
    return z.abs().flatten(1).amax(dim=1).view(-1, *([1] * (z.dim() - 1)))


def _per_sample(b: Builder, x: str, fn: Any) -> str:
    """Apply ``fn`` to x flattened to [B, N] and reshape the result back to x's shape (keeps graphs <= 4-D)."""
    flat = b.op("Flatten", [x], "flat", axis=1)
    return b.op("Reshape", [fn(flat), b.op("Shape", [x], "shape")], "out")


def _absmax_scale(b: Builder, zf: str, factor: float) -> str:
    """zf / max|zf| * factor, per sample."""
    m = b.reduce("ReduceMax", b.op("Abs", [zf], "abs"), [1], hint="absmax")
    return b.op("Mul", [b.op("Div", [zf, m], "unit"), b.const(factor, "factor")], "scaled")


def _random_like(b: Builder, like: str, kind: str, lo: float, hi: float) -> str:
    """Draws made by the graph itself: N(0,1), or U(lo, hi) directly."""
    if kind == "gaussian":
        return b.op("RandomNormalLike", [like], "z", dtype=b.onnx_dtype, mean=0.0, scale=1.0)
    return b.op("RandomUniformLike", [like], "u", dtype=b.onnx_dtype, low=float(lo), high=float(hi))


class NeuronOp:
    """Base of the ops: ``function`` names the local function an op is exported as (None: inline)."""

    function: ClassVar[str | None] = None

    @classmethod
    def to_function(cls, cfg: NeuronConfig, opset: int, dtype: str, **options: Any) -> onnx.FunctionProto:
        """The op as a local function with one input ``x`` and one output ``y``."""
        if cls.function is None:
            raise TypeError(f"{cls.__name__} is emitted inline, not as a function")
        b = Builder(opset, dtype, named_nodes=False)
        out = cls.onnx(b, cfg, "x", **options)  # type: ignore[attr-defined]
        b.nodes.append(helper.make_node("Identity", [out], ["y"]))
        return helper.make_function(DOMAIN, cls.function, ["x"], ["y"], b.nodes, [helper.make_opsetid("", opset)])


class Noise(NeuronOp):
    """N_noise of stages 1 and 2: Gaussian draws scaled per sample to span [lo, hi] exactly, or uniform."""

    function = "Noise"

    @staticmethod
    def torch(cfg: NeuronConfig, z: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        """Noise from raw draws z (see ``draw``), added to ``base`` in the same pass when given."""
        lo, hi = cfg.noise_lo, cfg.noise_hi
        if cfg.noise == "gaussian":
            scale = (hi - lo) / (2 * _per_sample_absmax(z))
            if base is None:
                base = torch.zeros((), dtype=z.dtype, device=z.device)
            return torch.addcmul(base, z, scale).add_((hi + lo) / 2)
        n = z * (hi - lo) + lo
        return n if base is None else n + base

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, x: str, from_draws: bool = True) -> str:
        """Noise from raw draws x (``from_draws``), or drawn by the graph in x's shape."""
        lo, hi = cfg.noise_lo, cfg.noise_hi
        if cfg.noise == "uniform":
            if not from_draws:
                return _random_like(b, x, "uniform", lo, hi)
            return b.op("Add", [b.op("Mul", [x, b.const(hi - lo, "span")]), b.const(lo, "lo")], "noise")
        z = x if from_draws else _random_like(b, x, "gaussian", lo, hi)
        mid = (hi + lo) / 2
        return _per_sample(b, z, lambda zf: b.op("Add", [_absmax_scale(b, zf, (hi - lo) / 2), b.const(mid, "mid")]))


class ResidualNoise(NeuronOp):
    """Zero-mean residual noise N' of stage 3, spanning [-r, r] with r = (hi - lo)/2 - 1/alpha."""

    function = "ResidualNoise"

    @staticmethod
    def torch(cfg: NeuronConfig, z: torch.Tensor) -> torch.Tensor:
        r = cfg.residual
        if cfg.noise == "gaussian":
            return z / _per_sample_absmax(z) * r
        return (z * 2 - 1) * r

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, x: str, from_draws: bool = True) -> str:
        r = cfg.residual
        if cfg.noise == "uniform":
            if not from_draws:
                return _random_like(b, x, "uniform", -r, r)
            return b.op("Mul", [b.op("Sub", [b.op("Mul", [x, b.const(2.0, "two")]), b.const(1.0, "one")]),
                                b.const(r, "r")])
        z = x if from_draws else _random_like(b, x, "gaussian", -r, r)
        return _per_sample(b, z, lambda zf: _absmax_scale(b, zf, r))


class PotentialNorm(NeuronOp):
    """N(lam V) of eqs. 9-10: decay, standardise per sample, squash into beta +- 1/alpha (finite alpha)."""

    function = "PotentialNorm"

    @staticmethod
    def torch(cfg: NeuronConfig, v: torch.Tensor) -> torch.Tensor:
        a = cfg.lam * v
        flat = a.flatten(1)
        shape = (-1, *([1] * (a.dim() - 1)))
        mu = flat.mean(dim=1).view(shape)
        sigma = flat.std(dim=1, unbiased=False).view(shape)
        a_hat = (a - mu) / (sigma + cfg.eps)
        return a_hat / (cfg.alpha * _per_sample_absmax(a_hat) + cfg.eps) + cfg.beta_value

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, v: str, fp32_reductions: bool = True) -> str:
        """``fp32_reductions``: in an fp16 graph, take the statistics in fp32 (fp16 sums over a layer overflow)."""
        out_type = b.onnx_dtype
        if fp32_reductions and out_type != TensorProto.FLOAT:
            v = b.op("Cast", [v], "v32", to=TensorProto.FLOAT)
            b = b.view("fp32")

        def norm(af: str) -> str:
            mu = b.reduce("ReduceMean", af, [1], hint="mu")
            d = b.op("Sub", [af, mu], "centred")
            sigma = b.op("Sqrt", [b.reduce("ReduceMean", b.op("Mul", [d, d], "sq"), [1], hint="var")], "sigma")
            a_hat = b.op("Div", [d, b.op("Add", [sigma, b.const(cfg.eps, "eps")])], "a_hat")
            m = b.reduce("ReduceMax", b.op("Abs", [a_hat], "abs"), [1], hint="absmax")
            denom = b.op("Add", [b.op("Mul", [m, b.const(cfg.alpha, "alpha")]), b.const(cfg.eps, "eps")], "denom")
            return b.op("Add", [b.op("Div", [a_hat, denom]), b.const(cfg.beta_value, "beta")], "normed")

        out = _per_sample(b, b.op("Mul", [v, b.const(cfg.lam, "lam")], "decayed"), norm)
        if out_type != b.onnx_dtype:
            out = b.op("Cast", [out], "out_cast", to=out_type)
        return out


class Charge(NeuronOp):
    """Plain charge H = lam V(t-1) + I (eq. 1); lam = 1 makes an integrate-and-fire neuron."""

    @staticmethod
    def torch(cfg: NeuronConfig, v: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return i + v if cfg.lam == 1 else torch.add(i, v, alpha=cfg.lam)

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, v: str, i: str) -> str:
        decayed = v if cfg.lam == 1 else b.op("Mul", [v, b.const(cfg.lam, "lam")], "decayed")
        return b.op("Add", [decayed, i], "h")


def surrogate_scale(h: torch.Tensor, v_th: float, a: float) -> torch.Tensor:
    """1 / (dS/dH) of eq. 4, in two passes: (2/a) (1 + (pi/2 a)^2 (H - v_th)^2)."""
    d = torch.sub(h, v_th)
    base = torch.tensor(2 / a, dtype=h.dtype, device=h.device)
    return torch.addcmul(base, d, d, value=(math.pi / 2 * a) ** 2 * 2 / a)


def surrogate_grad(h: torch.Tensor, v_th: float = 1.0, a: float = 3.0) -> torch.Tensor:
    """dS/dH of eq. 4: a / (2 (1 + (pi/2 a (H - v_th))^2))."""
    return surrogate_scale(h, v_th, a).reciprocal_()


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


class Fire(NeuronOp):
    """Spikes S = (H > v_th), differentiable through the arctan surrogate (eq. 4) when grad is on."""

    @staticmethod
    def torch(cfg: NeuronConfig, h: torch.Tensor) -> torch.Tensor:
        if h.requires_grad:
            return _SpikeFn.apply(h, cfg.v_th, cfg.surrogate_a)
        return (h > cfg.v_th).to(h.dtype)

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, h: str) -> tuple[str, str]:
        """(spikes in the graph's float type, the boolean mask a hard reset selects with)."""
        fired = b.op("Greater", [h, b.const(cfg.v_th, "v_th")], "fired")
        return b.op("Cast", [fired], "spikes", to=b.onnx_dtype), fired


class Reset(NeuronOp):
    """After a spike: hard reset to v_reset (eq. 3), or soft reset by subtracting v_th when v_reset is None."""

    @staticmethod
    def torch(cfg: NeuronConfig, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if cfg.v_reset is None:
            return h - s * cfg.v_th
        return h * (1 - s) + cfg.v_reset * s

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, h: str, s: str, fired: str | None = None) -> str:
        if cfg.v_reset is None:
            return b.op("Sub", [h, b.op("Mul", [s, b.const(cfg.v_th, "v_th")], "spent")], "v")
        if fired is None:
            fired = b.op("Cast", [s], "fired", to=TensorProto.BOOL)
        return b.op("Where", [fired, b.const(cfg.v_reset, "v_reset"), h], "v")


OPS: tuple[type[NeuronOp], ...] = (Noise, ResidualNoise, PotentialNorm, Charge, Fire, Reset)
FUNCTIONS: dict[str, type[NeuronOp]] = {op.function: op for op in OPS if op.function is not None}
