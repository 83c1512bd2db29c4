"""Every CPU runner on the trained sample model, agreeing when fed the same noise; input checks."""

import dataclasses
import importlib.util
import math
import re

import numpy as np
import pytest

from snndeploy.artifacts import metadata as onnx_meta
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.install import tensorrt_hint
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.runners import open_runner
from snndeploy.runners.onnxruntime import OnnxRuntimeRunner
from snndeploy.runners.tensorrt import TensorRTRunner
from snndeploy.runners.torch_runner import FP32_PARITY, TorchRunner
from snndeploy.training import checkpoint as ckpt


@pytest.fixture(scope="module")
def parity_graph(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("parity")
    return export(tiny_run.path, ExportConfig(T=(4,), noise="input", inline=True, out=str(out)))[0].path


@pytest.mark.parametrize("compile_on", [False, True])
def test_runners_agree_on_fed_noise(tiny_run, parity_graph, monkeypatch, compile_on):
    monkeypatch.setenv("SNNDEPLOY_COMPILE", "1" if compile_on else "0")  # compiled steps, channels-last convs
    ort_runner = OnnxRuntimeRunner(parity_graph).activate()
    torch_runner = open_runner(tiny_run.path, T=4).activate()
    assert isinstance(torch_runner, TorchRunner) and ort_runner.T == torch_runner.T == 4
    x = np.random.default_rng(0).standard_normal((8, 1, 28, 28)).astype(np.float32)
    noise = ort_runner.draw_noise(8, np.random.default_rng(1))
    assert FP32_PARITY.problem(torch_runner.infer(x, noise), ort_runner.infer(x, noise)) is None
    assert torch_runner.spec == ort_runner.spec


def test_runner_facts_are_the_artifacts(tiny_run, parity_graph):
    base = ckpt.load(tiny_run.path).facts
    runner = TorchRunner(tiny_run.path, T=3, stage=2)
    stage2 = dataclasses.replace(base.neuron, alpha=math.inf)
    assert runner.facts == dataclasses.replace(base, T=3, stage=2, noise="graph", neuron=stage2)
    assert runner.T == 3 and runner.precision == "fp32" and runner.spec == base.data
    assert runner.noise_inputs() == {} and runner.draw_noise(2, np.random.default_rng(0)) is None
    with pytest.raises(SnnDeployError, match="T must be >= 1"):
        TorchRunner(tiny_run.path, T=0)
    graph = OnnxRuntimeRunner(parity_graph)
    assert graph.facts == onnx_meta.load(parity_graph)[1] and graph.T == 4 and graph.facts.noise == "input"
    assert graph.noise_inputs() == graph.facts.noise_inputs and graph.noise_inputs()
    draws = graph.draw_noise(2, np.random.default_rng(0))
    assert {k: v.shape[1:] for k, v in draws.items()} == graph.noise_inputs()
    # the kind of draw comes from the neuron's noise: standard normal here (tens of thousands of draws)
    normal = np.concatenate([v.ravel() for v in draws.values()]).astype(np.float64)
    assert normal.size > 10_000 and abs(normal.mean()) < 0.05 and abs(normal.std() - 1) < 0.05
    graph._facts = dataclasses.replace(graph.facts, neuron=dataclasses.replace(graph.facts.neuron, noise="uniform"))
    uniform = np.concatenate([v.ravel() for v in graph.draw_noise(2, np.random.default_rng(0)).values()])
    assert 0 <= uniform.min() and uniform.max() < 1  # uniform in [0, 1), spread over all of it
    assert np.allclose(np.quantile(uniform, [0.01, 0.25, 0.5, 0.75, 0.99]), [0.01, 0.25, 0.5, 0.75, 0.99], atol=0.02)


def test_input_checks(tiny_run):
    runner = TorchRunner(tiny_run.path, T=1).activate()
    with pytest.raises(SnnDeployError, match=r"shape \[B, 1, 28, 28\]"):
        runner.infer(np.zeros((2, 3, 28, 28), np.float32))
    with pytest.raises(SnnDeployError, match="float32"):
        runner.infer(np.zeros((2, 1, 28, 28), np.float64))
    bad = np.zeros((2, 1, 28, 28), np.float32)
    bad[0, 0, 0, 0] = np.nan
    with pytest.raises(SnnDeployError, match="NaN"):
        runner.infer(bad)


def test_noise_input_graph_needs_noise(parity_graph):
    runner = OnnxRuntimeRunner(parity_graph).activate()
    with pytest.raises(SnnDeployError, match="takes its noise as inputs"):
        runner.infer(np.zeros((1, 1, 28, 28), np.float32))


def test_open_runner_errors(tmp_path):
    with pytest.raises(SnnDeployError, match="artifact not found"):
        open_runner(tmp_path / "missing.bin")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(SnnDeployError, match="unknown artifact type"):
        open_runner(tmp_path / "x.txt")
    with pytest.raises(SnnDeployError, match="engine not found"):
        open_runner(tmp_path / "missing.plan")


@pytest.mark.skipif(importlib.util.find_spec("tensorrt") is not None, reason="TensorRT is installed here")
def test_tensorrt_runner_without_tensorrt(tmp_path, engine_with_sidecar):
    runner = TensorRTRunner(engine_with_sidecar)  # the sidecar is read and checked without TensorRT
    assert runner.T == 5 and runner.precision == "fp32"
    with pytest.raises(SnnDeployError, match="TensorRT is not installed: " + re.escape(str(tensorrt_hint()))):
        runner.activate()
