"""The TensorRT static check finds what the parser would reject, naming each node."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from snndeploy.core.errors import SnnDeployError
from snndeploy.export.check import trt_check


def graph(nodes, inputs, outputs, inits=(), opset=17):
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def vi(name, dtype=TensorProto.FLOAT, shape=(1, 4)):
    return helper.make_tensor_value_info(name, dtype, list(shape))


def test_clean_graph_has_no_findings():
    m = graph([helper.make_node("Relu", ["x"], ["y"], name="relu0")], [vi("x")], [vi("y")])
    assert trt_check(m, "10") == []


def test_unsupported_op_double_and_opset():
    m = graph([helper.make_node("Cast", ["x"], ["d"], name="to_double", to=TensorProto.DOUBLE),
               helper.make_node("Cast", ["d"], ["y"], name="back", to=TensorProto.FLOAT)],
              [vi("x")], [vi("y")], opset=21)
    found = [str(f) for f in trt_check(m, "8.6")]
    assert any("to_double" in f and "DOUBLE" in f for f in found)
    assert any("opset 21 outside" in f for f in found)


def test_non_constant_reduce_axes():
    m = graph([helper.make_node("ReduceMax", ["x", "axes"], ["y"], name="rmax", keepdims=1)],
              [vi("x"), vi("axes", TensorProto.INT64, (1,))], [vi("y", shape=(1, 1))], opset=18)
    found = trt_check(m, "10")
    assert [(f.node, f.op_type) for f in found] == [("rmax", "ReduceMax")]
    assert "must be a constant" in found[0].reason
    const = numpy_helper.from_array(np.array([1], np.int64), "axes")
    ok = graph([helper.make_node("ReduceMax", ["x", "axes"], ["y"], name="rmax", keepdims=1)],
               [vi("x")], [vi("y", shape=(1, 1))], inits=[const], opset=18)
    assert trt_check(ok, "10") == []


def test_unknown_version():
    m = graph([helper.make_node("Relu", ["x"], ["y"])], [vi("x")], [vi("y")])
    with pytest.raises(SnnDeployError, match="no TensorRT ONNX-parser data"):
        trt_check(m, "7.1")


def call_graph(body, body_inputs, call_inputs, inputs, inits=(), calls=1, opset=17):
    """A graph calling local function d.F (body nodes, formal inputs) ``calls`` times on the same inputs."""
    func = helper.make_function("d", "F", body_inputs, ["y"], body, [helper.make_opsetid("", opset)])
    nodes = [helper.make_node("F", call_inputs, [f"y{i}"], domain="d", name=f"call{i}") for i in range(calls)]
    outputs = [helper.make_tensor_value_info(f"y{i}", TensorProto.UNDEFINED, None) for i in range(calls)]
    g = helper.make_graph(nodes, "g", inputs, outputs, list(inits))
    return helper.make_model(g, functions=[func], opset_imports=[helper.make_opsetid("", opset),
                                                                 helper.make_opsetid("d", 1)])


def test_dtypes_inside_function_bodies_take_the_call_site_types():
    # TensorRT 10's Relu takes FP32/FP16/BF16/INT32/INT64: an INT8 argument is rejected inside the function
    m = call_graph([helper.make_node("Relu", ["x"], ["y"])], ["x"], ["a"], [vi("a", TensorProto.INT8)], calls=2)
    found = trt_check(m, "10")
    assert [(f.node, f.op_type) for f in found] == [("F#0", "Relu")]  # once, not once per call site
    assert "'x' is INT8" in found[0].reason
    fine = call_graph([helper.make_node("Relu", ["x"], ["y"])], ["x"], ["a"], [vi("a")])
    assert trt_check(fine, "10") == []


def test_function_inputs_bound_to_constants_count_as_constants():
    body = [helper.make_node("ReduceMax", ["x", "axes"], ["y"], keepdims=1)]
    const = numpy_helper.from_array(np.array([1], np.int64), "k")
    ok = call_graph(body, ["x", "axes"], ["a", "k"], [vi("a")], inits=[const], opset=18)
    assert trt_check(ok, "10") == []
    bad = call_graph(body, ["x", "axes"], ["a", "k"], [vi("a"), vi("k", TensorProto.INT64, (1,))], opset=18)
    (f,) = trt_check(bad, "10")
    assert (f.node, f.op_type) == ("F#0", "ReduceMax") and "input 1 ('axes') must be a constant" in f.reason


def test_per_op_rank_limits():
    pool = helper.make_node("AveragePool", ["x"], ["y"], name="pool1d", kernel_shape=[2])
    m = graph([pool], [vi("x", shape=(1, 4, 8))], [vi("y", shape=(1, 4, 7))])
    (f,) = trt_check(m, "10")  # TensorRT pools 2-D or 3-D only: rank 4 or 5
    assert (f.node, f.op_type) == ("pool1d", "AveragePool") and "rank 3; TensorRT 10 takes rank 4 to 5" in f.reason
    pool2d = helper.make_node("AveragePool", ["x"], ["y"], name="pool2d", kernel_shape=[2, 2])
    assert trt_check(graph([pool2d], [vi("x", shape=(1, 4, 8, 8))], [vi("y", shape=(1, 4, 7, 7))]), "10") == []
    inside = call_graph([helper.make_node("AveragePool", ["x"], ["y"], kernel_shape=[2])], ["x"], ["a"],
                        [vi("a", shape=(1, 4, 8))])
    assert [(f.node, f.op_type) for f in trt_check(inside, "10")] == [("F#0", "AveragePool")]


def test_types_a_version_does_not_know():
    # LayerNormalization has no type list for 8.6, but 8.6 has no BF16 at all
    ln = helper.make_node("LayerNormalization", ["x", "s"], ["y"], name="ln")
    m = graph([ln], [vi("x", TensorProto.BFLOAT16), vi("s", TensorProto.BFLOAT16, (4,))],
              [vi("y", TensorProto.BFLOAT16)])
    assert {f.node for f in trt_check(m, "8.6")} == {"ln"}
    assert trt_check(m, "10") == []


@pytest.mark.parametrize("kw", [{"noise": "graph", "fp16": True}, {"noise": "input"}])
def test_exported_function_bodies_are_clean(tiny_run, tmp_path, kw):
    import onnx

    from snndeploy.export import ExportConfig, export

    model = onnx.load(export(tiny_run.path, ExportConfig(T=(2,), out=str(tmp_path), **kw))[0].path)
    assert model.functions
    assert trt_check(model, "10") == []
    assert {f.reason for f in trt_check(model, "8.6")} == {"local functions need TensorRT >= 9; export with --inline"}
