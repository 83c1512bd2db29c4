"""The artifact facts record: round trip, strict reading, versions, and the one reader behind all three files."""

import dataclasses
import json
import math
import re

import onnx
import pytest
from conftest import make_checkpoint

from snndeploy.artifacts import metadata as onnx_meta
from snndeploy.artifacts import sidecar
from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import VERSION, ArtifactFacts
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.training import checkpoint as ckpt

SPEC = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.1307,), (0.3081,))
CKPT = ArtifactFacts(model="small-cnn", data=SPEC, neuron=NeuronConfig(), training=TrainConfig(epochs=2),
                     weights_sha256="ab" * 32)
GRAPH = dataclasses.replace(CKPT, neuron=NeuronConfig(alpha=math.inf, beta=0.4), T=5, stage=3, noise="input",
                            noise_inputs={"noise.0.0": (32, 28, 28)}, precision="fp16", batch=4, opset=17,
                            inline=True)


def through_json(facts):
    return json.loads(json.dumps(facts.to_dict(), allow_nan=False))


@pytest.mark.parametrize("facts", [CKPT, GRAPH], ids=["checkpoint", "graph"])
def test_round_trip(facts):
    d = through_json(facts)
    assert d["version"] == VERSION == facts.version
    assert ArtifactFacts.from_dict(d) == facts


def test_alpha_inf_and_shapes_are_json_safe():
    d = through_json(GRAPH)
    assert d["neuron"]["alpha"] == "inf" and d["noise_inputs"] == {"noise.0.0": [32, 28, 28]} and d["batch"] == 4
    assert ArtifactFacts.from_dict(d).neuron.alpha == math.inf


def test_checkpoint_record_has_no_T():
    assert CKPT.is_checkpoint and not GRAPH.is_checkpoint
    with pytest.raises(SnnDeployError, match="set together or not at all"):
        dataclasses.replace(CKPT, T=5)
    with pytest.raises(SnnDeployError, match="T must be >= 1, got 0"):
        dataclasses.replace(GRAPH, T=0)
    with pytest.raises(SnnDeployError, match="only a --noise input graph has noise inputs"):
        dataclasses.replace(GRAPH, noise="frozen")


def test_unknown_and_missing_keys():
    d = through_json(GRAPH)
    with pytest.raises(SnnDeployError, match="^x.onnx: artifact facts have unknown key\\(s\\): alpha$"):
        ArtifactFacts.from_dict({**d, "alpha": 4.0}, "x.onnx")
    del d["batch"]
    with pytest.raises(SnnDeployError, match="lack key\\(s\\): batch"):
        ArtifactFacts.from_dict(d)
    with pytest.raises(SnnDeployError, match="must be a mapping"):
        ArtifactFacts.from_dict(["not", "a", "dict"])


BAD = [
    ("T", "5", "^T must be an integer, got '5'$"),
    ("T", True, "^T must be an integer, got True$"),
    ("T", 0, "^T must be >= 1, got 0$"),
    ("T", -3, "^T must be >= 1"),
    ("T", 5.0, "^T must be an integer, got 5.0$"),
    ("T", 2**40, "^T must be <= 2147483647"),
    ("T", {"steps": 5}, "^T must be an integer, got {'steps': 5}$"),
    ("stage", 4, "^stage must be one of 1, 2, 3, got 4$"),
    ("stage", "3", "^stage must be one of 1, 2, 3, got '3'$"),
    ("stage", True, "^stage must be one of 1, 2, 3, got True$"),
    ("stage", [3], "^stage must be one of 1, 2, 3, got \\[3\\]$"),
    ("noise", "random", "^noise must be one of graph, input, frozen, got 'random'$"),
    ("noise", ["input"], "^noise must be one of graph, input, frozen, got \\['input'\\]$"),
    ("batch", "4", "^batch must be 'dynamic' or an integer >= 1, got '4'$"),
    ("batch", 2.5, "^batch must be 'dynamic' or an integer >= 1, got 2.5$"),
    ("batch", 0, "^batch must be 'dynamic' or an integer >= 1, got 0$"),
    ("batch", True, "^batch must be 'dynamic' or an integer >= 1, got True$"),
    ("batch", ["dynamic"], "^batch must be 'dynamic' or an integer >= 1"),
    ("max_batch", 0, "^max_batch must be >= 1, got 0$"),
    ("max_batch", "64", "^max_batch must be an integer, got '64'$"),
    ("precision", "fp64", "^precision must be one of fp32, fp16, int8, got 'fp64'$"),
    ("precision", {"fp32": 1}, "^precision must be one of fp32, fp16, int8"),
    ("inline", "yes", "^inline must be true or false, got 'yes'$"),
    ("inline", 1, "^inline must be true or false, got 1$"),
    ("opset", 17.0, "^opset must be an integer, got 17.0$"),
    ("opset", True, "^opset must be an integer, got True$"),
    ("opset", 0, "^opset must be >= 1, got 0$"),
    ("seed", True, "^seed must be an integer, got True$"),
    ("seed", 1.5, "^seed must be an integer, got 1.5$"),
    ("seed", 2**64, "^seed must be <= 9223372036854775807"),
    ("seed", "0", "^seed must be an integer, got '0'$"),
    ("model", 5, "^model must be a string, got 5$"),
    ("model", ["small-cnn"], "^model must be a string, got \\['small-cnn'\\]$"),
    ("model", "", "^model must be a non-empty string"),
    ("model", "small\ncnn", "^model must be a string without newlines or control characters, got 'small\\\\ncnn'$"),
    ("weights_sha256", "abc", "^weights_sha256 must be 64 lowercase hex digits or null, got 'abc'$"),
    ("weights_sha256", "AB" * 32, "^weights_sha256 must be 64 lowercase hex digits"),
    ("weights_sha256", 5, "^weights_sha256 must be 64 lowercase hex digits or null, got 5$"),
    ("noise_inputs", {"n": ["a", 2]}, "^noise_inputs\\['n'\\]\\[0\\] must be an integer, got 'a'$"),
    ("noise_inputs", {"n": [0, 2]}, "^noise_inputs\\['n'\\]\\[0\\] must be >= 1, got 0$"),
    ("noise_inputs", {"n": {"a": 1}}, "^noise_inputs\\['n'\\] must be a list"),
    ("noise_inputs", {"": [1]}, "^noise_inputs name must be a non-empty string"),
    ("noise_inputs", ["n"], "^noise_inputs must be a mapping, got list$"),
    ("data", {"name": "x"}, "^data spec is missing keys: channels, height"),
    ("data", ["sample"], "^data spec must be a mapping, got list$"),
    ("neuron", {"lam": "x"}, "^neuron.lam must be a number, got 'x'$"),
    ("neuron", {"beta": "x"}, "^neuron.beta must be a number, got 'x'$"),
    ("neuron", {"leak": 1}, "^unknown neuron option\\(s\\): leak$"),
    ("neuron", 0.5, "^neuron options must be a mapping, got float$"),
    ("training", {"epochs": "many"}, "option 'epochs' must be int"),
    ("training", {"learning_rate": 1}, "unknown training option"),
    ("training", [1], "training options must be a mapping"),
    ("version", 1, "^artifact facts have version 1; this snndeploy reads version 2$"),
    ("version", True, "^artifact facts have version True"),
    ("version", 2.0, "^artifact facts have version 2.0"),
    ("version", [2], "^artifact facts have version \\[2\\]"),
]


@pytest.mark.parametrize("key,value,message", BAD, ids=[f"{k}={v!r}"[:40] for k, v, _ in BAD])
def test_bad_types_are_one_line_errors(key, value, message):
    with pytest.raises(SnnDeployError) as err:
        ArtifactFacts.from_dict({**through_json(GRAPH), key: value}, "m.onnx")
    text = str(err.value)
    assert text.startswith("m.onnx: ") and "\n" not in text
    assert re.search(message, text.removeprefix("m.onnx: ")), text


DATA = SPEC.to_dict()
NEURON = GRAPH.neuron.to_dict()
BAD_FIELDS = [  # (part, key, value, message): one field of the data spec or the neuron set to a bad value
    ("data", "std", [float("nan")], "^data.std\\[0\\] must be a finite number, got nan$"),
    ("data", "std", [float("inf")], "^data.std\\[0\\] must be a finite number, got inf$"),
    ("data", "std", [0.0], "^data.std\\[0\\] must be > 0, got 0.0$"),
    ("data", "std", [-0.3], "^data.std\\[0\\] must be > 0, got -0.3$"),
    ("data", "std", ["0.3"], "^data.std\\[0\\] must be a number, got '0.3'$"),
    ("data", "std", 0.3, "^data.std must be a list, got 0.3$"),
    ("data", "mean", [float("nan")], "^data.mean\\[0\\] must be a finite number, got nan$"),
    ("data", "mean", [float("-inf")], "^data.mean\\[0\\] must be a finite number, got -inf$"),
    ("data", "mean", [10**400], "^data.mean\\[0\\] must be a finite number"),
    ("data", "mean", [0.1, 0.2], "^data spec is inconsistent: 2 mean value\\(s\\) for 1 channel\\(s\\)$"),
    ("data", "mean", [[0.1]], "^data.mean\\[0\\] must be a number, got \\[0.1\\]$"),
    ("data", "channels", 0, "^data.channels must be >= 1, got 0$"),
    ("data", "channels", 1.0, "^data.channels must be an integer, got 1.0$"),
    ("data", "channels", True, "^data.channels must be an integer, got True$"),
    ("data", "height", -28, "^data.height must be >= 1, got -28$"),
    ("data", "width", "28", "^data.width must be an integer, got '28'$"),
    ("data", "width", 10**30, "^data.width must be <= 4096, got 1000000000000000000000000000000$"),
    ("data", "height", {"px": 28}, "^data.height must be an integer, got {'px': 28}$"),
    ("data", "class_names", ["0", "1\n2"], "^data.class_names\\[1\\] must be a string without newlines or control "
                                           "characters, got '1\\\\n2'$"),
    ("data", "class_names", ["0", "a\tb"], "^data.class_names\\[1\\] must be a string without newlines"),
    ("data", "class_names", ["0", "a\u2028b"], "^data.class_names\\[1\\] must be a string without newlines"),
    ("data", "class_names", ["0", ""], "^data.class_names\\[1\\] must be a non-empty string, got ''$"),
    ("data", "class_names", ["0", ["1"]], "^data.class_names\\[1\\] must be a string, got \\['1'\\]$"),
    ("data", "class_names", ["0", 1], "^data.class_names\\[1\\] must be a string, got 1$"),
    ("data", "class_names", ["cat", "dog", "cat"], "^data.class_names must be unique, got 'cat' twice$"),
    ("data", "class_names", [], "^data.class_names must name at least one class, got \\[\\]$"),
    ("data", "class_names", "0123", "^data.class_names must be a list, got '0123'$"),
    ("data", "name", ["sample"], "^data.name must be a string, got \\['sample'\\]$"),
    ("data", "name", "", "^data.name must be a non-empty string"),
    ("neuron", "v_th", float("inf"), "^neuron.v_th must be a finite number, got inf$"),
    ("neuron", "v_th", "Infinity", "^neuron.v_th must be a number, got 'Infinity'$"),
    ("neuron", "v_th", -1.0, "^neuron.v_th must be > 0, got -1.0$"),
    ("neuron", "v_th", 0, "^neuron.v_th must be > 0, got 0$"),
    ("neuron", "v_th", float("nan"), "^neuron.v_th must be a finite number, got nan$"),
    ("neuron", "v_th", [1.0], "^neuron.v_th must be a number, got \\[1.0\\]$"),
    ("neuron", "lam", float("nan"), "^neuron.lam must be a finite number, got nan$"),
    ("neuron", "lam", 1.5, "^lam \\(decay\\) must be in \\[0, 1\\], got 1.5$"),
    ("neuron", "v_reset", float("nan"), "^neuron.v_reset must be a finite number, got nan$"),
    ("neuron", "surrogate_a", 0.0, "^neuron.surrogate_a must be > 0, got 0.0$"),
    ("neuron", "eps", float("inf"), "^neuron.eps must be a finite number, got inf$"),
    ("neuron", "eps", 0, "^neuron.eps must be > 0, got 0$"),
    ("neuron", "noise_lo", float("-inf"), "^neuron.noise_lo must be a finite number, got -inf$"),
    ("neuron", "noise_hi", float("nan"), "^neuron.noise_hi must be a finite number, got nan$"),
    ("neuron", "noise_hi", -1.0, "^noise range must have hi > lo, got \\[0.0, -1.0\\]$"),
    ("neuron", "alpha", float("nan"), "^neuron.alpha must be a number or inf \\(not NaN or -inf\\), got nan$"),
    ("neuron", "alpha", float("-inf"), "^neuron.alpha must be a number or inf \\(not NaN or -inf\\), got -inf$"),
    ("neuron", "alpha", "nan", "^neuron.alpha must be a number or 'inf', got 'nan'$"),
    ("neuron", "alpha", "4", "^neuron.alpha must be a number or 'inf', got '4'$"),
    ("neuron", "alpha", 1.0, "^alpha must be >= 2/\\(hi-lo\\) = 2"),
    ("neuron", "alpha", {"value": 4}, "^neuron.alpha must be a number, got {'value': 4}$"),
    ("neuron", "beta", float("inf"), "^neuron.beta must be a finite number, got inf$"),
    ("neuron", "noise", ["gaussian"], "^unknown noise type \\['gaussian'\\]; choose one of: gaussian, uniform$"),
    ("neuron", "noise", "pink", "^unknown noise type 'pink'"),
]


@pytest.mark.parametrize("part,key,value,message", BAD_FIELDS,
                         ids=[f"{p}.{k}={v!r}"[:40] for p, k, v, _ in BAD_FIELDS])
def test_bad_data_and_neuron_fields_are_one_line_errors(part, key, value, message):
    d = through_json(GRAPH)
    d[part] = {**d[part], key: value}
    with pytest.raises(SnnDeployError) as err:
        ArtifactFacts.from_dict(d, "model.json")
    text = str(err.value)
    assert text.startswith("model.json: ") and "\n" not in text
    assert re.search(message, text.removeprefix("model.json: ")), text


def test_records_built_in_code_get_the_same_checks():
    """The checks run on construction, so code cannot build what a file may not hold."""
    with pytest.raises(SnnDeployError, match="^data.std\\[0\\] must be a finite number, got nan$"):
        DataSpec("x", 1, 2, 2, ("a", "b"), (0.5,), (math.nan,))
    with pytest.raises(SnnDeployError, match="^data.class_names\\[1\\] must be a string without newlines"):
        DataSpec("x", 1, 2, 2, ("a", "b\nc"), (0.5,), (0.2,))
    with pytest.raises(SnnDeployError, match="^neuron.v_th must be a finite number, got inf$"):
        NeuronConfig(v_th=math.inf)
    with pytest.raises(SnnDeployError, match="^neuron.v_th must be > 0"):
        NeuronConfig(v_th=-1.0)
    with pytest.raises(SnnDeployError, match="^seed must be an integer, got True$"):
        dataclasses.replace(GRAPH, seed=True)


def test_valid_edge_values_are_kept():
    """What valid artifacts hold reads back unchanged: alpha = inf, a soft reset, lam 0 and 1, a negative seed
    (torch takes it), numpy numbers and lists turned into Python numbers and tuples."""
    import numpy as np

    neuron = NeuronConfig(lam=1.0, v_th=0.01, v_reset=None, alpha=math.inf, beta=-0.5)
    assert NeuronConfig.from_dict(neuron.to_dict()) == neuron
    assert NeuronConfig.from_dict({**neuron.to_dict(), "alpha": "Infinity"}) == neuron
    assert NeuronConfig(lam=0.0).lam == 0.0 and type(NeuronConfig(v_th=np.float32(2)).v_th) is float
    spec = DataSpec("x", np.int64(3), 4, 4, ["a", "b"], [0.5] * 3, tuple(np.full(3, 0.25)))
    assert spec.channels == 3 and type(spec.channels) is int and spec.std == (0.25,) * 3
    assert spec.class_names == ("a", "b") and hash(spec)
    facts = dataclasses.replace(GRAPH, seed=-5, batch=np.int64(4), max_batch=None)
    assert ArtifactFacts.from_dict(through_json(facts)) == facts and type(facts.batch) is int


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """A checkpoint folder, an ONNX file and an engine sidecar, all written by the current code."""
    root = tmp_path_factory.mktemp("facts")
    make_checkpoint(root / "ck", "small-cnn")
    (e,) = export(root / "ck", ExportConfig(T=(2,), noise="input", out=str(root / "onnx")))
    plan = root / "m.plan"
    plan.write_bytes(b"plan")
    facts = onnx_meta.load(e.path)[1]
    per_sample = {"images": [1, 28, 28], **{k: list(v) for k, v in facts.noise_inputs.items()}}
    shapes = {k: {"min": [1, *s], "opt": [1, *s], "max": [8, *s]} for k, s in per_sample.items()}
    sidecar.write(plan, facts, {"tensorrt": "10.3.0", "gpu": "Orin", "compute_capability": "8.7",
                                                   "shapes": shapes, "onnx_sha256": "0" * 64, "plan_sha256": "0" * 64})
    return {"checkpoint": root / "ck" / "model.json", "onnx": e.path, "engine": plan}


def read_json(kind, path):
    if kind == "checkpoint":
        return json.loads(path.read_text())
    if kind == "engine":
        return json.loads(sidecar.path_for(path).read_text())
    return json.loads({p.key: p.value for p in onnx.load(path).metadata_props}["snndeploy"])


def write_json(kind, path, obj):
    """Replace the JSON that holds the facts, in place."""
    if kind == "checkpoint":
        path.write_text(json.dumps(obj))
    elif kind == "engine":
        sidecar.path_for(path).write_text(json.dumps(obj))
    else:
        model = onnx.load(path)
        for p in model.metadata_props:
            if p.key == "snndeploy":
                p.value = json.dumps(obj)
        onnx.save(model, path)


def read_facts_of(kind, path):
    if kind == "checkpoint":
        return ckpt.read_meta(path)[1]
    if kind == "engine":
        return sidecar.read(path)[0]
    return onnx_meta.load(path)[1]


KINDS = ["checkpoint", "onnx", "engine"]


def test_same_record_in_all_three(artifacts):
    facts = {k: read_facts_of(k, artifacts[k]) for k in KINDS}
    assert facts["checkpoint"].is_checkpoint and facts["checkpoint"].T is None
    assert facts["onnx"] == facts["engine"] and facts["onnx"].T == 2 and facts["onnx"].noise == "input"
    assert facts["onnx"].weights_sha256 == facts["checkpoint"].weights_sha256 is not None
    inputs = {i.name: [d.dim_value for d in i.type.tensor_type.shape.dim[1:]] for i in
              onnx.load(artifacts["onnx"]).graph.input if i.name != "images"}
    assert {k: list(v) for k, v in facts["onnx"].noise_inputs.items()} == inputs and inputs  # per-sample shapes
    for k in KINDS:  # the record is embedded unchanged, under one key, in every file
        assert read_json(k, artifacts[k])["facts"] == facts[k].to_dict()


@pytest.mark.parametrize("kind", KINDS)
def test_one_reader_for_every_file(artifacts, tmp_path, kind):
    """Format, version and record errors read the same whatever file holds the record."""
    import shutil

    src = artifacts[kind]
    path = tmp_path / src.name
    shutil.copy(src, path)
    if kind == "engine":
        shutil.copy(sidecar.path_for(src), sidecar.path_for(path))
    if kind == "checkpoint":
        for tensors in src.parent.glob("*.safetensors"):  # the files the JSON names
            shutil.copy(tensors, tmp_path / tensors.name)
    good = read_json(kind, path)
    cases = [({**good, "version": VERSION + 1}, f"version {VERSION + 1} .*upgrade snndeploy"),
             ({**good, "version": "two"}, "unsupported snndeploy-.* version 'two'"),
             ({**good, "facts": {**good["facts"], "colour": 1}}, "unknown key\\(s\\): colour"),
             ({**good, "facts": {**good["facts"], "T": "5"}}, "T must be an integer, got '5'"),
             ({**good, "extra": 1}, "unknown key\\(s\\): extra"),
             ({k: v for k, v in good.items() if k != "facts"}, "lacks 'facts'"),
             ({**good, "format": "other"}, "is not an? snndeploy")]
    for obj, message in cases:
        write_json(kind, path, obj)
        with pytest.raises(SnnDeployError, match=message) as err:
            read_facts_of(kind, path)
        assert "\n" not in str(err.value)


def test_a_checkpoint_record_does_not_fit_a_graph(artifacts, tmp_path):
    model = onnx.load(artifacts["onnx"])
    onnx_meta.attach(model, read_facts_of("onnx", artifacts["onnx"]))
    obj = json.loads({p.key: p.value for p in model.metadata_props}["snndeploy"])
    obj["facts"] = read_facts_of("checkpoint", artifacts["checkpoint"]).to_dict()
    model.metadata_props[0].value = json.dumps(obj)
    with pytest.raises(SnnDeployError, match="holds a checkpoint's facts"):
        onnx_meta.read(model, "m.onnx")


V1_ONNX = {"format": "snndeploy-onnx", "version": 1, "model": "small-cnn", "T": 5, "stage": 3, "noise": "frozen",
           "precision": "fp32", "batch": "dynamic"}


def test_version_1_graph_is_refused_with_the_export_command(artifacts):
    model = onnx.load(artifacts["onnx"])
    model.metadata_props[0].value = json.dumps({**V1_ONNX, "data": SPEC.to_dict()})
    with pytest.raises(SnnDeployError, match="older snndeploy .*version 1.*`snndeploy export CHECKPOINT`"):
        onnx_meta.read(model, "old.onnx")


def test_version_1_sidecar_is_refused_with_the_build_command(artifacts, tmp_path):
    plan = tmp_path / "old.plan"
    plan.write_bytes(b"plan")
    v1 = {"format": "snndeploy-engine", "version": 1, "tensorrt": "10.3.0", "gpu": "Orin", "compute_capability": "8.7",
          "precision": "fp32", "T": 5, "shapes": {}, "onnx_sha256": "x", "plan_sha256": "y", "facts": V1_ONNX}
    sidecar.path_for(plan).write_text(json.dumps(v1))
    with pytest.raises(SnnDeployError, match="version 1.*`snndeploy export CHECKPOINT`, then `snndeploy build"):
        sidecar.read(plan)
