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
