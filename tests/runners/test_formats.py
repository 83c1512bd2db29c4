"""The one table of artifact kinds: dispatch by suffix, backends, and why a backend cannot run here."""

import importlib.util

import pytest

from snndeploy.bench.deploy import BenchConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.install import tensorrt_hint
from snndeploy.runners import backends, kind_for_backend, kind_of, kinds
from snndeploy.runners.onnxruntime import OnnxRuntimeRunner
from snndeploy.runners.tensorrt import TensorRTRunner
from snndeploy.runners.torch_runner import TorchRunner


def test_suffixes_pick_the_runner(tmp_path):
    assert kind_of(tmp_path).runner is TorchRunner  # a run folder
    assert kind_of(tmp_path / "model.json").runner is TorchRunner
    assert kind_of(tmp_path / "model.safetensors").backend == "pytorch"
    assert kind_of(tmp_path / "g.onnx").runner is OnnxRuntimeRunner
    assert kind_of(tmp_path / "e.plan").runner is kind_of(tmp_path / "e.engine").runner is TensorRTRunner
    with pytest.raises(SnnDeployError, match="artifact not found"):
        kind_of(tmp_path / "missing")
    (tmp_path / "x.txt").write_text("x")
    with pytest.raises(SnnDeployError, match=r"unknown artifact type: .*x.txt \(expected a checkpoint .*onnx.*plan"):
        kind_of(tmp_path / "x.txt")


def test_backends_come_from_the_table():
    assert backends() == tuple(k.backend for k in kinds()) == ("pytorch", "onnxruntime", "tensorrt")
    assert kind_for_backend("tensorrt").gpu_only and not kind_for_backend("onnxruntime").gpu_only
    with pytest.raises(SnnDeployError, match="unknown backend 'tvm'; choose from pytorch, onnxruntime, tensorrt"):
        BenchConfig(backends=("tvm",))


def test_unavailable_says_why_in_one_line(monkeypatch):
    engine, graph, torch_kind = kind_for_backend("tensorrt"), kind_for_backend("onnxruntime"), kind_of(".")
    assert engine.unavailable("cpu") == "tensorrt runs on cuda, not cpu"
    assert graph.unavailable("cpu") is None and torch_kind.unavailable("cpu") is None
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert torch_kind.unavailable("cuda") == "no CUDA GPU visible to PyTorch"
    if importlib.util.find_spec("tensorrt") is None:
        assert engine.unavailable("cuda") == f"TensorRT is not installed ({tensorrt_hint()})"
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert graph.unavailable("cuda").startswith("ONNX Runtime lacks CUDAExecutionProvider")
    assert graph.unavailable("tensorrt").startswith("ONNX Runtime lacks TensorrtExecutionProvider")
