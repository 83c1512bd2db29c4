"""Fuzzing the artifact facts as files hold them: a valid record mutated (wrong types, NaN, inf, huge or negative
numbers, bad strings, missing and extra keys) reads back as a valid record or fails with one SnnDeployError line,
never another exception; the same for the metadata JSON inside a real ONNX file, whose accepted records must
also agree with the graph."""

import copy
import dataclasses
import json
import math

import pytest
from conftest import make_checkpoint
from hypothesis import given, settings
from hypothesis import strategies as st

from snndeploy.artifacts import metadata
from snndeploy.core.config import TrainConfig
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import ArtifactFacts
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec
from snndeploy.export.exporter import ExportConfig, export

SPEC = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.1307,), (0.3081,))
GRAPH = ArtifactFacts(model="small-cnn", data=SPEC, neuron=NeuronConfig(alpha=math.inf, beta=0.4),
                      training=TrainConfig(epochs=2), weights_sha256="ab" * 32, T=5, stage=3, noise="input",
                      noise_inputs={"noise.0.0": (32, 28, 28)}, batch=4, opset=17, inline=True, seed=3)
CHECKPOINT = dataclasses.replace(GRAPH, T=None, stage=None, noise=None, noise_inputs={}, batch="dynamic",
                                 opset=None, inline=None, seed=None)

# Values that are wrong somewhere (and some that are right somewhere else): the mutations put them anywhere.
NASTY = st.one_of(
    st.sampled_from([None, True, False, 0, 1, -1, 2, 3, 2**31, 2**63, 2**64, 10**30, -10**30, 10**400, 0.0, -0.0, 1.5,
                     -2.5, 1e308, -1e308, 5e-324, math.nan, math.inf, -math.inf, "", " ", "x", "inf", "-inf", "nan",
                     "NaN", "Infinity", "dynamic", "graph", "fp16", "a\nb", "tab\there", "\x00", "\u2028", "é",
                     "AB" * 32, "ab" * 32, "5", [], [1], [0], [-1], [[]], ["a"], ["a", "a"], [math.nan], {}, {"a": 1},
                     {"": []}, {"noise.0.0": [1, 2]}]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.lists(st.one_of(st.integers(-3, 40), st.floats(), st.text(max_size=3)), max_size=4),
    st.dictionaries(st.text(max_size=6), st.integers(-2, 5), max_size=3),
).map(copy.deepcopy)  # a copy each draw: a later mutation must not edit the shared sample ([1], {"a": 1}, ...)


@st.composite
def path_into(draw, obj):
    """A path (keys and list indices) into a JSON value, walked down from the root: every key of a mapping is
    as likely as its siblings, whatever lies under them, and the walk stops at each level with even odds."""
    path = []
    while isinstance(obj, (dict, list)) and obj and (not path or draw(st.booleans())):
        key = draw(st.sampled_from(sorted(obj) if isinstance(obj, dict) else range(len(obj))))
        path.append(key)
        obj = obj[key]
    return tuple(path)


@st.composite
def mutated(draw, base):
    """``base`` (a JSON value) after one to three mutations: a value replaced, a key deleted or a key added."""
    obj = json.loads(json.dumps(base))
    for _ in range(draw(st.integers(1, 3))):
        path = draw(path_into(obj))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        if not path:
            obj = draw(NASTY) if action == "replace" else obj
            continue
        parent = obj
        for key in path[:-1]:
            parent = parent[key]
        if action == "replace":
            parent[path[-1]] = draw(NASTY)
        elif action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "T", "alpha", "", "a\nb", "version"]))] = draw(NASTY)
        elif isinstance(parent, list):
            del parent[path[-1]]
    return obj


GRAPH_FIELDS = {  # fields a graph shows, with values that pass the record's own checks
    ("T",): st.integers(1, 12),
    ("stage",): st.integers(1, 3),
    ("batch",): st.one_of(st.just("dynamic"), st.integers(1, 8)),
    ("precision",): st.sampled_from(["fp32", "fp16", "int8"]),
    ("noise",): st.sampled_from(["graph", "input", "frozen"]),
    ("data", "height"): st.integers(1, 40),
    ("data", "width"): st.integers(1, 40),
    ("data", "class_names"): st.lists(st.sampled_from("0123456789abc"), min_size=1, max_size=13, unique=True),
    ("noise_inputs",): st.dictionaries(st.sampled_from(["noise.0.0", "noise.0.1", "noise.1.0", "noise.2.1",
                                                        "noise.0.2"]),
                                       st.lists(st.integers(1, 64), min_size=1, max_size=3), max_size=6),
}


@st.composite
def retargeted(draw, envelope):
    """The envelope with one or two of the graph's fields set to other valid-looking values."""
    obj = json.loads(json.dumps(envelope))
    for _ in range(draw(st.integers(1, 2))):
        path = draw(st.sampled_from(sorted(GRAPH_FIELDS)))
        parent = obj["facts"]
        for key in path[:-1]:
            parent = parent[key]
        parent[path[-1]] = draw(GRAPH_FIELDS[path])
    return obj


def one_line(exc):
    assert isinstance(exc, SnnDeployError), type(exc)
    text = str(exc)
    assert text and "\n" not in text and "\r" not in text, text
    return text


@settings(max_examples=300, deadline=None)
@given(d=st.one_of(mutated(GRAPH.to_dict()), mutated(CHECKPOINT.to_dict()), NASTY))
def test_mutated_facts_read_back_or_fail_in_one_line(d):
    try:
        facts = ArtifactFacts.from_dict(d, "model.json")
    except SnnDeployError as exc:
        assert one_line(exc).startswith("model.json: ")
        return
    # what is accepted is a valid record: it survives a JSON round trip unchanged
    assert ArtifactFacts.from_dict(json.loads(json.dumps(facts.to_dict(), allow_nan=False))) == facts


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    """A real --noise input graph with a fixed batch (the record with the most fields to disagree on)."""
    root = tmp_path_factory.mktemp("fuzz")
    make_checkpoint(root / "ck", "small-cnn")
    (e,) = export(root / "ck", ExportConfig(T=(2,), noise="input", batch="2", out=str(root / "onnx")))
    model, facts = metadata.load(e.path)
    envelope = json.loads(next(p.value for p in model.metadata_props if p.key == metadata.KEY))
    return model, facts, envelope


def read_with(model, text):
    """metadata.read on the graph with its metadata JSON replaced by ``text``."""
    next(p for p in model.metadata_props if p.key == metadata.KEY).value = text
    try:
        return metadata.read(model, "m.onnx")
    except SnnDeployError as exc:
        assert one_line(exc).startswith("m.onnx")
        return None


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_mutated_onnx_metadata_reads_back_or_fails_in_one_line(graph, data):
    model, facts, envelope = graph
    obj = data.draw(st.one_of(mutated(envelope), retargeted(envelope)))
    read = read_with(model, json.dumps(obj))  # NaN and Infinity written as JSON's extensions, which Python reads
    if read is not None:  # an accepted record agrees with the graph on everything the graph shows
        assert (read.T, read.batch, read.data.input_shape, read.data.num_classes, read.noise_inputs,
                read.precision, read.noise) == (facts.T, facts.batch, facts.data.input_shape,
                                                facts.data.num_classes, facts.noise_inputs, facts.precision,
                                                facts.noise)


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(0, 10_000), junk=st.text(max_size=8))
def test_damaged_onnx_metadata_text_fails_in_one_line(graph, cut, junk):
    model, _, envelope = graph
    text = json.dumps(envelope)
    cut %= len(text) + 1
    read_with(model, text[:cut] + junk + text[cut + len(junk):])  # a record or one line, nothing else
