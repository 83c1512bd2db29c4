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

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper

from ..core.draws import torch_draws
from ..core.neuron_config import NeuronConfig
from .onnx_builder import DOMAIN, Builder


def draw(like: torch.Tensor, kind: str = "gaussian", out: torch.Tensor | None = None) -> torch.Tensor:
    """Raw random numbers shaped like ``like``: N(0,1) for gaussian, U[0,1) for uniform.

    ``out``, when given, is a contiguous buffer of that shape to fill: reusing one saves page faults,
    which on the CPU cost about as much as the generator itself.
    """
    if out is None:
        out = torch.empty_like(like, memory_format=torch.contiguous_format)
    return torch_draws(kind, out)


def unit(cfg: NeuronConfig, z: torch.Tensor) -> torch.Tensor:
    """Unit draws w in [-1, 1] from raw draws: z / max|z| per sample (gaussian) or 2u - 1 (uniform).

    Every noise op is an affine map of unit draws, so a window of a bank of unit draws (``snndeploy.neuron.bank``)
    stands for fresh ones."""
    if cfg.noise == "gaussian":
        return z / _per_sample_absmax(z)
    return z * 2 - 1


def unit_rows(cfg: NeuronConfig, rows: int, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """``rows`` fresh samples of ``n`` unit draws each, [rows, n]: each row spans [-1, 1] as one sample does."""
    z = torch_draws(cfg.noise, torch.empty(rows, n), generator)
    if cfg.noise == "gaussian":
        low, high = torch.aminmax(z, dim=1, keepdim=True)
        return z.div_(torch.maximum(high, -low))  # unit() in place: max|z| from one pass, no |z| copy
    return z.mul_(2).sub_(1)


def _per_sample_absmax(z: torch.Tensor) -> torch.Tensor:
    """max|z| per sample over all other axes, shaped to broadcast against z."""
    return z.abs().flatten(1).amax(dim=1).view(-1, *([1] * (z.dim() - 1)))


def _per_sample(b: Builder, x: str, fn: Any) -> str:
    """Apply ``fn`` to x flattened to [B, N] and reshape the result back to x's shape (keeps graphs <= 4-D)."""
    flat = b.op("Flatten", [x], "flat", axis=1)
    return b.op("Reshape", [fn(flat), b.op("Shape", [x], "shape")], "out")


class NeuronOp:
    """Base of the ops: ``function`` names the local function an op is exported as (None: inline)."""

    function: ClassVar[str | None] = None
    inputs: ClassVar[tuple[str, ...]] = ("x",)  # the local function's inputs
    shaped_like: ClassVar[int] = 0  # the input whose shape the output has

    @classmethod
    def to_function(cls, cfg: NeuronConfig, opset: int, dtype: str, **options: Any) -> onnx.FunctionProto:
        """The op as a local function with inputs ``inputs`` and one output ``y``."""
        if cls.function is None:
            raise TypeError(f"{cls.__name__} is emitted inline, not as a function")
        b = Builder(opset, dtype, named_nodes=False)
        out = cls.onnx(b, cfg, *cls.inputs, **options)  # type: ignore[attr-defined]
        b.nodes.append(helper.make_node("Identity", [out], ["y"]))
        return helper.make_function(DOMAIN, cls.function, list(cls.inputs), ["y"], b.nodes,
                                    [helper.make_opsetid("", opset)])


class Noise(NeuronOp):
    """N_noise of stages 1 and 2: Gaussian draws scaled per sample to span [lo, hi] exactly, or uniform.

    As an affine map of unit draws w (``unit``): N_noise = (hi + lo)/2 + w (hi - lo)/2."""

    function = "Noise"

    @staticmethod
    def from_unit(cfg: NeuronConfig, w: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        """Noise from unit draws w, added to ``base`` in the same pass when given."""
        half, mid = (cfg.noise_hi - cfg.noise_lo) / 2, (cfg.noise_hi + cfg.noise_lo) / 2
        if base is None:
            return w * half + mid
        return torch.add(base, w, alpha=half).add_(mid)

    @staticmethod
    def torch(cfg: NeuronConfig, z: torch.Tensor, base: torch.Tensor | None = None) -> torch.Tensor:
        """Noise from raw draws z (see ``draw``), added to ``base`` when given."""
        return Noise.from_unit(cfg, unit(cfg, z), base)

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, x: str) -> str:
        """Noise from raw draws x (the ``--noise input`` feeds)."""
        half, mid = (cfg.noise_hi - cfg.noise_lo) / 2, (cfg.noise_hi + cfg.noise_lo) / 2
        return _affine(b, _unit_onnx(b, cfg, x), half, mid)


class ResidualNoise(NeuronOp):
    """Zero-mean residual noise N' of stage 3, spanning [-r, r] with r = (hi - lo)/2 - 1/alpha: N' = w r."""

    function = "ResidualNoise"

    @staticmethod
    def from_unit(cfg: NeuronConfig, w: torch.Tensor) -> torch.Tensor:
        return w * cfg.residual

    @staticmethod
    def torch(cfg: NeuronConfig, z: torch.Tensor) -> torch.Tensor:
        return ResidualNoise.from_unit(cfg, unit(cfg, z))

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, x: str) -> str:
        return _affine(b, _unit_onnx(b, cfg, x), cfg.residual, 0.0)


def _unit_onnx(b: Builder, cfg: NeuronConfig, z: str) -> str:
    """``unit`` in ONNX: z / max|z| per sample, or 2u - 1."""
    if cfg.noise == "uniform":
        return b.op("Sub", [b.op("Mul", [z, b.const(2.0, "two")]), b.const(1.0, "one")], "unit")
    return _per_sample(b, z, lambda zf: b.op("Div", [zf, b.reduce("ReduceMax", b.op("Abs", [zf], "abs"), [1],
                                                                      hint="absmax")], "unit"))


def _affine(b: Builder, w: str, scale: float, shift: float) -> str:
    y = b.op("Mul", [w, b.const(scale, "scale")], "scaled")
    return y if shift == 0 else b.op("Add", [y, b.const(shift, "shift")], "noise")


class PotentialNorm(NeuronOp):
    """N(lam V) of eqs. 8-10: decay, centre per sample, squash into beta +- 1/alpha (finite alpha).

    With C = V - mean(V) per sample, eqs. 9-10 give lam C/(sigma+eps) / (alpha max|lam C|/(sigma+eps) + eps)
    + beta: sigma cancels but for where eps enters, so the op computes the cancelled form
    N = lam C / (alpha lam max|C| + eps) + beta (docs/design.md 1.3), as (V - mean(V)) k + beta with one
    factor k per sample; max|C| = max(max V - mean V, mean V - min V). One pass of statistics, one affine pass.
    """

    function = "PotentialNorm"

    @staticmethod
    def scale(cfg: NeuronConfig, mean: torch.Tensor, vmax: torch.Tensor, vmin: torch.Tensor) -> torch.Tensor:
        """k with N = (V - mean) k + beta, from the per-sample mean, max and min of V."""
        m = torch.maximum(vmax - mean, mean - vmin)
        return cfg.lam / (m * (cfg.alpha * cfg.lam) + cfg.eps)

    @staticmethod
    def torch(cfg: NeuronConfig, v: torch.Tensor) -> torch.Tensor:
        flat = v.flatten(1)
        vmin, vmax = torch.aminmax(flat, dim=1)
        mean = flat.mean(dim=1)
        k = PotentialNorm.scale(cfg, mean, vmax, vmin)
        shape = (-1, *([1] * (v.dim() - 1)))
        return torch.sub(v, mean.view(shape)).mul_(k.view(shape)).add_(cfg.beta_value)

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, v: str, fp32_reductions: bool = True) -> str:
        """``fp32_reductions``: in an fp16 graph, take the statistics in fp32 (fp16 sums over a layer overflow)."""
        out_type = b.onnx_dtype
        flat = b.op("Flatten", [v], "flat", axis=1)
        s = b
        stats_in = flat
        if fp32_reductions and out_type != TensorProto.FLOAT:
            stats_in = b.op("Cast", [flat], "v32", to=TensorProto.FLOAT)
            s = b.view("fp32")
        mean = s.reduce("ReduceMean", stats_in, [1], hint="mean")
        vmax = s.reduce("ReduceMax", stats_in, [1], hint="vmax")
        vmin = s.reduce("ReduceMin", stats_in, [1], hint="vmin")
        m = s.op("Max", [s.op("Sub", [vmax, mean], "above"), s.op("Sub", [mean, vmin], "below")], "spread")
        denom = s.op("Add", [s.op("Mul", [m, s.const(cfg.alpha * cfg.lam, "alpha_lam")]), s.const(cfg.eps, "eps")],
                     "denom")
        k = s.op("Div", [s.const(cfg.lam, "lam"), denom], "k")
        if s is not b:
            mean, k = (b.op("Cast", [x], "c16", to=out_type) for x in (mean, k))
        # centred first: V k + (beta - mean k) would cancel where the spread is tiny and k large
        scaled = b.op("Mul", [b.op("Sub", [flat, mean], "centred"), k], "scaled")
        out = b.op("Add", [scaled, b.const(cfg.beta_value, "beta")], "normed")
        return b.op("Reshape", [out, b.op("Shape", [v], "shape")], "out")


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
    def onnx(b: Builder, cfg: NeuronConfig, h: str) -> str:
        """Spikes in the graph's float type (``Greater``, then ``Cast``: ONNX Runtime's ``Sign`` of a
        ``ThresholdedRelu`` measured 6x slower on the CPU)."""
        fired = b.op("Greater", [h, b.const(cfg.v_th, "v_th")], "fired")
        return b.op("Cast", [fired], "spikes", to=b.onnx_dtype)


class Reset(NeuronOp):
    """After a spike: hard reset to v_reset (eq. 3), or soft reset by subtracting v_th when v_reset is None."""

    @staticmethod
    def torch(cfg: NeuronConfig, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if cfg.v_reset is None:
            return h - s * cfg.v_th
        return h * (1 - s) + cfg.v_reset * s

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, h: str, s: str) -> str:
        """Arithmetic rather than ``Where`` on the mask: ONNX Runtime's ``Where`` broadcasting a scalar measured
        several element-wise passes' time."""
        if cfg.v_reset is None:
            return b.op("Sub", [h, b.op("Mul", [s, b.const(cfg.v_th, "v_th")], "spent")], "v")
        v = b.op("Mul", [h, b.op("Sub", [b.const(1.0, "one"), s], "keep")], "v")
        if cfg.v_reset == 0:
            return v
        return b.op("Add", [v, b.op("Mul", [s, b.const(cfg.v_reset, "v_reset")], "reset_to")], "v")


ALIGN = 16  # elements: PyTorch's bank windows start on 64-byte boundaries


class NoiseWindow(NeuronOp):
    """Noise read from a bank (``snndeploy.neuron.bank``): ``like.numel()`` consecutive values of the 1-D ``bank``
    from a uniformly random offset, shaped like ``like``. The bank holds an op's final noise values."""

    function = "NoiseWindow"
    inputs = ("bank", "like")
    shaped_like = 1

    @staticmethod
    def torch(cfg: NeuronConfig, bank: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
        """A view of the bank (no copy); the offset comes from the global RNG, a multiple of 16 elements
        (64 bytes): compiled kernels copy inputs that are not aligned so, which would cost a pass."""
        count = like.numel()
        start = ALIGN * int(torch.randint(0, (bank.numel() - count) // ALIGN + 1, ()))
        window = bank[start:start + count]
        if not like.is_contiguous() and like.is_contiguous(memory_format=torch.channels_last):
            return window.as_strided(like.shape, like.stride())  # the layout of ``like``: element-wise ops stay linear
        return window.view(like.shape)

    @staticmethod
    def onnx(b: Builder, cfg: NeuronConfig, bank: str, like: str) -> str:
        """``RandomUniform`` -> offset -> dynamic ``Slice`` -> ``Reshape``: ops TensorRT parses."""
        i64 = TensorProto.INT64
        count = b.op("Reshape", [b.op("Size", [like], "numel"), b.const([1], "one", np.int64)], "count")
        size = b.op("Shape", [bank], "size")
        room = b.op("Cast", [b.op("Sub", [b.op("Add", [size, b.const([1], "one", np.int64)], "size1"), count],
                                  "room")], "room_f", to=TensorProto.FLOAT)
        u = b.op("RandomUniform", [], "u", dtype=TensorProto.FLOAT, low=0.0, high=1.0, shape=[1])
        start = b.op("Cast", [b.op("Floor", [b.op("Mul", [u, room], "pos")], "pos_floor")], "start0", to=i64)
        # float rounding must not push the window past the bank's end
        start = b.op("Min", [start, b.op("Sub", [size, count], "last")], "start")
        window = b.op("Slice", [bank, start, b.op("Add", [start, count], "end"), b.const([0], "axes", np.int64)],
                      "window")
        return b.op("Reshape", [window, b.op("Shape", [like], "shape")], "drawn")


OPS: tuple[type[NeuronOp], ...] = (Noise, ResidualNoise, PotentialNorm, Charge, Fire, Reset, NoiseWindow)
FUNCTIONS: dict[str, type[NeuronOp]] = {op.function: op for op in OPS if op.function is not None}
