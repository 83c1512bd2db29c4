"""The artifact facts record: round trip, strict reading, versions, and the one reader behind all three files."""

import dataclasses
import json
import math

import onnx
import pytest
from conftest import make_checkpoint

from snndeploy import checkpoint as ckpt
from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import VERSION, ArtifactFacts
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec
from snndeploy.engine import sidecar
from snndeploy.export import metadata as onnx_meta
from snndeploy.export.exporter import ExportConfig, export

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
    with pytest.raises(SnnDeployError, match="T must be >= 1"):
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
    ("T", "5", "'T' must be an integer or null"),
    ("T", True, "'T' must be an integer or null"),
    ("stage", 4, "stage must be one of 1, 2, 3"),
    ("noise", "random", "unknown noise mode"),
    ("batch", "4", "batch must be 'dynamic' or a positive integer"),
    ("batch", 2.5, "'batch' must be 'dynamic' or an integer"),
    ("precision", "fp64", "precision must be one of"),
    ("inline", "yes", "'inline' must be true, false or null"),
    ("opset", 17.0, "'opset' must be an integer or null"),
    ("model", 5, "'model' must be a string"),
    ("weights_sha256", "abc", "weights_sha256 must be 64"),
    ("noise_inputs", {"n": ["a", 2]}, "'noise_inputs' entry 'n' must be integer sizes"),
    ("noise_inputs", {"n": [0, 2]}, "positive per-sample shape"),
    ("noise_inputs", ["n"], "'noise_inputs' must map names"),
    ("data", {"name": "x"}, "data spec is missing keys"),
    ("neuron", {"lam": "x"}, "lam must be a number"),
    ("neuron", {"beta": "x"}, "beta must be a number or null"),
    ("neuron", {"leak": 1}, "unknown neuron option"),
    ("training", {"epochs": "many"}, "option 'epochs' must be int"),
    ("training", {"learning_rate": 1}, "unknown training option"),
    ("version", 1, "artifact facts have version 1"),
]


@pytest.mark.parametrize("key,value,message", BAD, ids=[f"{k}={v!r}" for k, v, _ in BAD])
def test_bad_types_are_one_line_errors(key, value, message):
    with pytest.raises(SnnDeployError, match=message) as err:
        ArtifactFacts.from_dict({**through_json(GRAPH), key: value}, "m.onnx")
    assert str(err.value).startswith("m.onnx: ") and "\n" not in str(err.value)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """A checkpoint folder, an ONNX file and an engine sidecar, all written by the current code."""
    root = tmp_path_factory.mktemp("facts")
    make_checkpoint(root / "ck", "small-cnn")
    (e,) = export(root / "ck", ExportConfig(T=(2,), noise="input", out=str(root / "onnx")))
    plan = root / "m.plan"
    plan.write_bytes(b"plan")
    shapes = {"images": {"min": [1, 1, 28, 28], "opt": [1, 1, 28, 28], "max": [8, 1, 28, 28]}}
    sidecar.write(plan, onnx_meta.load(e.path)[1], {"tensorrt": "10.3.0", "gpu": "Orin", "compute_capability": "8.7",
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
        shutil.copy(src.parent / "model.safetensors", tmp_path / "model.safetensors")
    good = read_json(kind, path)
    cases = [({**good, "version": VERSION + 1}, f"version {VERSION + 1} .*upgrade snndeploy"),
             ({**good, "version": "two"}, "unsupported snndeploy-.* version 'two'"),
             ({**good, "facts": {**good["facts"], "colour": 1}}, "unknown key\\(s\\): colour"),
             ({**good, "facts": {**good["facts"], "T": "5"}}, "'T' must be an integer or null"),
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
