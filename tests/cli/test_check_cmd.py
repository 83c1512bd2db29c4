"""`snndeploy check` checks the TensorRT version the graph was exported for unless --trt says otherwise."""

import json

import onnx
import pytest
from cli_helpers import bad, invoke

from snndeploy.artifacts import metadata


@pytest.fixture(scope="module")
def jetson_graph(tiny_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("jetson")
    r = invoke("export", tiny_run.path.parent, "--config", "jetson-fp16", "-o", out)
    assert r.exit_code == 0, r.output
    (graph,) = out.glob("*.onnx")
    return graph


def with_target(graph, tmp_path, value, *, drop=False):
    """A copy of ``graph`` whose metadata records ``value`` as its TensorRT target (or no target)."""
    model = onnx.load(graph)
    prop = next(p for p in model.metadata_props if p.key == metadata.KEY)
    obj = json.loads(prop.value)
    obj.pop("trt", None) if drop else obj.update(trt=value)
    prop.value = json.dumps(obj)
    path = tmp_path / graph.name
    onnx.save(model, path)
    return path


def test_export_records_the_preset_target(jetson_graph):
    assert metadata.trt_target(onnx.load(jetson_graph)) == "10.3"


def test_check_defaults_to_the_graphs_target(jetson_graph):
    r = invoke("check", jetson_graph)
    assert r.exit_code == 0, r.output
    assert "TensorRT 10.3, from the graph's metadata: no unsupported nodes found" in " ".join(r.output.split())


def test_trt_option_overrides_the_graphs_target(jetson_graph):
    r = invoke("check", jetson_graph, "--trt", "11")
    assert r.exit_code == 0, r.output
    text = " ".join(r.output.split())
    assert "TensorRT 11: no unsupported nodes found" in text and "from the graph's metadata" not in text


def test_a_graph_without_a_target_is_checked_for_10(jetson_graph, tmp_path):
    r = invoke("check", with_target(jetson_graph, tmp_path, None, drop=True))
    assert r.exit_code == 0, r.output
    assert "TensorRT 10: no unsupported nodes found" in " ".join(r.output.split())


@pytest.mark.parametrize("value", [42, None, ["10.3"], "x" * 10_000, "10.3\n", "10.8", "v10.3; rm -rf ~"])
def test_a_bad_recorded_target_is_one_line(jetson_graph, tmp_path, value):
    path = with_target(jetson_graph, tmp_path, value)
    if value is None:  # null: no target recorded
        assert invoke("check", path).exit_code == 0
        return
    out = bad("check", path)
    assert len(out.strip().splitlines()) == 1 and len(out) < 400 and "x" * 100 not in out
    assert invoke("check", path, "--trt", "10.3").exit_code == 0  # --trt never reads it
