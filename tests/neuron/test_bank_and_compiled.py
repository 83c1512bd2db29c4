"""Noise banks, the fused training step and the compiled inference steps against the plain ops."""

import math

import pytest
import torch

from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.neuron import NoiseBank, bank_for, bank_rows, noisy_fire, run_steps, unit_rows
from snndeploy.neuron.ops import Noise, surrogate_grad


@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_bank_rows_are_unit_samples_and_windows_are_contiguous_views(kind):
    cfg = NeuronConfig(noise=kind)
    rows = unit_rows(cfg, 8, 5000, torch.Generator().manual_seed(0))
    assert rows.abs().amax(1).max() <= 1.0
    if kind == "gaussian":  # every row spans [-1, 1] as one sample's draws do
        assert torch.allclose(rows.abs().amax(1), torch.ones(8))
    bank = NoiseBank(cfg, 5000, 8)
    like = torch.empty(3, 5, 10, 100)
    starts = set()
    for _ in range(20):
        w = bank.window(like)
        assert w.shape == like.shape and w.data_ptr() >= bank.data.data_ptr()  # a view, no copy
        offset = (w.data_ptr() - bank.data.data_ptr()) // 4
        assert torch.equal(w.reshape(-1), bank.data[offset:offset + like.numel()])
        starts.add(offset)
    assert len(starts) > 10 and all(o % 16 == 0 for o in starts)  # aligned for compiled kernels


def test_bank_is_rebuilt_when_it_no_longer_fits():
    cfg = NeuronConfig()
    bank = bank_for(None, cfg, torch.empty(4, 10))
    assert bank.rows == bank_rows(4) and bank_for(bank, cfg, torch.empty(4, 10)) is bank
    assert bank_for(bank, cfg, torch.empty(bank.rows + 1, 10)) is not bank  # a bigger batch
    assert bank_for(bank, NeuronConfig(noise="uniform"), torch.empty(4, 10)) is not bank  # another noise kind
    assert bank_for(bank, cfg, torch.empty(4, 11)) is not bank  # another layer size


@pytest.mark.parametrize("compile_on", ["1", "0"])
def test_fused_noisy_fire_matches_the_ops(monkeypatch, compile_on):
    monkeypatch.setenv("SNNDEPLOY_COMPILE", compile_on)
    cfg = NeuronConfig(noise_lo=-0.2, noise_hi=1.3, surrogate_a=2.5)
    g = torch.Generator().manual_seed(1)
    i = (torch.rand(6, 4, 5, 5, generator=g) * 2 - 0.3).requires_grad_()
    w = torch.rand(6, 4, 5, 5, generator=g) * 2 - 1
    s = noisy_fire(cfg, i, w)
    h = Noise.from_unit(cfg, w, i.detach())
    assert torch.equal(s, (h > cfg.v_th).float())
    up = torch.rand(6, 4, 5, 5, generator=g)
    s.backward(up)
    assert torch.allclose(i.grad, up * surrogate_grad(h, cfg.v_th, cfg.surrogate_a), atol=1e-6)


@pytest.mark.parametrize("mode", ["stage2", "stage3", "lif"])
@pytest.mark.parametrize("channels_last", [False, True])
def test_compiled_steps_match_the_plain_ops(mode, channels_last, compiled):
    cfg = NeuronConfig(alpha=3.0 if mode == "stage3" else 4.0)
    g = torch.Generator().manual_seed(2)
    folded = torch.rand(4 * 3, 5, 6, 7, generator=g) * 2 - 0.5
    if channels_last:
        folded = folded.contiguous(memory_format=torch.channels_last)
    x = folded.unflatten(0, (4, 3))
    draws = [torch.rand(3, 5, 6, 7, generator=g) * 2 - 1 for _ in range(4)]
    seen = []

    def draw(t, like):
        seen.append(tuple(like.shape))
        return draws[t]

    with torch.no_grad():
        plain, v_plain = run_steps(mode, cfg, x, draw, keep_last=True)
        fast, v_fast = run_steps(mode, cfg, x, draw, keep_last=True, compiled=True)
    assert fast.shape == plain.shape and torch.equal(fast, plain)
    assert (v_fast is None) == (v_plain is None) == (mode == "stage2")  # stage 2 keeps no potential
    if v_plain is not None:
        assert torch.allclose(v_fast, v_plain, atol=1e-6)
    assert set(seen) <= {(3, 5, 6, 7)}  # draws are asked for in the layer's own layout
    if channels_last:  # spikes come back channels-last, ready for the next convolution without a copy
        assert fast.flatten(0, 1).is_contiguous(memory_format=torch.channels_last)


def test_compiled_steps_fall_back_to_the_plain_ops(monkeypatch, compiled):
    import importlib

    from snndeploy.neuron import fused

    step = importlib.import_module("snndeploy.neuron.step")

    def broken(*args, **kwargs):
        raise RuntimeError("no compiler")

    monkeypatch.setattr(step, "_compiled_step", lambda *a: broken)
    monkeypatch.setattr(fused, "_FAILED", set())
    x = torch.rand(3, 2, 10)
    with torch.no_grad(), pytest.warns(RuntimeWarning, match="no compiler"):
        spikes, _ = run_steps("lif", NeuronConfig(), x, compiled=True)
    assert torch.equal(spikes, run_steps("lif", NeuronConfig(), x)[0])
    assert not fused.compile_available("cpu")  # once failed, not tried again
    assert math.isfinite(float(spikes.sum()))
