"""Runner.infer_seeded: an image's logits depend on its pixels, the seed and its index, never on its batch-mates."""

import numpy as np
import pytest

from snndeploy.core.errors import SnnDeployError
from snndeploy.data.datasets import sample_path
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.runners import open_runner
from snndeploy.runners.base import seeded_draws
from snndeploy.runners.torch_runner import FP32_PARITY

T = 2


@pytest.fixture(scope="module")
def checkpoint(tiny_run):
    return tiny_run.path


@pytest.fixture(scope="module")
def graphs(checkpoint, tmp_path_factory):
    """One graph per noise mode (and a fixed-batch --noise input graph) of the checkpoint, at T."""
    out = tmp_path_factory.mktemp("graphs")
    paths = {}
    for noise, batch in (("input", "dynamic"), ("graph", "dynamic"), ("frozen", "dynamic"), ("input", "3")):
        (e,) = export(checkpoint, ExportConfig(T=(T,), noise=noise, batch=batch, out=str(out / f"{noise}{batch}")))
        paths[noise if batch == "dynamic" else f"{noise}-batch{batch}"] = e.path
    return paths


DIGITS = np.load(sample_path())["images"][-200:]  # test split


def images(n, seed):
    """n test digits picked by ``seed``, normalised as the sample's spec says."""
    x = DIGITS[np.random.default_rng(seed).choice(len(DIGITS), n, replace=False)]
    return ((x / 255.0 - 0.1307) / 0.3081).astype(np.float32)


def mates_differ(runner, **kw):
    """Logits of the same two images (at indices 0 and 3) among different batch-mates, and among none."""
    a, b = images(2, 100)
    first, second = images(5, 1), images(5, 2)
    first[0], first[3], second[0], second[3] = a, b, a, b
    with runner:
        one = runner.infer_seeded(first, seed=7, **kw)
        two = runner.infer_seeded(second, seed=7, **kw)
        alone = runner.infer_seeded(first[:1], seed=7, **kw)
    return one, two, alone


@pytest.mark.parametrize("chunk", [256, 2])
def test_checkpoint_image_ignores_its_batch_mates(checkpoint, chunk):
    one, two, alone = mates_differ(open_runner(checkpoint, T=T), chunk=chunk)
    assert np.allclose(one[[0, 3]], two[[0, 3]], atol=1e-5)
    assert np.allclose(one[0], alone[0], atol=1e-5)
    assert not np.allclose(one[1], two[1], atol=1e-3)  # the other images do differ


@pytest.mark.parametrize("mode", ["input", "input-batch3", "graph", "frozen"])
def test_graph_image_ignores_its_batch_mates(graphs, mode):
    one, two, alone = mates_differ(open_runner(graphs[mode], seed=7))
    assert np.allclose(one[[0, 3]], two[[0, 3]], atol=1e-5)
    assert np.allclose(one[0], alone[0], atol=1e-5)
    assert not np.allclose(one[1], two[1], atol=1e-3)  # the other images do differ
    assert not np.allclose(one[0], one[3], atol=1e-3)  # and each image has its own logits


def test_seeded_results_repeat_and_depend_on_seed_and_index(checkpoint, graphs):
    x = images(4, 3)
    for path in (checkpoint, graphs["input"], graphs["graph"]):
        with open_runner(path, T=T) as r:
            first = r.infer_seeded(x, seed=7)
            assert np.allclose(r.infer_seeded(x, seed=7), first, atol=1e-5), path  # the same runner again
        with open_runner(path, T=T) as r:  # a new runner (a new ONNX Runtime session)
            assert np.allclose(r.infer_seeded(x, seed=7), first, atol=1e-5), path
            assert not np.allclose(r.infer_seeded(x, seed=8), first, atol=1e-3), path
            same = np.repeat(x[:1], 2, axis=0)  # one image at indices 0 and 1: different draws
            assert not np.allclose(*r.infer_seeded(same, seed=7), atol=1e-3), path


def test_checkpoint_and_its_noise_input_graph_agree(checkpoint, graphs):
    x = images(6, 4)
    with open_runner(checkpoint, T=T) as torch_runner, open_runner(graphs["input"]) as graph:
        assert FP32_PARITY.problem(torch_runner.infer_seeded(x, 5), graph.infer_seeded(x, 5)) is None


def test_seeded_draws_rows_and_padding():
    shapes = {"b": (3,), "a": (2, 2)}
    d = seeded_draws("gaussian", shapes, 1, range(4, 6), rows=3)
    assert {k: v.shape for k, v in d.items()} == {"b": (3, 3), "a": (3, 2, 2)}
    assert not d["a"][2].any() and not d["b"][2].any()  # the padding row
    alone = seeded_draws("gaussian", shapes, 1, range(5, 6))  # index 5 alone: the same row
    assert all(np.array_equal(alone[k][0], d[k][1]) for k in shapes)
    uniform = seeded_draws("uniform", shapes, 1, range(2))
    assert all(0 <= v.min() and v.max() < 1 for v in uniform.values())


@pytest.mark.parametrize("kind", ["gaussian", "uniform"])
def test_seeded_draws_follow_the_noise_kind(kind):
    """Standard normal draws for gaussian noise, uniform in [0, 1) otherwise: moments and quartiles of 16384
    draws (fixed seeds: the numbers never change, the bounds hold with a wide margin)."""
    v = seeded_draws(kind, {"u": (4096,)}, 1, range(4))["u"].astype(np.float64)
    assert v.shape == (4, 4096) and len({row.tobytes() for row in v}) == 4  # each image its own draws
    if kind == "gaussian":
        assert abs(v.mean()) < 0.05 and abs(v.std() - 1) < 0.05 and v.min() < -3 < 3 < v.max()
    else:
        assert 0 <= v.min() < 0.01 and 0.99 < v.max() < 1
        assert abs(v.mean() - 0.5) < 0.02 and np.allclose(np.quantile(v, [0.25, 0.5, 0.75]), [0.25, 0.5, 0.75],
                                                          atol=0.02)


def test_seed_out_of_range(checkpoint):
    with open_runner(checkpoint, T=T) as r, pytest.raises(SnnDeployError, match="seed must be an integer from 0"):
        r.infer_seeded(images(1, 0), seed=-1)
