"""The TensorRT static check finds what the parser would reject, naming each node; `snndeploy check` on any
ONNX file."""

import importlib.util

import numpy as np
import pytest
from cli_helpers import invoke
from onnx import TensorProto, helper, numpy_helper

from snndeploy.core.errors import SnnDeployError
from snndeploy.engine.check import trt_check, trt_version


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


@pytest.mark.parametrize("version", ["7.1", "8", "9.2", "10.0", "10.5", "10.8", "12"])
def test_versions_without_tables_are_refused_in_one_line(version):
    m = graph([helper.make_node("Relu", ["x"], ["y"])], [vi("x")], [vi("y")])
    with pytest.raises(SnnDeployError, match=r"^no TensorRT ONNX-parser table for version '[\d.]+'; "
                                             r"tables: 8\.5, 8\.6, 10\.3, 10 \(= 10\.15\), 11$"):
        trt_check(m, version)
    with pytest.raises(SnnDeployError, match="no TensorRT ONNX-parser table"):
        trt_version(version)


@pytest.mark.parametrize("version,key", [("8.5.2.2", "8.5"), ("8.6.1", "8.6"), ("10.3", "10.3"), ("10.3.0.30", "10.3"),
                                         ("10", "10"), ("10.15", "10"), ("11", "11"), ("11.2", "11")])
def test_versions_with_tables(version, key):
    assert trt_version(version) == key


def test_ten_three_has_its_own_tables():
    # JetPack 6.1/6.2's TensorRT 10.3 takes opsets up to 20 and Slice with tensor axes; 10.15 takes opset 21.
    m = graph([helper.make_node("Relu", ["x"], ["y"], name="relu0")], [vi("x")], [vi("y")], opset=21)
    assert [f.op_type for f in trt_check(m, "10.3")] == ["opset"] and trt_check(m, "10") == []
    assert trt_check(m, "10.3.0.30") == trt_check(m, "10.3")
    sl = graph([helper.make_node("Slice", ["x", "s", "e", "a"], ["y"], name="slice")],
               [vi("x"), *(vi(n, TensorProto.INT64, (1,)) for n in "sea")], [vi("y")])
    assert [f.reason for f in trt_check(sl, "8.6")] == ["input 3 ('a') must be a constant"]
    assert trt_check(sl, "10.3") == []  # tensor axes for Slice from 10.3 on


def batch_slices(old: bool):
    """Steps 0 and 1 of a [2*B, 4] tensor, the bounds read from the dynamic batch of ``x``: the construction
    with Shape start/end (``old``) or Shape followed by Gather of element 0."""
    ints = {n: numpy_helper.from_array(np.array([v], np.int64), n) for n, v in [("i0", 0), ("t1", 1), ("t2", 2)]}
    if old:
        batch = [helper.make_node("Shape", ["x"], ["b"], name="batch", start=0, end=1)]
    else:
        batch = [helper.make_node("Shape", ["x"], ["shape"], name="shape"),
                 helper.make_node("Gather", ["shape", "i0"], ["b"], name="batch", axis=0)]
    nodes = [*batch, helper.make_node("Mul", ["b", "t1"], ["b1"], name="b1"),
             helper.make_node("Mul", ["b", "t2"], ["b2"], name="b2"),
             helper.make_node("Concat", ["x", "x"], ["folded"], name="fold", axis=0),
             helper.make_node("Slice", ["folded", "i0", "b1", "i0"], ["y0"], name="step0"),
             helper.make_node("Slice", ["folded", "b1", "b2", "i0"], ["y1"], name="step1")]
    return graph(nodes, [vi("x", shape=("batch", 4))], [vi("y0", shape=("batch", 4)), vi("y1", shape=("batch", 4))],
                 inits=list(ints.values()))


@pytest.mark.parametrize("version", ["8.5", "8.6"])
def test_shape_start_end_is_flagged_before_ten(version):
    # TensorRT's parser before 10.0 ignores Shape's start/end: the bounds would have one element per axis of x.
    (f,) = trt_check(batch_slices(old=True), version)
    assert (f.node, f.op_type, f.reason) == ("batch", "Shape", f"TensorRT {version}'s parser ignores attribute end=1")
    assert trt_check(batch_slices(old=False), version) == []


@pytest.mark.parametrize("version", ["10.3", "10", "11"])
def test_shape_start_end_is_read_from_ten_on(version):
    assert trt_check(batch_slices(old=True), version) == [] == trt_check(batch_slices(old=False), version)


def test_shape_attributes_at_their_defaults_are_harmless():
    m = graph([helper.make_node("Shape", ["x"], ["s"], name="whole", start=0)], [vi("x")],
              [vi("s", TensorProto.INT64, (2,))])
    assert trt_check(m, "8.6") == []


def test_reduce_axes_inputs_the_8x_parser_drops():
    # Opset 18 moves reduce axes into an input; TensorRT 8.x's ReduceMean/ReduceMax importers never read it
    # (they reduce over every axis), its ReduceSum importer does.
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    mean = graph([helper.make_node("ReduceMean", ["x", "axes"], ["y"], name="mean", keepdims=1)],
                 [vi("x")], [vi("y", shape=(1, 1))], inits=[axes], opset=18)
    reasons = {f.reason for f in trt_check(mean, "8.6")}
    assert reasons == {"TensorRT 8.6's parser ignores input 1 ('axes')",
                       "opset 18 outside TensorRT 8.6's 7-17; export with --opset 17"}
    assert trt_check(mean, "10.3") == []
    total = graph([helper.make_node("ReduceSum", ["x", "axes"], ["y"], name="sum", keepdims=1)],
                  [vi("x")], [vi("y", shape=(1, 1))], inits=[axes], opset=13)
    assert trt_check(total, "8.6") == []


def test_random_like_of_a_constant_before_ten_eleven():
    c = numpy_helper.from_array(np.zeros((1, 4), np.float32), "c")
    m = graph([helper.make_node("RandomNormalLike", ["c"], ["z"], name="draw")], [], [vi("z")], inits=[c])
    for version in ("8.6", "10.3"):
        assert [f.reason for f in trt_check(m, version)] == ["input 0 ('c') must not be a constant"]
    assert trt_check(m, "10") == []


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
    # 8.6 has no BF16 at all (and lists FP32, FP16 for LayerNormalization); 10 takes it
    ln = helper.make_node("LayerNormalization", ["x", "s"], ["y"], name="ln")
    m = graph([ln], [vi("x", TensorProto.BFLOAT16), vi("s", TensorProto.BFLOAT16, (4,))],
              [vi("y", TensorProto.BFLOAT16)])
    assert {f.node for f in trt_check(m, "8.6")} == {"ln"}
    assert trt_check(m, "10") == []


@pytest.mark.parametrize("kw", [{"noise": "graph", "fp16": True}, {"noise": "input"}])
def test_exported_function_bodies_are_clean(tiny_run, tmp_path, kw):
    import onnx

    from snndeploy.export.exporter import ExportConfig, export

    model = onnx.load(export(tiny_run.path, ExportConfig(T=(2,), out=str(tmp_path), **kw))[0].path)
    assert model.functions
    assert trt_check(model, "10") == []
    assert {f.reason for f in trt_check(model, "8.6")} == {"local functions need TensorRT >= 9; export with --inline"}


# -- Q/DQ: the type column is about x; scale and zero point follow TensorRT's own rules --------------------------
def qdq_graph(zero=np.int8(0), scale=0.05, w_zero=np.zeros(4, np.int8), w_scale=np.full(4, 0.1, np.float32),
              opset=17):
    """images -> Q -> DQ -> Conv with per-channel DQ'd INT8 weights (``w_zero``/``w_scale``; None: no zero point),
    the activation quantized per tensor with ``scale`` and zero point ``zero`` (None: no zero point)."""
    inits = [numpy_helper.from_array(np.ones((4, 1, 3, 3), np.int8), "w_q"),
             numpy_helper.from_array(np.asarray(scale, np.float32), "s"),
             numpy_helper.from_array(np.asarray(w_scale, np.float32), "w_s")]
    q_in, w_in = ["x", "s"], ["w_q", "w_s"]
    if zero is not None:
        inits.append(numpy_helper.from_array(np.asarray(zero), "z"))
        q_in.append("z")
    if w_zero is not None:
        inits.append(numpy_helper.from_array(np.asarray(w_zero), "w_z"))
        w_in.append("w_z")
    nodes = [helper.make_node("QuantizeLinear", q_in, ["xq"], name="q"),
             helper.make_node("DequantizeLinear", ["xq", *q_in[1:]], ["xd"], name="dq"),
             helper.make_node("DequantizeLinear", w_in, ["w"], name="w_dq", axis=0),
             helper.make_node("Conv", ["xd", "w"], ["y"], name="conv", pads=[1, 1, 1, 1])]
    return graph(nodes, [vi("x", shape=(1, 1, 8, 8))], [vi("y", shape=(1, 4, 8, 8))], inits=inits, opset=opset)


@pytest.mark.parametrize("version", ["8.5", "8.6", "10.3", "10", "11"])
def test_valid_qdq_graph_has_no_findings(version):
    # INT8 zero points and FLOAT scales are what Q/DQ take; only x is held to the type column
    assert trt_check(qdq_graph(), version) == []


@pytest.mark.parametrize("zero,why", [(np.int8(3), "'z' is not all zeros"),
                                      (np.uint8(0), "zero point 'z' is UINT8; TensorRT 10 takes FP4, FP8, INT4, INT8")])
def test_qdq_zero_points_trt_rejects(zero, why):
    found = trt_check(qdq_graph(zero=zero), "10")
    assert ("q", "QuantizeLinear") in {(f.node, f.op_type) for f in found}
    assert any(why in f.reason for f in found), found


def test_qdq_scales_trt_rejects():
    found = trt_check(qdq_graph(scale=-0.05), "10")  # Q and DQ share the scale
    assert [(f.node, f.reason) for f in found] == [(n, "scale 's' must be positive throughout") for n in ("q", "dq")]
    # one scale per channel, or (10.x) blocked along one axis: a [4, 1, 1, 1] scale for [4, 1, 3, 3] weights
    w_zero, w_scale = np.zeros((4, 1, 1, 1), np.int8), np.full((4, 1, 1, 1), 0.1, np.float32)
    assert [f.node for f in trt_check(qdq_graph(w_zero=w_zero, w_scale=w_scale), "8.6")] == ["w_dq"]
    assert trt_check(qdq_graph(w_zero=w_zero, w_scale=w_scale), "10") == []  # blocked scales from 10.x on


def test_qdq_zero_point_needed_before_ten():
    found = trt_check(qdq_graph(w_zero=None), "8.6")
    assert [(f.node, f.reason) for f in found] == [("w_dq", "TensorRT 8.6 needs a zero point (input 2)")]
    assert trt_check(qdq_graph(w_zero=None), "10") == []


@pytest.mark.skipif(importlib.util.find_spec("modelopt") is None, reason="needs NVIDIA ModelOpt (snndeploy[int8])")
@pytest.mark.slow
def test_quantize_output_checks_clean(tiny_run, tmp_path):
    import onnx

    assert invoke("export", tiny_run.path.parent, "--inline", "--T", 2, "-o", tmp_path).exit_code == 0
    r = invoke("quantize", tmp_path / "small-cnn_T2_inline.onnx", "--calib", 32)
    assert r.exit_code == 0, r.output
    int8 = tmp_path / "small-cnn_T2_int8_inline.onnx"
    model = onnx.load(int8)
    assert sum(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in model.graph.node) > 0
    for version in ("10.3", "10", "11"):
        assert trt_check(model, version) == []
    r = invoke("check", int8)
    assert r.exit_code == 0, r.output
    assert "precision=int8" in r.output and "no unsupported nodes found" in r.output


# -- any ONNX file: the graph checks always, the metadata checks where metadata is present -----------------------
def test_plain_onnx_without_metadata(tmp_path):
    import onnx

    w = numpy_helper.from_array(np.ones((4, 1, 3, 3), np.float32), "w")
    conv = graph([helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
                  helper.make_node("Relu", ["c"], ["y"], name="relu")],
                 [vi("x", shape=(1, 1, 8, 8))], [vi("y", shape=(1, 4, 8, 8))], inits=[w])
    onnx.save(conv, tmp_path / "conv.onnx")
    r = invoke("check", tmp_path / "conv.onnx")
    assert r.exit_code == 0, r.output
    assert "note: no snndeploy metadata" in r.output and "no unsupported nodes found" in r.output
    det = graph([helper.make_node("Det", ["x"], ["y"], name="det")], [vi("x", shape=(2, 3, 3))],
                [vi("y", shape=(2,))])
    onnx.save(det, tmp_path / "det.onnx")
    r = invoke("check", tmp_path / "det.onnx", "--trt", "10")
    assert r.exit_code == 1, r.output
    assert "note: no snndeploy metadata" in r.output and "not supported by TensorRT 10's ONNX parser" in r.output
    assert "Traceback" not in r.output


def test_broken_file_fails_the_onnx_checker_in_one_whole_line(tmp_path):
    """The checker's message runs over several lines; `check` shows all of it on one, and does not assume the file
    came from `snndeploy export`."""
    import onnx

    broken = graph([helper.make_node("Relu", ["nope"], ["y"])], [vi("x")], [vi("y")])
    onnx.save(broken, tmp_path / "broken.onnx")
    r = invoke("check", tmp_path / "broken.onnx")
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.exit_code == 2 and len(lines) == 1, r.output
    assert lines[0].startswith("error: ONNX checker: Nodes in a graph must be topologically sorted"), lines[0]
    assert "input 'nope'" in lines[0] and lines[0].endswith("is not output of any previous nodes."), lines[0]
    assert "exported" not in lines[0]


@pytest.mark.parametrize("message, shown", [
    ("Nodes must be sorted, however input 'a' of node: \nname:  OpType: Relu\n is not output of any node.",
     "ONNX checker: Nodes must be sorted, however input 'a' of node: name: OpType: Relu; is not output of any node."),
    ("Bad input size.\n\n==> Context: Bad node spec for node. Name: n OpType: Add",
     "ONNX checker: Bad input size. Context: Bad node spec for node. Name: n OpType: Add"),
    ("first\nsecond\n\tthird", "ONNX checker: first; second; third"),
    ("x" * 400, "ONNX checker: " + "x" * 297 + "..."),
    ("", "ONNX checker: ValidationError"),
])
def test_checker_messages_are_joined_and_cut(monkeypatch, message, shown):
    import onnx

    from snndeploy.engine.check import validate

    def fail(*args, **kwargs):
        raise onnx.checker.ValidationError(message)

    monkeypatch.setattr(onnx.checker, "check_model", fail)
    with pytest.raises(SnnDeployError) as err:
        validate(graph([helper.make_node("Relu", ["x"], ["y"])], [vi("x")], [vi("y")]))
    assert str(err.value) == shown


# -- what TensorRT parses but would not run as written: random ops frozen at build time, DLA without static shapes --
def test_random_ops_tensorrt_freezes_are_findings(tmp_path):
    from snndeploy.engine.check import frozen_random

    u = helper.make_node("RandomUniform", [], ["u"], name="draw", dtype=TensorProto.FLOAT, shape=[1, 4])
    m = graph([u, helper.make_node("Add", ["x", "u"], ["y"], name="add")], [vi("x")], [vi("y")])
    (f,) = frozen_random(m, "10")
    assert (f.node, f.op_type) == ("draw", "RandomUniform") and "fixes its values when it builds the engine" in f.reason
    assert trt_check(m, "10") == []  # the parser takes it: only the frozen-random check tells
    assert frozen_random(graph([helper.make_node("Relu", ["x"], ["y"])], [vi("x")], [vi("y")]), "10") == []
    normal = graph([helper.make_node("RandomNormalLike", ["x"], ["y"], name="n")], [vi("x")], [vi("y")])
    assert [f.op_type for f in frozen_random(normal, "8.5")] == ["RandomNormalLike"]


def test_check_reports_the_frozen_noise_of_a_graph_noise_export(tiny_run, tmp_path):
    out = tmp_path / "ex"
    assert invoke("export", tiny_run.path.parent, "--T", 2, "--noise", "graph", "-o", out).exit_code == 0
    (path,) = out.glob("*.onnx")
    r = invoke("check", path, "--trt", "10")
    assert r.exit_code == 1, r.output
    assert "NoiseWindow" in r.output and "RandomUniform" in r.output and "same draws" in r.output


def test_check_dla_needs_static_shapes_and_low_precision(tiny_run, tmp_path):
    out = tmp_path / "ex"
    assert invoke("export", tiny_run.path.parent, "--T", 2, "--fp16", "-o", out).exit_code == 0
    assert invoke("export", tiny_run.path.parent, "--T", 2, "--fp16", "--batch", 4, "-o", out).exit_code == 0
    assert invoke("export", tiny_run.path.parent, "--T", 2, "--batch", 4, "-o", out).exit_code == 0
    dynamic, fixed = out / "small-cnn_T2_fp16.onnx", out / "small-cnn_T2_fp16_batch4.onnx"
    assert invoke("check", dynamic).exit_code == 0  # fine for the GPU
    r = invoke("check", dynamic, "--dla")
    assert r.exit_code == 1 and "DLA needs static shapes" in r.output and "images" in r.output, r.output
    r = invoke("check", fixed, "--dla")
    assert r.exit_code == 0 and "DLA: static shapes and precision ok" in r.output, r.output
    r = invoke("check", out / "small-cnn_T2_batch4.onnx", "--dla")
    assert r.exit_code == 1 and "DLA runs fp16 and int8 networks only" in r.output, r.output
