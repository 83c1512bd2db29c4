"""The Runner base class on a stand-in backend: lifecycle, the checks of every feed, batch limits and chunking."""

import numpy as np
import pytest

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import ArtifactFacts
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec
from snndeploy.data.datasets import load_dataset
from snndeploy.evaluation.evaluate import runner_accuracy
from snndeploy.runners import Runner, TensorInfo

SPEC = DataSpec("sample", 1, 4, 4, tuple("0123"), (0.5,), (0.25,))
NOISE = {"noise.0.0": (3,), "noise.0.1": (3,)}


class Recorder(Runner):
    """Logits = the image's first pixel in every class column; records batch sizes and lifecycle calls."""

    backend = "stand-in"

    def __init__(self, batch="dynamic", noise=True, limits=(None, None)):
        super().__init__()
        self._facts = ArtifactFacts(model="m", data=SPEC, neuron=NeuronConfig(), T=2, stage=3,
                                    noise="input" if noise else "graph", noise_inputs=NOISE if noise else {},
                                    batch=batch)
        self.limits, self.batches, self.events = limits, [], []

    @property
    def facts(self):
        return self._facts

    @property
    def min_batch(self):
        return self.limits[0] or super().min_batch

    @property
    def max_batch(self):
        return self.limits[1] or super().max_batch

    def _activate_impl(self):
        self.events.append("activate")

    def _deactivate_impl(self):
        self.events.append("deactivate")

    def _infer_impl(self, feeds):
        self.batches.append(len(feeds["images"]))
        return np.repeat(feeds["images"][:, :1, 0, 0], 4, axis=1).astype(np.float32)


def images(n):
    x = np.zeros((n, 1, 4, 4), np.float32)
    x[:, 0, 0, 0] = np.arange(n)
    return x


def test_lifecycle():
    r = Recorder(noise=False)
    with pytest.raises(SnnDeployError, match="not active"):
        r.infer(images(1))
    with r as same:
        assert same is r and r.is_active
        r.activate()  # already active: nothing happens
        r.infer(images(2))
    assert not r.is_active and r.events == ["activate", "deactivate"]
    r.deactivate()  # not active: nothing happens
    assert r.activate() is r and r.events == ["activate", "deactivate", "activate"]


def test_deactivate_runs_when_the_block_raises():
    r = Recorder(noise=False)
    with pytest.raises(KeyError), r:
        raise KeyError("x")
    assert not r.is_active and r.events == ["activate", "deactivate"]


def test_every_feed_is_checked_against_one_description():
    r = Recorder().activate()
    assert r.inputs() == [TensorInfo("images", (None, 1, 4, 4)), TensorInfo("noise.0.0", (None, 3)),
                          TensorInfo("noise.0.1", (None, 3))]
    x, rng = images(2), np.random.default_rng(0)
    good = r.draw_noise(2, rng)
    assert r.infer(x, good).shape == (2, 4)
    with pytest.raises(SnnDeployError, match="takes its noise as inputs"):
        r.infer(x)
    with pytest.raises(SnnDeployError, match="missing noise.0.1"):
        r.infer(x, {"noise.0.0": good["noise.0.0"]})
    with pytest.raises(SnnDeployError, match="has no input"):
        r.infer(x, {**good, "noise.9.9": good["noise.0.0"]})
    with pytest.raises(SnnDeployError, match=r"noise input 'noise.0.1' must have shape \[B, 3\], got \[2, 4\]"):
        r.infer(x, {**good, "noise.0.1": np.zeros((2, 4), np.float32)})
    with pytest.raises(SnnDeployError, match="noise input 'noise.0.0' must be float32, got float64"):
        r.infer(x, {**good, "noise.0.0": good["noise.0.0"].astype(np.float64)})
    nan = good["noise.0.0"].copy()
    nan[1, 2] = np.inf
    with pytest.raises(SnnDeployError, match="noise input 'noise.0.0' contains NaN or infinite"):
        r.infer(x, {**good, "noise.0.0": nan})
    with pytest.raises(SnnDeployError, match="input 'noise.0.1' has batch 3, images have 2"):
        r.infer(x, {**good, "noise.0.1": np.zeros((3, 3), np.float32)})
    with pytest.raises(SnnDeployError, match="must be a numpy array"):
        r.infer(x, {**good, "noise.0.1": [[0.0] * 3] * 2})


def test_fixed_batch_graph_takes_its_batch_only_and_pads_the_last_chunk():
    r = Recorder(batch=4).activate()
    assert (r.min_batch, r.max_batch) == (4, 4) and r.inputs()[0].shape == (4, 1, 4, 4)
    with pytest.raises(SnnDeployError, match="takes batch 4 only"):
        r.infer(images(2), r.draw_noise(2, np.random.default_rng(0)))
    logits = r.infer_batches(images(10), np.random.default_rng(0))
    assert r.batches == [4, 4, 4]  # 4 + 4 + (2 padded to 4)
    assert np.array_equal(logits[:, 0], np.arange(10))  # the padding's rows are dropped


def test_chunks_never_exceed_max_batch():
    r = Recorder(limits=(None, 3)).activate()
    with pytest.raises(SnnDeployError, match="batch 4 exceeds m's maximum of 3"):
        r.infer(images(4), r.draw_noise(4, np.random.default_rng(0)))
    assert np.array_equal(r.infer_batches(images(7), np.random.default_rng(0))[:, 0], np.arange(7))
    assert r.batches == [3, 3, 1]
    assert r.infer_batches(images(0), np.random.default_rng(0)).shape == (0, 4)


def test_minimum_batch_pads(monkeypatch):
    r = Recorder(limits=(2, 8)).activate()
    with pytest.raises(SnnDeployError, match="below m's minimum of 2"):
        r.infer(images(1), r.draw_noise(1, np.random.default_rng(0)))
    assert np.array_equal(r.infer_batches(images(9), np.random.default_rng(0), chunk=4)[:, 0], np.arange(9))
    assert r.batches == [4, 4, 2]


def test_runner_accuracy_chunks_by_the_runners_limit():
    """evaluate's batches of 256 reach an engine-like runner (max batch 64) in chunks it takes."""
    data = load_dataset("sample", limit_test=200)
    r = Recorder(limits=(None, 64), noise=False)
    r._facts = ArtifactFacts(model="m", data=data.spec, neuron=NeuronConfig(), T=2, stage=3, noise="graph")
    with r:
        acc = runner_accuracy(r, data.test, data.spec, batch_size=256)
    assert r.batches == [64, 64, 64, 8]
    # equal logits in every column: argmax picks class 0 for every image
    assert acc == pytest.approx(float(np.mean(np.asarray(data.test.labels) == 0)))
