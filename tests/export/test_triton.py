"""Triton model repositories: config.pbtxt parses with Triton's own protobuf and matches the graph."""

import json

import onnx
import pytest

from snndeploy.core.errors import SnnDeployError
from snndeploy.engine import sidecar
from snndeploy.export import ExportConfig, export
from snndeploy.export import metadata as onnx_meta
from snndeploy.export.triton import write_engine

mc = pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient not installed")
text_format = pytest.importorskip("google.protobuf.text_format")


def parse(path):
    return text_format.Parse(path.read_text(), mc.ModelConfig())


def dims(value_info):
    return [d.dim_value if d.dim_value else -1 for d in value_info.type.tensor_type.shape.dim]


@pytest.mark.parametrize("kw", [{}, {"noise": "input"}, {"batch": "4"}])
def test_config_matches_onnx_graph(tiny_run, tmp_path, kw):
    (e,) = export(tiny_run.path, ExportConfig(T=(5,), format="triton", out=str(tmp_path), **kw))
    folder = e.path.parents[1]
    cfg = parse(folder / "config.pbtxt")
    graph = onnx.load(e.path)
    assert cfg.name == folder.name == "small-cnn_T5" and cfg.platform == "onnxruntime_onnx"
    static = "batch" in kw
    assert cfg.max_batch_size == (0 if static else 64) and cfg.HasField("dynamic_batching") is not static
    by_name = {i.name: i for i in graph.graph.input}
    assert [i.name for i in cfg.input] == list(by_name)
    for i in cfg.input:
        want = dims(by_name[i.name]) if static else dims(by_name[i.name])[1:]
        assert list(i.dims) == want and i.data_type == mc.TYPE_FP32
    (out,) = cfg.output
    assert out.name == "logits" and list(out.dims) == (dims(graph.graph.output[0]) if static else [10])
    assert (folder / "labels.txt").read_text().split() == [str(i) for i in range(10)]
    facts = json.loads(cfg.parameters["snndeploy"].string_value)
    assert facts == onnx_meta.read(graph).to_dict() and cfg.parameters["mean"].string_value == "0.1307"


def test_engine_models_per_compute_capability(tiny_run, tmp_path):
    (e,) = export(tiny_run.path, ExportConfig(T=(5,), out=str(tmp_path / "onnx")))
    facts = onnx_meta.read(onnx.load(e.path))
    for cc in ("8.7", "9.0"):
        plan = tmp_path / f"e{cc}.plan"
        plan.write_bytes(b"plan bytes " + cc.encode())
        shapes = {"images": {"min": [1, 1, 28, 28], "opt": [1, 1, 28, 28], "max": [32, 1, 28, 28]}}
        sidecar.write(plan, facts, {"tensorrt": "10.3.0", "gpu": "test", "compute_capability": cc,
                                    "shapes": shapes, "onnx_sha256": "x", "plan_sha256": "y", "max_batch": 32})
        folder = write_engine(tmp_path / "repo", plan)
    cfg = parse(folder / "config.pbtxt")
    assert cfg.platform == "tensorrt_plan" and cfg.max_batch_size == 32
    assert dict(cfg.cc_model_filenames) == {"8.7": "model_sm87.plan", "9.0": "model_sm90.plan"}
    assert (folder / "1" / "model_sm87.plan").read_bytes() == b"plan bytes 8.7"


def test_engine_errors(tmp_path):
    plan = tmp_path / "e.plan"
    with pytest.raises(SnnDeployError, match="engine not found"):
        write_engine(tmp_path / "repo", plan)
    plan.write_bytes(b"x")
    with pytest.raises(SnnDeployError, match="no sidecar"):
        write_engine(tmp_path / "repo", plan)
    (tmp_path / "e.plan.json").write_text("{}")
    with pytest.raises(SnnDeployError, match="not an snndeploy engine sidecar"):
        write_engine(tmp_path / "repo", plan)


def test_unwritable_repository(tiny_run, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(SnnDeployError, match="cannot write"):
        export(tiny_run.path, ExportConfig(format="triton", out=str(tmp_path / "file" / "repo")))
