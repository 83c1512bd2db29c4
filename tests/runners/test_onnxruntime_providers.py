"""ONNX Runtime's GPU providers, against a stand-in `onnxruntime` module: the session's real providers are
checked (no silent CPU fallback), and the TensorRT provider gets a profile and engine and timing caches."""

import re
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import numpy as np
import onnx
import pytest

from snndeploy.core.install import onnxruntime_gpu_install
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.runners import BackendUnavailable
from snndeploy.runners.onnxruntime import OnnxRuntimeRunner


@pytest.fixture(scope="module")
def noise_graph(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("ortgraph")
    return export(tiny_run.path, ExportConfig(T=(2,), noise="input", out=str(out)))[0].path


def fake_ort(monkeypatch, available, session_providers):
    """A module that records what sessions are asked for and reports ``session_providers`` as used."""
    mod = ModuleType("onnxruntime")
    mod.created = []
    mod.get_available_providers = lambda: list(available)
    mod.set_seed = lambda seed: None

    class SessionOptions:
        pass

    class InferenceSession:
        def __init__(self, model, options, providers=None, provider_options=None):
            mod.created.append({"providers": providers, "provider_options": provider_options})
            self.graph = onnx.load_from_string(model).graph

        def get_inputs(self):  # ONNX Runtime's NodeArgs: name and shape (a size, or a name where dynamic)
            return [SimpleNamespace(name=i.name, shape=[d.dim_param or d.dim_value for d in
                                                        i.type.tensor_type.shape.dim]) for i in self.graph.input]

        def get_outputs(self):
            return [SimpleNamespace(name=o.name, shape=[d.dim_param or d.dim_value for d in
                                                        o.type.tensor_type.shape.dim]) for o in self.graph.output]

        def get_providers(self):
            return list(session_providers)

        def run(self, names, feeds):
            return [np.zeros((len(feeds["images"]), 10), np.float32)]

    mod.SessionOptions, mod.InferenceSession = SessionOptions, InferenceSession
    monkeypatch.setitem(sys.modules, "onnxruntime", mod)
    return mod


GPU = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]


@pytest.mark.parametrize("device", ["cuda", "tensorrt"])
def test_a_session_that_fell_back_to_the_cpu_is_refused(monkeypatch, noise_graph, device):
    fake_ort(monkeypatch, available=GPU, session_providers=["CPUExecutionProvider"])
    runner = OnnxRuntimeRunner(noise_graph, device=device)
    with pytest.raises(BackendUnavailable, match=r"could not start \w+ExecutionProvider here \(the session would "
                                                 r"run on CPUExecutionProvider\)"):
        runner.activate()
    assert not runner.is_active


def test_missing_gpu_wheel_is_unavailable(monkeypatch, noise_graph):
    fake_ort(monkeypatch, available=["CPUExecutionProvider"], session_providers=["CPUExecutionProvider"])
    # the same line the kinds table gives bench rows
    why = r"lacks CUDAExecutionProvider \(" + re.escape(onnxruntime_gpu_install())
    with pytest.raises(BackendUnavailable, match=why):
        OnnxRuntimeRunner(noise_graph, device="cuda").activate()


def test_tensorrt_provider_gets_a_profile_and_caches(monkeypatch, noise_graph, tmp_path):
    ort = fake_ort(monkeypatch, available=GPU, session_providers=GPU)
    runner = OnnxRuntimeRunner(noise_graph, device="tensorrt", max_batch=32, cache_dir=tmp_path / "cache")
    with runner:
        assert runner.max_batch == 32  # callers chunk by the profile
        x = np.zeros((32, 1, 28, 28), np.float32)
        assert runner.infer(x, runner.draw_noise(32, np.random.default_rng(0))).shape == (32, 10)
    (session,) = ort.created
    assert session["providers"] == GPU
    trt, *rest = session["provider_options"]
    assert rest == [{}, {}]
    noise = runner.noise_inputs()
    assert noise  # the profile must name every dynamic input, the raw draws included
    for which, batch in (("min", 1), ("opt", 1), ("max", 32)):
        entries = dict(e.split(":") for e in trt[f"trt_profile_{which}_shapes"].split(","))
        assert entries["images"] == f"{batch}x1x28x28"
        assert {k: v for k, v in entries.items() if k != "images"} == {
            k: "x".join(map(str, (batch, *s))) for k, s in noise.items()}
    assert trt["trt_engine_cache_enable"] == "True" and trt["trt_timing_cache_enable"] == "True"
    assert trt["trt_timing_cache_path"] == str(tmp_path / "cache")
    assert trt["trt_engine_cache_path"] == str(tmp_path / "cache" / runner.graph_sha256)
    assert (tmp_path / "cache" / runner.graph_sha256).is_dir()


def test_cpu_and_cuda_sessions_take_any_batch(monkeypatch, noise_graph):
    ort = fake_ort(monkeypatch, available=GPU, session_providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    with OnnxRuntimeRunner(noise_graph, device="cuda") as runner:
        assert runner.max_batch is None and runner.backend == "onnxruntime-cuda"
    assert ort.created[0]["provider_options"] == [{}, {}]


def test_tensorrt_engine_cache_is_keyed_by_the_graphs_content(monkeypatch, tiny_run, tmp_path):
    """Two graphs that differ only in weights (another frozen-noise seed: the same tensor and node names; sessions
    are built from bytes, so no file name either) must not share a cached engine: ONNX Runtime's TensorRT
    provider names engines by those names, not by the weights."""
    ort = fake_ort(monkeypatch, available=GPU, session_providers=GPU)
    a, b = (export(tiny_run.path, ExportConfig(T=(2,), noise="frozen", seed=seed, out=str(tmp_path / f"s{seed}")))[0]
            .path for seed in (0, 1))
    cache = tmp_path / "cache"
    for path in (a, b, a):
        with OnnxRuntimeRunner(path, device="tensorrt", cache_dir=cache):
            pass
    engines = [s["provider_options"][0]["trt_engine_cache_path"] for s in ort.created]
    timings = {s["provider_options"][0]["trt_timing_cache_path"] for s in ort.created}
    assert engines[0] != engines[1]  # the weights differ: another engine
    assert engines[0] == engines[2]  # the same graph again: its cached engine
    assert timings == {str(cache)}  # layer timings do not depend on weights: one timing cache
    assert all(Path(e).parent == cache and Path(e).is_dir() for e in engines)


def test_tensorrt_provider_refuses_graph_noise_it_would_freeze(monkeypatch, tiny_run, tmp_path):
    """TensorRT turns RandomUniform into a fill fixed at build time: a --noise graph graph on the provider would
    run one noise window under a "graph" label, so the runner refuses it before any session is made."""
    ort = fake_ort(monkeypatch, available=GPU, session_providers=GPU)
    (graph,) = export(tiny_run.path, ExportConfig(T=(2,), noise="graph", out=str(tmp_path / "g")))
    with pytest.raises(BackendUnavailable, match=r"TensorRT fixes the draws of RandomUniform .* frozen"):
        OnnxRuntimeRunner(graph.path, device="tensorrt", cache_dir=tmp_path / "cache").activate()
    assert ort.created == []
    OnnxRuntimeRunner(graph.path, device="cuda", cache_dir=tmp_path / "cache").activate()  # CUDA keeps it random
    assert len(ort.created) == 1
