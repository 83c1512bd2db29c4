"""ONNX export: graph structure, parity with PyTorch, accuracy, metadata, every model, bad input."""

import dataclasses
import math
from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from conftest import make_checkpoint

from snndeploy.artifacts import metadata as onnx_meta
from snndeploy.core.config import load_yaml
from snndeploy.core.errors import SnnDeployError
from snndeploy.data.datasets import iterate_batches, load_dataset
from snndeploy.engine.check import trt_check, validate
from snndeploy.engine.trt_support import TRT_VERSIONS
from snndeploy.evaluation.evaluate import evaluate_checkpoint, evaluate_onnx
from snndeploy.export.exporter import ExportConfig, export, onnx_model
from snndeploy.export.graph import fed_noise
from snndeploy.neuron.onnx_builder import DOMAIN
from snndeploy.runners.onnxruntime import OnnxRuntimeRunner
from snndeploy.training import checkpoint as ckpt


def compare(ck, path, x, T, stage=3):
    """PyTorch and ONNX Runtime logits for the same images and the same raw noise draws."""
    runner = OnnxRuntimeRunner(path).activate()
    noise = runner.draw_noise(len(x), np.random.default_rng(0))
    with torch.no_grad(), fed_noise(ck.model, noise), ck.model.using(f"stage{stage}"):
        ref = ck.model(torch.from_numpy(x), T).numpy()
    assert all(n.draw_fn is None for n in ck.model.lif_nodes())
    return ref, runner.infer(x, noise)


@pytest.mark.parametrize("T", [1, 5])
def test_parity_with_fed_noise(tiny_run, tmp_path, T):
    ck = ckpt.load(tiny_run.path)
    (path,) = [e.path for e in export(tiny_run.path, ExportConfig(T=(T,), noise="input", out=str(tmp_path)))]
    data = load_dataset(limit_test=1000)
    x = np.concatenate([b.numpy() for b, _ in iterate_batches(data.test, data.spec, 500, shuffle=False)])
    ref, got = compare(ck, path, x, T)
    close = np.abs(ref - got).max(1) <= 1e-4
    # Outside 1e-4 only where a spike flipped from float rounding (H within rounding of v_th): rare.
    assert close.mean() >= 0.995, f"{(~close).sum()} samples differ"
    assert (ref.argmax(1) == got.argmax(1)).mean() >= 0.999


@pytest.mark.slow
def test_graph_noise_accuracy_matches_pytorch(tiny_run, tmp_path):
    (path,) = [e.path for e in export(tiny_run.path, ExportConfig(T=(5,), noise="graph", out=str(tmp_path)))]
    torch_acc = evaluate_checkpoint(str(tiny_run.path), [5], repeats=5)[0].accuracy
    ort_acc = evaluate_onnx(str(path), repeats=5)[0].accuracy
    assert abs(torch_acc - ort_acc) <= 0.005, (torch_acc, ort_acc)


def custom_nodes(model):
    return [n for n in model.graph.node if n.domain == DOMAIN]


def test_custom_ops_and_inline(tiny_run, tmp_path):
    graph = onnx.load(export(tiny_run.path, ExportConfig(noise="input", out=str(tmp_path)))[0].path)
    assert {n.op_type for n in custom_nodes(graph)} == {"Noise", "ResidualNoise", "PotentialNorm"}
    banked = onnx.load(export(tiny_run.path, ExportConfig(noise="graph", out=str(tmp_path)))[0].path)
    assert {n.op_type for n in custom_nodes(banked)} == {"NoiseWindow", "PotentialNorm"}
    assert {f.name for f in graph.functions} == {"Noise", "ResidualNoise", "PotentialNorm"}
    assert {f.name for f in banked.functions} == {"NoiseWindow", "PotentialNorm"}
    body_ops = {n.op_type for f in banked.functions for n in f.node}
    assert {"RandomUniform", "Slice", "ReduceMax", "ReduceMin", "ReduceMean"} <= body_ops
    assert not body_ops & {"RandomNormalLike", "RandomNormal"}  # no per-element draws left
    inlined = onnx.load(export(tiny_run.path, ExportConfig(noise="graph", inline=True, out=str(tmp_path)))[0].path)
    assert not custom_nodes(inlined) and not inlined.functions
    for m in (graph, banked, inlined):
        validate(m)
        assert trt_check(m, "10") == []
    for version in ("8.5", "8.6", "10.3", "11"):
        assert trt_check(inlined, version) == [], version
    assert any("local functions need TensorRT >= 9" in f.reason for f in trt_check(graph, "8.6"))


def test_layer_by_layer_schedule(tiny_run, tmp_path):
    graph = onnx.load(export(tiny_run.path, ExportConfig(T=(5,), out=str(tmp_path)))[0].path)
    convs = [n for n in graph.graph.node if n.op_type == "Conv"]
    assert len(convs) == 2  # each conv once for all steps, not once per step
    assert convs[0].input[0] == "images"  # the first layer runs on the image, once
    dims = [len(v.type.tensor_type.shape.dim) for v in onnx.shape_inference.infer_shapes(graph).graph.value_info]
    assert max(dims) <= 4


@pytest.mark.parametrize("noise", ["frozen", "graph"])
def test_steps_split_with_constant_sizes_on_every_tensorrt(tiny_run, tmp_path, noise):
    # The per-step parts come from one Split with constant sizes of [T, B*N] (no batch arithmetic), and no
    # Shape carries start/end, which TensorRT's parser before 10.0 ignores.
    cfg = ExportConfig(T=(3,), inline=True, noise=noise, out=str(tmp_path))
    (path,) = [e.path for e in export(tiny_run.path, cfg)]
    graph = onnx.shape_inference.infer_shapes(onnx.load(path))
    consts = {t.name: t for t in graph.graph.initializer}
    splits = [n for n in graph.graph.node if n.op_type == "Split"]
    assert len(splits) == 2  # one per spiking layer fed a folded [T*B, ...] tensor
    for n in splits:
        assert len(n.output) == 3 and onnx.numpy_helper.to_array(consts[n.input[1]]).tolist() == [1, 1, 1]
    assert all(not n.attribute for n in graph.graph.node if n.op_type == "Shape")
    slices = [n for n in graph.graph.node if n.op_type == "Slice"]
    assert bool(slices) == (noise == "graph")  # only the bank windows slice, at a random offset
    for version in TRT_VERSIONS:
        assert trt_check(graph, version) == [], version
    x = np.random.default_rng(0).standard_normal((3, 1, 28, 28)).astype(np.float32)
    if noise == "frozen":
        with OnnxRuntimeRunner(path) as runner:  # the same image, the same logits at every batch size
            assert np.allclose(runner.infer(x[:1]), runner.infer(x)[:1], atol=1e-5)


def test_jetson_preset_targets_tensorrt_10_3(tiny_run, tmp_path):
    cfg = ExportConfig.from_dict(load_yaml(Path(__file__).parents[2] / "snndeploy" / "presets" / "jetson-fp16.yaml"))
    assert cfg.trt == "10.3"
    (e,) = export(tiny_run.path, dataclasses.replace(cfg, out=str(tmp_path)))
    assert e.findings == []


def test_frozen_noise_is_deterministic_and_random_free(tiny_run, tmp_path):
    (path,) = [e.path for e in export(tiny_run.path, ExportConfig(noise="frozen", out=str(tmp_path)))]
    graph = onnx.load(path)
    ops = {n.op_type for n in graph.graph.node} | {n.op_type for f in graph.functions for n in f.node}
    assert not ops & {"RandomNormalLike", "RandomUniformLike"}
    runner = OnnxRuntimeRunner(path).activate()
    x = np.random.default_rng(0).standard_normal((4, 1, 28, 28)).astype(np.float32)
    assert np.array_equal(runner.infer(x), runner.infer(x))
    # the same image gives the same logits wherever it sits in the batch (noise broadcast over B)
    assert np.allclose(runner.infer(x[:1]), runner.infer(x)[:1], atol=1e-5)


def test_fp16_graph(tiny_run, tmp_path):
    (path,) = [e.path for e in export(tiny_run.path, ExportConfig(fp16=True, noise="input", out=str(tmp_path)))]
    graph = onnx.load(path)
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.graph.initializer)
    assert trt_check(graph, "11") == []
    ck = ckpt.load(tiny_run.path)
    data = load_dataset(limit_test=500)
    x, y = next(iterate_batches(data.test, data.spec, 500, shuffle=False))
    ref, got = compare(ck, path, x.numpy(), 5)
    # Half precision moves potentials near the threshold, so spikes flip; accuracy must hold.
    acc32, acc16 = (ref.argmax(1) == y.numpy()).mean(), (got.argmax(1) == y.numpy()).mean()
    assert abs(acc32 - acc16) <= 0.01 and (ref.argmax(1) == got.argmax(1)).mean() >= 0.97


def test_metadata_roundtrip(tiny_run, tmp_path):
    cfg = ExportConfig(T=(3,), alpha=8.0, beta=0.4, out=str(tmp_path))
    facts = onnx_meta.read(onnx.load(export(tiny_run.path, cfg)[0].path))
    ck = ckpt.load(tiny_run.path)
    assert facts.T == 3 and facts.neuron.alpha == 8.0 and facts.neuron.beta == 0.4 and facts.stage == 3
    assert facts.data == ck.facts.data and facts.model == "small-cnn" and facts.training == ck.facts.training
    assert facts.weights_sha256 == ck.extra["weights"]["sha256"]


@pytest.mark.parametrize("name,shape", [("small-cnn", (1, 28, 28)), ("paper-cnn", (1, 28, 28)),
                                        ("vgg16", (3, 32, 32)), ("resnet18", (3, 32, 32))])
def test_every_model_exports(tmp_path, name, shape):
    ck = make_checkpoint(tmp_path / "ck", name, shape)
    for T in (1, 5, 10):
        model = onnx_model(ck, ExportConfig(T=(T,), noise="input"), T)
        validate(model)
        assert trt_check(model, "10") == []
    # BatchNorm folding and block wiring are right: the T=2 graph equals PyTorch on fed noise
    path = tmp_path / "m.onnx"
    path.write_bytes(onnx_model(ck, ExportConfig(T=(2,), noise="input"), 2).SerializeToString())
    x = np.random.default_rng(0).standard_normal((16, *shape)).astype(np.float32) * 2
    ref, got = compare(ck, path, x, 2)
    # A wiring or folding error moves every sample; float rounding flips the odd spike of a deep random net
    # (VGG-16: a few samples in 64, at T = 1 as well).
    assert (np.abs(ref - got).max(1) <= 1e-4).mean() >= 0.75


def test_stage2_and_alpha_inf(tiny_run, tmp_path):
    a = onnx.load(export(tiny_run.path, ExportConfig(stage=2, out=str(tmp_path / "a")))[0].path)
    b = onnx.load(export(tiny_run.path, ExportConfig(alpha=math.inf, out=str(tmp_path / "b")))[0].path)
    for m in (a, b):
        assert "PotentialNorm" not in {n.op_type for n in m.graph.node}


def test_bad_export_input(tiny_run, tmp_path):
    with pytest.raises(SnnDeployError, match="T must be >= 1"):
        ExportConfig(T=(0,))
    with pytest.raises(SnnDeployError, match="alpha must be >= 2"):
        export(tiny_run.path, ExportConfig(alpha=1.0, out=str(tmp_path)))
    with pytest.raises(SnnDeployError, match="unknown export option"):
        ExportConfig.from_dict({"precision": "fp16"})
    with pytest.raises(SnnDeployError, match="opset must be"):
        ExportConfig(opset=11)
    with pytest.raises(SnnDeployError, match="--noise must be one of"):
        ExportConfig(noise="pink")
    with pytest.raises(SnnDeployError, match=r"no TensorRT ONNX-parser table for version '10\.5'"):
        ExportConfig(trt="10.5")
    with pytest.raises(SnnDeployError, match="checkpoint not found"):
        export(tmp_path / "nothing", ExportConfig(out=str(tmp_path)))
    (tmp_path / "file").write_text("x")
    with pytest.raises(SnnDeployError, match="cannot write"):
        export(tiny_run.path, ExportConfig(out=str(tmp_path / "file" / "sub")))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_graph_noise_bank_sets_the_largest_batch(tiny_run, tmp_path):
    (e,) = export(tiny_run.path, ExportConfig(T=(3,), noise="graph", max_batch=8, out=str(tmp_path)))
    assert e.path.name == "small-cnn_T3_noise-graph_maxbatch8.onnx"
    facts = onnx_meta.read(onnx.load(e.path))
    assert facts.max_batch == 8 and facts.seed == 0
    x = np.random.default_rng(0).standard_normal((20, 1, 28, 28)).astype(np.float32)
    with OnnxRuntimeRunner(e.path) as runner:
        assert runner.max_batch == 8
        assert runner.infer_batches(x, np.random.default_rng(0)).shape == (20, 10)  # split into chunks of 8
        first, second = runner.infer(x[:8]), runner.infer(x[:8])
        assert not np.array_equal(first, second)  # fresh noise on every call
