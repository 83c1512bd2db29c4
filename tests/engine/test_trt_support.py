"""The TensorRT support tables as data: trt_support.yaml's base version and deltas expand into full per-version
tables that agree with the documentation notes beside them, and a damaged file is a one-line TableError."""

import copy
from importlib import resources

import pytest
import yaml

from snndeploy.core.errors import SnnDeployError
from snndeploy.engine import trt_support as trt
from snndeploy.engine.trt_support import TableError, expand

SET_FIELDS = ("ops", "documented_unsupported", "graph_dtypes")
MAP_FIELDS = ("op_dtypes", "constant_inputs", "tensor_inputs", "ignored_attributes", "ignored_inputs", "rank_limits")


@pytest.fixture()
def doc():
    """The packaged trt_support.yaml, parsed (a fresh copy per test, to damage)."""
    return yaml.safe_load(resources.files("snndeploy.engine").joinpath(trt.DATA_FILE).read_text(encoding="utf-8"))


def test_every_version_has_a_full_table_in_order():
    assert trt.TRT_VERSIONS == ("8.5", "8.6", "10.3", "10", "11")
    assert all(isinstance(t, trt.Table) for t in trt.TABLES.values())
    for v in trt.TRT_VERSIONS:  # the per-field dicts check.py reads are the tables' fields
        assert trt.SUPPORTED_OPS[v] is trt.TABLES[v].ops and trt.RANK_LIMITS[v] is trt.TABLES[v].rank_limits
        assert trt.IGNORED_ATTRIBUTES[v] == trt.TABLES[v].ignored_attributes  # every version, empty where none
    assert trt.ONNX_TO_DOC_DTYPE["FLOAT"] == "FP32" and trt.ONNX_TO_DOC_DTYPE["STRING"] is None


def test_each_delta_states_exactly_the_difference_from_its_base(doc):
    """Recomputed from the expanded tables: what each later version adds, removes and changes is what its delta
    says, nothing more (no entry that changes nothing, no difference the delta does not state)."""
    versions = doc["versions"]
    for v, raw in list(versions.items())[1:]:
        new, old = trt.TABLES[v], trt.TABLES[raw["from"]]
        for field in SET_FIELDS:
            a, b = getattr(new, field), getattr(old, field)
            delta = raw.get(field, {})
            assert (sorted(a - b), sorted(b - a)) == (sorted(delta.get("add", [])), sorted(delta.get("remove", []))), \
                (v, field)
        for field in MAP_FIELDS:
            a, b = getattr(new, field), getattr(old, field)
            delta = raw.get(field, {})
            assert sorted(set(a) - set(b)) == sorted(delta.get("add", {})), (v, field)
            assert sorted(set(b) - set(a)) == sorted(delta.get("remove", [])), (v, field)
            assert sorted(k for k in set(a) & set(b) if a[k] != b[k]) == sorted(delta.get("change", {})), (v, field)
        for field in ("int64_cast_to_int32", "min_opset", "max_opset", "local_functions", "qdq_zero_point_required",
                      "qdq_blocked_scales", "max_rank"):
            assert (getattr(new, field) != getattr(old, field)) == (field in raw), (v, field)


def test_tables_are_self_consistent():
    for v, t in trt.TABLES.items():
        assert not t.ops & t.documented_unsupported, v
        for field in MAP_FIELDS:
            assert set(getattr(t, field)) <= t.ops, (v, field)
        assert t.min_opset <= t.max_opset and all(lo <= hi <= t.max_rank for lo, hi in t.rank_limits.values())
        assert all(types and "DOUBLE" not in types for types in t.op_dtypes.values()), v


def test_operators_each_version_adds():
    # [CL] 8.6 EA: GroupNormalization, LayerNormalization, IsInf; 8.5 marks two of them "N", the third not at all
    assert {"IsInf", "LayerNormalization"} <= trt.DOCUMENTED_UNSUPPORTED["8.5"]
    assert "GroupNormalization" not in trt.SUPPORTED_OPS["8.5"] | trt.DOCUMENTED_UNSUPPORTED["8.5"]
    assert all(trt.is_supported(op, "8.6.1") for op in ("GroupNormalization", "IsInf", "LayerNormalization"))
    # [CL] 10.4/10.5: the window ops and STFT, "N" in the 10.1 table; 10.14/10.15 ops not in it at all
    assert "STFT" in trt.DOCUMENTED_UNSUPPORTED["10.3"] and trt.is_supported("STFT", "10.15")
    assert "Attention" not in trt.SUPPORTED_OPS["10.3"] | trt.DOCUMENTED_UNSUPPORTED["10.3"]
    assert trt.is_supported("Attention", "10") and trt.rank_limits("Attention", "10") == (4, 4)
    # [REL-11]: Swish (v11.0) and DFT (v11.2, "N" in the 10.15 table)
    assert "DFT" in trt.DOCUMENTED_UNSUPPORTED["10"] and not trt.is_supported("Swish", "10")
    assert trt.is_supported("DFT", "11.2") and trt.is_supported("Swish", "11") and trt.op_dtypes("Swish", "11") is None


def test_data_types_per_version():
    assert trt.op_dtypes("Cast", "8.5") == {"FP32", "FP16", "INT8", "INT32", "BOOL"}
    assert "UINT8" in trt.op_dtypes("Cast", "8.6") and trt.op_dtypes("ArgMax", "8.6") == {"FP32", "FP16", "INT32"}
    assert trt.op_dtypes("ConstantOfShape", "8.6") == {"FP32"}
    assert trt.op_dtypes("Relu", "10.3") == {"FP32", "FP16", "BF16", "INT32", "INT64"}  # 10.x: BF16, no INT8
    assert trt.op_dtypes("DequantizeLinear", "10.3") == {"INT8", "FP8", "INT4"}
    assert "FP4" in trt.op_dtypes("DequantizeLinear", "10") and "FP4" in trt.GRAPH_DTYPES["10"]
    assert "FP4" not in trt.GRAPH_DTYPES["10.3"] and "BF16" not in trt.GRAPH_DTYPES["8.6"]
    assert trt.OP_DTYPES["11"] == trt.OP_DTYPES["10"]  # ASSUMED as 10
    # [CL] 9.0: INT64 is no longer cast down to INT32
    assert [trt.INT64_CAST_TO_INT32[v] for v in trt.TRT_VERSIONS] == [True, True, False, False, False]


def test_rules_each_version_changes():
    assert trt.constant_inputs("TopK", "8.5") == (1,) and trt.constant_inputs("TopK", "8.6") == ()
    assert trt.rank_limits("InstanceNormalization", "8.5") == (3, 5) and trt.rank_limits("InstanceNormalization",
                                                                                         "8.6") is None
    # [CL] 10.3: tensor axes for Slice; 10.4: for Pad
    assert trt.constant_inputs("Slice", "8.6") == (3,) and trt.constant_inputs("Slice", "10.3") == ()
    assert trt.constant_inputs("Pad", "10.3") == (3,) and trt.constant_inputs("Pad", "10") == ()
    assert trt.constant_inputs("STFT", "10") == (1, 2)
    # [SRC]: what the 8.x importers read past, which 10.x reads
    assert trt.ignored_attributes("Shape", "8.6") == {"start": 0, "end": None}
    assert trt.ignored_attributes("Shape", "10.3") == {} and trt.ignored_inputs("ReduceMax", "10") == ()
    assert trt.ignored_inputs("ReduceMax", "8.5") == (1,) and trt.ignored_inputs("ReduceSum", "8.5") == ()
    # [CL] 10.11: Random*Like inputs may be constants
    assert trt.tensor_inputs("RandomNormalLike", "10.3") == (0,) and trt.tensor_inputs("RandomNormalLike", "10") == ()
    assert trt.rank_limits("GridSample", "10") == (4, 4) and trt.rank_limits("GridSample", "11") == (4, 5)
    assert [(trt.MIN_OPSET[v], trt.MAX_OPSET[v]) for v in trt.TRT_VERSIONS] == [(7, 17), (7, 17), (9, 20), (9, 24),
                                                                                (9, 25)]
    assert [trt.LOCAL_FUNCTIONS[v] for v in trt.TRT_VERSIONS] == [False, False, True, True, True]
    assert [trt.QDQ_ZERO_POINT_REQUIRED[v] for v in trt.TRT_VERSIONS] == [True, True, False, False, False]
    assert set(trt.MAX_RANK.values()) == {8}


def damage(doc, version, field, value):
    out = copy.deepcopy(doc)
    if value is None:
        del out["versions"][version][field]
    else:
        out["versions"][version][field] = value
    return out


@pytest.mark.parametrize("version, field, value, message", [
    ("8.6", "ops", {"remove": ["Swish"]}, "version '8.6', ops: removes Swish, which 8.5 lacks"),
    ("8.6", "ops", {"add": ["Relu"]}, "version '8.6', ops: adds Relu, which 8.5 already has"),
    ("11", "rank_limits", {"change": {"GridSample": [4, 4]}},
     "version '11', rank_limits: changes GridSample to the value 10 already has"),
    ("11", "rank_limits", {"change": {"Swish": [4, 4]}}, "version '11', rank_limits: changes Swish, which 10 lacks"),
    ("10", "tensor_inputs", {"remove": ["Relu"]}, "version '10', tensor_inputs: removes Relu, which 10.3 lacks"),
    ("10", "constant_inputs", {"add": {"CumSum": [1]}}, "constant_inputs: adds CumSum, which 10.3 already has"),
    ("10", "max_opset", 20, "version '10', max_opset: sets 20, which 10.3 already has"),
    ("10", "max_opset", "24", "version '10', max_opset: expected a positive integer, got '24'"),
    ("8.5", "local_functions", None, "version '8.5': the first version is a full table, without 'from': it needs "
                                     "every field (missing: local_functions)"),
    ("8.5", "op_dtypes", {"Relu": ["FP32", "FLOAT"]}, "version '8.5', op_dtypes: Relu: unknown data type(s) FLOAT"),
    ("8.5", "op_dtypes", {"Relu": ["FP32", "DOUBLE"]}, "unknown data type(s) DOUBLE"),
    ("8.5", "rank_limits", {"MaxPool": [5, 4]}, "MaxPool: expected [min rank, max rank] with 0 <= min <= max"),
    ("8.5", "rank_limits", {"MaxPool": [4, 9]}, "version '8.5': rank_limits: MaxPool above max_rank 8"),
    ("8.6", "op_dtypes", {"add": {"Swish": ["FP32"]}}, "version '8.6': op_dtypes: Swish not among the supported ops"),
    ("8.6", "ops", {"add": ["Bernoulli"]}, "Bernoulli both supported and documented as unsupported"),
    ("8.6", "opset", 17, "version '8.6': unknown field(s) opset"),
    ("8.6", "ops", {"plus": ["Swish"]}, "version '8.6', ops: expected {add: [...], remove: [...]}, got keys 'plus'"),
    ("8.6", "ops", ["Swish"], "version '8.6', ops: expected {add: [...], remove: [...]}, got ['Swish']"),
    ("8.6", "from", "10", "version '8.6': 'from' must name an earlier version ('8.5'), got '10'"),
    ("10", "from", ["8.6"], "version '10': 'from' must name an earlier version ('8.5', '8.6', '10.3'), got ['8.6']"),
    ("10", "ops", {}, "version '10', ops: expected {add: [...], remove: [...]}, got none"),
    ("10", "op_dtypes", {"add": {"Swish": "FP32"}}, "version '10', op_dtypes: Swish: expected a list of names"),
])
def test_a_damaged_table_is_one_clear_error(doc, version, field, value, message):
    with pytest.raises(TableError) as info:
        expand(damage(doc, version, field, value))
    text = str(info.value)
    assert text.startswith(f"{trt.DATA_FILE}: ") and message in text and "\n" not in text, text


def test_a_delta_inherits_what_it_leaves_out(doc):
    tables, _ = expand(damage(doc, "10", "max_opset", None))
    assert tables["10"].max_opset == tables["10.3"].max_opset == 20 and tables["11"].max_opset == 25


def test_structural_damage_and_bad_yaml(doc):
    unquoted = copy.deepcopy(doc)
    unquoted["versions"] = {8.5 if k == "8.5" else k: v for k, v in doc["versions"].items()}
    with pytest.raises(TableError, match=r"version 8\.5: version keys must be quoted strings"):
        expand(unquoted)
    with pytest.raises(TableError, match="needs both onnx_to_doc_dtype and versions"):
        expand({"versions": doc["versions"]})
    with pytest.raises(TableError, match=r"onnx_to_doc_dtype: 'FLOAT': 'F32' is not one of"):
        expand({**doc, "onnx_to_doc_dtype": {"FLOAT": "F32"}})
    with pytest.raises(TableError, match=r"^trt_support\.yaml: not valid YAML: "):
        trt.load("versions: {8.5: [")
    assert issubclass(TableError, SnnDeployError)  # the CLI shows it as one `error:` line
