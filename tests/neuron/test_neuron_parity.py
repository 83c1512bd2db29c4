"""Every neuron op's ONNX emission against its PyTorch form on the same random inputs, run by ONNX Runtime."""

import numpy as np
import pytest
import torch

from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.neuron import OPS, Charge, Fire, Noise, NoiseWindow, PotentialNorm, Reset, ResidualNoise
from snndeploy.neuron.crosscheck import crosscheck, op_model

pytest.importorskip("onnxruntime")

TOL = {"fp32": 1e-5, "fp16": 4e-3}  # absolute, on values of order 1
SHAPES = [(3, 4, 5, 5), (4, 7)]  # a conv layer's [B, C, H, W] and an FC layer's [B, N]


def away_from_threshold(h: torch.Tensor, v_th: float) -> torch.Tensor:
    """Keep |H - v_th| >= 0.01, so fp16 rounding cannot flip a spike."""
    near = (h - v_th).abs() < 0.01
    return torch.where(near, h + 0.05, h)


def inputs(op, cfg: NeuronConfig, shape, gen: torch.Generator) -> list[torch.Tensor]:
    """Random inputs of the kind each op takes."""
    if op in (Noise, ResidualNoise):  # raw draws
        return [torch.randn(shape, generator=gen) if cfg.noise == "gaussian" else torch.rand(shape, generator=gen)]
    if op is PotentialNorm:
        return [torch.rand(shape, generator=gen) * 3 - 0.5]
    if op is NoiseWindow:  # a bank exactly one window long: the one offset is 0, so both sides agree
        like = torch.empty(shape)
        return [torch.rand(like.numel(), generator=gen), like]
    if op is Charge:
        return [torch.rand(shape, generator=gen) * 2 - 0.5, torch.rand(shape, generator=gen)]
    h = away_from_threshold(torch.rand(shape, generator=gen) * 2, cfg.v_th)
    if op is Fire:
        return [h]
    return [h, (h > cfg.v_th).float()]


CASES = [(op, kind) for op in OPS for kind in (("gaussian", "uniform") if op in (Noise, ResidualNoise) else ("-",))]


@pytest.mark.parametrize("opset", [17, 18])
@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
@pytest.mark.parametrize(("op", "kind"), CASES, ids=[f"{op.__name__}-{kind}" for op, kind in CASES])
def test_onnx_matches_torch(op, kind, dtype, opset):
    cfg = NeuronConfig(noise="gaussian" if kind == "-" else kind, lam=0.7, noise_lo=-0.2, noise_hi=1.3, alpha=3.0)
    gen = torch.Generator().manual_seed(opset)
    for shape in SHAPES:
        xs = inputs(op, cfg, shape, gen)
        if dtype == "fp16":  # PyTorch computes from the same fp16-rounded inputs the graph sees
            xs = [x.half().float() for x in xs]
        ref, got = crosscheck(op, cfg, *xs, opset=opset, dtype=dtype)
        assert got.shape == ref.shape
        np.testing.assert_allclose(got, ref, atol=TOL[dtype], rtol=TOL[dtype])


@pytest.mark.parametrize("soft", [False, True])
def test_reset_modes_match(soft):
    cfg = NeuronConfig(v_reset=None if soft else -0.3)
    h = away_from_threshold(torch.rand(5, 9, generator=torch.Generator().manual_seed(1)) * 2, 1.0)
    ref, got = crosscheck(Reset, cfg, h, (h > 1.0).float())
    np.testing.assert_allclose(got, ref, atol=1e-6)


def test_custom_ops_are_local_functions_and_the_rest_inline():
    cfg = NeuronConfig()
    for op in OPS:
        shapes = [(6,), (2, 3)] if op is NoiseWindow else [(2, 3)] * (2 if op in (Charge, Reset) else 1)
        model = op_model(op, cfg, shapes)
        assert [f.name for f in model.functions] == ([op.function] if op.function else [])


def test_noise_window_is_a_contiguous_run_of_the_bank_at_a_varying_offset():
    import onnxruntime as ort

    bank = torch.arange(1000, dtype=torch.float32)
    like = torch.empty(4, 3, 5)
    model = op_model(NoiseWindow, NeuronConfig(), [(1000,), tuple(like.shape)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    starts = set()
    for _ in range(30):
        onnx_win = session.run(["y"], {"x0": bank.numpy(), "x1": like.numpy()})[0]
        torch_win = NoiseWindow.torch(NeuronConfig(), bank, like)
        for w in (onnx_win, torch_win.numpy()):
            assert w.shape == tuple(like.shape)
            flat = w.reshape(-1)
            assert 0 <= flat[0] <= 1000 - 60 and np.array_equal(flat, np.arange(flat[0], flat[0] + 60))
        assert float(torch_win.reshape(-1)[0]) % 16 == 0  # PyTorch's windows start 64-byte aligned
        starts.add(float(onnx_win.reshape(-1)[0]))
    assert len(starts) > 20  # a fresh offset on every call (ONNX: any element)
