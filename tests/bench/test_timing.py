"""Benchmark helpers: MAC counts, the runner timer, the SpikingJelly peer."""

from types import SimpleNamespace

import numpy as np
import pytest

from snndeploy.bench import timing
from snndeploy.bench.train_study.peers import spikingjelly_available
from snndeploy.evaluation.macs import macs_per_image
from snndeploy.models import build_model
from snndeploy.runners.torch_runner import TorchRunner


def test_macs_first_layer_once_readout_once():
    model = build_model("small-cnn", (1, 28, 28), 10)
    stem = 32 * 28 * 28 * 9  # 1 -> 32 channels, 3x3
    conv2 = 64 * 14 * 14 * 32 * 9
    fc = 64 * 7 * 7 * 256
    head = 256 * 10
    assert macs_per_image(model, 1) == stem + conv2 + fc + head
    assert macs_per_image(model, 5) == stem + 5 * (conv2 + fc) + head


def test_time_runner_percentiles_from_a_scripted_clock(monkeypatch):
    """Latencies 10 ms (warm-up), then 1, 2, 3, 4 ms: the percentiles and throughput of exactly those."""
    durations = [0.010, 0.001, 0.002, 0.003, 0.004]
    clock, calls, syncs = [0.0], [], []

    class Scripted:
        spec = SimpleNamespace(input_shape=(1, 2, 2))

        def draw_noise(self, batch, rng):
            return None

        def infer(self, x, noise):
            clock[0] += durations[len(calls)]
            calls.append(x.shape)

        def synchronize(self):
            syncs.append(len(calls))

    monkeypatch.setattr(timing.time, "perf_counter", lambda: clock[0])
    r = timing.time_runner(Scripted(), 4, warmup=1, iters=4, min_seconds=0.0)
    assert calls == [(4, 1, 2, 2)] * 5 and r["iters"] == 4 and syncs == [1, 2, 3, 4, 5]  # after every run
    assert r["p10_ms"] == pytest.approx(1.3) and r["p50_ms"] == pytest.approx(2.5) and r["p90_ms"] == pytest.approx(3.7)
    assert r["p99_ms"] == pytest.approx(3.97)
    assert r["images_per_s"] == pytest.approx(4 / 0.0025)


@pytest.mark.skipif(not spikingjelly_available(), reason="spikingjelly not installed (pip install snndeploy[peers])")
def test_spikingjelly_peer_matches_plain_lif(tiny_run):
    from snndeploy.bench.train_study.peers import SpikingJellyRunner

    sj = SpikingJellyRunner(tiny_run.path, T=3).activate()
    ours = TorchRunner(tiny_run.path, T=3).activate()
    ours.model.set_mode("lif")  # SpikingJelly runs plain LIF: the same maths without noise
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    assert np.allclose(sj.infer(x), ours.infer(x), atol=1e-5)
