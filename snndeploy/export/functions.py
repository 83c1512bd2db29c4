"""The custom ops of the exported graph as ONNX local functions whose bodies use standard ops only.

Each body mirrors a function of ``snndeploy.neuron`` (noise, residual_noise, potential_norm); the
parity tests hold the two together.
"""

from __future__ import annotations

import onnx
from onnx import TensorProto, helper

from ..core.neuron_config import NeuronConfig
from .builder import DOMAIN, Builder

NOISE, RESIDUAL, POTENTIAL_NORM = "Noise", "ResidualNoise", "PotentialNorm"


def _per_sample(b: Builder, x: str, fn) -> str:
    """Apply ``fn`` to x flattened to [B, N] and reshape the result back to x's shape."""
    flat = b.op("Flatten", [x], "flat", axis=1)
    return b.op("Reshape", [fn(flat), b.op("Shape", [x], "shape")], "out")


def _absmax_scale(b: Builder, zf: str, factor: float) -> str:
    """zf / max|zf| * factor, per sample."""
    m = b.reduce("ReduceMax", b.op("Abs", [zf], "abs"), [1], hint="absmax")
    return b.op("Mul", [b.op("Div", [zf, m], "unit"), b.const(factor, "factor")], "scaled")


def _random(b: Builder, like: str, kind: str, lo: float, hi: float) -> str:
    """Raw draws in the graph: N(0,1), or U(lo, hi) directly."""
    if kind == "gaussian":
        return b.op("RandomNormalLike", [like], "z", dtype=b.onnx_dtype, mean=0.0, scale=1.0)
    return b.op("RandomUniformLike", [like], "u", dtype=b.onnx_dtype, low=float(lo), high=float(hi))


def noise_body(b: Builder, x: str, cfg: NeuronConfig, from_draws: bool) -> str:
    """N_noise from raw draws x (``from_draws``) or drawn in the graph like x."""
    lo, hi = cfg.noise_lo, cfg.noise_hi
    if cfg.noise == "uniform":
        if not from_draws:
            return _random(b, x, "uniform", lo, hi)
        return b.op("Add", [b.op("Mul", [x, b.const(hi - lo, "span")]), b.const(lo, "lo")], "noise")
    z = x if from_draws else _random(b, x, "gaussian", lo, hi)
    mid = (hi + lo) / 2
    return _per_sample(b, z, lambda zf: b.op("Add", [_absmax_scale(b, zf, (hi - lo) / 2), b.const(mid, "mid")]))


def residual_body(b: Builder, x: str, cfg: NeuronConfig, from_draws: bool) -> str:
    """Zero-mean residual noise N' spanning [-r, r]."""
    r = cfg.residual
    if cfg.noise == "uniform":
        if not from_draws:
            return _random(b, x, "uniform", -r, r)
        return b.op("Mul", [b.op("Sub", [b.op("Mul", [x, b.const(2.0, "two")]), b.const(1.0, "one")]), b.const(r, "r")])
    z = x if from_draws else _random(b, x, "gaussian", -r, r)
    return _per_sample(b, z, lambda zf: _absmax_scale(b, zf, r))


def potential_norm_body(b: Builder, v: str, cfg: NeuronConfig, fp32_reductions: bool) -> str:
    """N(lam V): standardise per sample, squash into beta +- 1/alpha (eqs. 9-10)."""
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

    a = b.op("Mul", [v, b.const(cfg.lam, "lam")], "decayed")
    out = _per_sample(b, a, norm)
    if out_type != b.onnx_dtype:
        out = b.op("Cast", [out], "out_cast", to=out_type)
    return out


def make_function(name: str, opset: int, dtype: str, body) -> onnx.FunctionProto:
    """A local function in the snndeploy domain with one input ``x`` and one output ``y``."""
    b = Builder(opset, dtype, named_nodes=False)
    out = body(b, "x")
    b.nodes.append(helper.make_node("Identity", [out], ["y"]))
    return helper.make_function(DOMAIN, name, ["x"], ["y"], b.nodes, [helper.make_opsetid("", opset)])


def functions_for(cfg: NeuronConfig, opset: int, dtype: str, from_draws: bool, names: set[str],
                  fp32_reductions: bool = True) -> list[onnx.FunctionProto]:
    """The function definitions a graph uses."""
    bodies = {
        NOISE: lambda b, x: noise_body(b, x, cfg, from_draws),
        RESIDUAL: lambda b, x: residual_body(b, x, cfg, from_draws),
        POTENTIAL_NORM: lambda b, x: potential_norm_body(b, x, cfg, fp32_reductions),
    }
    return [make_function(n, opset, dtype, bodies[n]) for n in (NOISE, RESIDUAL, POTENTIAL_NORM) if n in names]
