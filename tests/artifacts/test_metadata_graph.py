"""An ONNX file's metadata against its own graph: T, input and output shapes, batch, noise inputs, precision and
noise mode must agree, or reading the file (and activating a runner on it) is one line, not an ONNX Runtime
INVALID_ARGUMENT from the first run."""

import dataclasses

import numpy as np
import onnx
import pytest
from conftest import make_checkpoint

from snndeploy.artifacts import metadata
from snndeploy.artifacts.naming import FROZEN_NOISE, NOISE_BANK, NOISE_INPUT, noise_input_name
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.spec import DataSpec
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.runners.onnxruntime import OnnxRuntimeRunner

GRAPHS = {
    "T5": {"T": (5,)},
    "T1": {"T": (1,)},
    "T3-fp16-inline": {"T": (3,), "fp16": True, "inline": True},
    "T2-input-batch4": {"T": (2,), "noise": "input", "batch": "4"},
    "T3-graph": {"T": (3,), "noise": "graph"},
    "T1-input-inline": {"T": (1,), "noise": "input", "inline": True},
    "T3-stage2": {"T": (3,), "stage": 2},
    "T2-stage2-input-inline": {"T": (2,), "stage": 2, "noise": "input", "inline": True},
}


@pytest.fixture(scope="module")
def graphs(tmp_path_factory):
    """One real export of a small-cnn checkpoint per kind of graph: name -> (path, model, facts)."""
    root = tmp_path_factory.mktemp("graphs")
    make_checkpoint(root / "ck", "small-cnn")
    out = {}
    for name, options in GRAPHS.items():
        (e,) = export(root / "ck", ExportConfig(out=str(root / name), **options))
        model, facts = metadata.load(e.path)
        out[name] = (e.path, model, facts)
    return out


def with_facts(model, facts):
    """A copy of the graph whose metadata holds ``facts`` (a valid record, perhaps not this graph's)."""
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    metadata.attach(copy, facts)
    return copy


def refused(model, facts, message):
    with pytest.raises(SnnDeployError, match=message) as err:
        metadata.read(with_facts(model, facts), "m.onnx")
    assert "\n" not in str(err.value) and str(err.value).startswith("m.onnx: ")


@pytest.mark.parametrize("name", GRAPHS)
def test_every_kind_of_export_agrees_with_its_graph(graphs, name):
    path, model, facts = graphs[name]
    assert metadata.read(model, path) == facts
    assert metadata.graph_steps(model) == {facts.T}
    assert metadata.graph_precision(model) == facts.precision


@pytest.mark.parametrize("name,claimed,steps", [("T5", 10, "5 steps"), ("T5", 1, "5 steps"), ("T1", 5, "1 step"),
                                                ("T3-fp16-inline", 2, "3 steps"), ("T2-input-batch4", 3, "2 steps"),
                                                ("T3-graph", 4, "3 steps"), ("T1-input-inline", 2, "1 step")])
def test_T_that_disagrees_with_the_unrolled_graph(graphs, name, claimed, steps):
    _, model, facts = graphs[name]
    refused(model, dataclasses.replace(facts, T=claimed),
            f"^m.onnx: metadata says T = {claimed} but the graph is unrolled over {steps}$")


def test_a_T10_claim_on_a_T5_file_is_refused_by_the_runner(graphs, tmp_path):
    """The reported case: `eval` on a T = 5 graph whose metadata says T = 10 reported T = 10."""
    _, model, facts = graphs["T5"]
    path = tmp_path / "tampered.onnx"
    onnx.save(with_facts(model, dataclasses.replace(facts, T=10)), path)
    with pytest.raises(SnnDeployError, match=f"^{path}: metadata says T = 10 but the graph is unrolled over 5 steps$"):
        OnnxRuntimeRunner(path)


def test_noise_names_round_trip_and_refuse_look_alikes():
    assert NOISE_INPUT.format(layer=2, t=7) == noise_input_name(2, 7) == "noise.2.7"
    assert NOISE_INPUT.parse("noise.2.7") == {"layer": "2", "t": "7"} and NOISE_INPUT.step("noise.12.30") == 30
    assert FROZEN_NOISE.format(layer=1, t=4) == "frozen1.4" and FROZEN_NOISE.step("frozen1.4") == 4
    assert NOISE_BANK.parse(NOISE_BANK.format(layer=0, op="ResidualNoise")) == {"layer": "0", "op": "ResidualNoise"}
    for name in ("noise-2.7", "noise.2x7", "noise.a.7", "noise.2.7_1", "xnoise.2.7", "frozen1.4"):
        assert NOISE_INPUT.step(name) is None, name
    assert not any(map(FROZEN_NOISE.matches, ("frozen1", "frozen.1.4", "frozen1.4.w", "conv.w")))
    assert not any(map(NOISE_BANK.matches, ("bank0", "bank.Noise", "banks0.Noise")))


def test_the_exporter_names_its_noise_as_the_check_reads_it(graphs):
    layers = range(3)  # small-cnn's spiking layers; stage 3 draws noise at the first step, residual noise after
    _, fed, facts = graphs["T2-input-batch4"]
    assert set(facts.noise_inputs) == {noise_input_name(k, t) for k in layers for t in range(2)}
    _, frozen, _ = graphs["T5"]
    fields = [FROZEN_NOISE.parse(t.name) for t in frozen.graph.initializer]
    assert {(int(f["layer"]), int(f["t"])) for f in fields if f} == {(k, t) for k in layers for t in range(5)}
    _, bank, _ = graphs["T3-graph"]
    fields = [NOISE_BANK.parse(t.name) for t in bank.graph.initializer]
    assert {(int(f["layer"]), f["op"]) for f in fields if f} == {(k, op) for k in layers
                                                                for op in ("Noise", "ResidualNoise")}


def test_input_shape_and_classes(graphs):
    _, model, facts = graphs["T5"]
    rgb = DataSpec("sample", 3, 28, 28, facts.data.class_names, (0.5,) * 3, (0.25,) * 3)
    refused(model, dataclasses.replace(facts, data=rgb), r"metadata says input shape \[3, 28, 28\] per sample but "
                                                          r"the graph's input 'images' is \[batch, 1, 28, 28\]$")
    small = dataclasses.replace(facts.data, height=14, width=14)
    refused(model, dataclasses.replace(facts, data=small), r"input shape \[1, 14, 14\] per sample")
    seven = dataclasses.replace(facts.data, class_names=tuple("abcdefg"))
    refused(model, dataclasses.replace(facts, data=seven), r"^m.onnx: metadata names 7 classes but the graph's "
                                                            r"'logits' output has 10 classes \(shape \[batch, 10\]\)$")


def test_batch(graphs):
    _, dynamic, facts = graphs["T5"]
    refused(dynamic, dataclasses.replace(facts, batch=4), "metadata says batch 4 but the graph's input 'images' "
                                                          "takes batch dynamic$")
    _, fixed, facts4 = graphs["T2-input-batch4"]
    refused(fixed, dataclasses.replace(facts4, batch=8), "metadata says batch 8 but the graph's input 'images' takes "
                                                         "batch 4$")
    refused(fixed, dataclasses.replace(facts4, batch="dynamic"), "metadata says batch dynamic but the graph's input "
                                                                 "'images' takes batch 4$")


def test_noise_inputs(graphs):
    _, model, facts = graphs["T2-input-batch4"]
    shapes = dict(facts.noise_inputs)
    first = sorted(shapes)[0]
    fewer = {k: v for k, v in shapes.items() if k != first}
    refused(model, dataclasses.replace(facts, noise_inputs=fewer), f"the graph has input\\(s\\) {first} that its "
                                                                   "metadata does not list")
    more = {**shapes, "noise.9.0": (3,)}
    refused(model, dataclasses.replace(facts, noise_inputs=more), "metadata lists noise input\\(s\\) noise.9.0 that "
                                                                  "the graph lacks$")
    wrong = {**shapes, first: (7, 7)}
    refused(model, dataclasses.replace(facts, noise_inputs=wrong), f"metadata says noise input '{first}' has shape "
                                                                   r"\[7, 7\] per sample but the graph's input")
    _, frozen, frozen_facts = graphs["T5"]
    refused(frozen, dataclasses.replace(frozen_facts, noise="input", noise_inputs={"noise.0.0": (32, 28, 28)}),
            "metadata lists noise input\\(s\\) noise.0.0 that the graph lacks$")


def test_precision_and_noise_mode(graphs):
    _, model, facts = graphs["T5"]
    refused(model, dataclasses.replace(facts, precision="fp16"), "metadata says precision fp16 but the graph is fp32$")
    refused(model, dataclasses.replace(facts, precision="int8"), "metadata says precision int8 but the graph is fp32$")
    refused(model, dataclasses.replace(facts, noise="graph"), "metadata says noise graph but the graph's noise is "
                                                              "frozen$")
    _, half, half_facts = graphs["T3-fp16-inline"]
    refused(half, dataclasses.replace(half_facts, precision="fp32"), "metadata says precision fp32 but the graph is "
                                                                     "fp16$")
    _, bank, bank_facts = graphs["T3-graph"]
    refused(bank, dataclasses.replace(bank_facts, noise="frozen"), "metadata says noise frozen but the graph's noise "
                                                                   "is graph$")


def test_stage_1_does_not_fit_a_graph(graphs):
    _, model, facts = graphs["T5"]
    refused(model, dataclasses.replace(facts, stage=1), "stage must be one of 2, 3 for an snndeploy ONNX export, "
                                                        "got 1$")


def test_graph_without_images_or_logits(graphs):
    _, model, facts = graphs["T5"]
    renamed = with_facts(model, facts)
    renamed.graph.output[0].name = "scores"
    with pytest.raises(SnnDeployError, match="^m.onnx: the graph has no 'logits' output$"):
        metadata.read(renamed, "m.onnx")
    renamed = with_facts(model, facts)
    renamed.graph.input[0].name = "pixels"
    with pytest.raises(SnnDeployError, match="^m.onnx: the graph has no 'images' input$"):
        metadata.read(renamed, "m.onnx")


def test_activation_checks_the_sessions_inputs(graphs):
    """ONNX Runtime's own view of the inputs and outputs is checked against the facts when the session starts."""
    path, _, facts = graphs["T2-input-batch4"]
    runner = OnnxRuntimeRunner(path)
    runner._facts = dataclasses.replace(facts, batch=8)  # as if the file's check had been passed by another graph
    with pytest.raises(SnnDeployError, match=f"^{path}: metadata says batch 8 but the graph's input 'images' takes "
                                             "batch 4$"):
        runner.activate()
    assert not runner.is_active
    runner._facts = facts
    with runner:
        rng = np.random.default_rng(0)
        images = rng.standard_normal((4, 1, 28, 28), dtype=np.float32)
        assert runner.infer(images, runner.draw_noise(4, rng)).shape == (4, 10)


def test_metadata_json_nested_too_deep_is_one_line(graphs):
    _, model, _ = graphs["T1"]
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    next(p for p in copy.metadata_props if p.key == metadata.KEY).value = "[" * 100_000 + "]" * 100_000
    with pytest.raises(SnnDeployError, match="^m.onnx: its 'snndeploy' metadata is not valid JSON$"):
        metadata.read(copy, "m.onnx")


@pytest.mark.parametrize("name", ["T5", "T3-fp16-inline", "T3-graph", "T2-input-batch4"])
def test_a_stage3_graph_claimed_as_stage2_is_refused(graphs, name):
    """A stage-3 graph over T > 1 normalises its membrane potentials (ReduceMin, in a local function or inlined)."""
    _, model, facts = graphs[name]
    assert metadata.graph_normalises(model)
    refused(model, dataclasses.replace(facts, stage=2),
            "^m.onnx: metadata says stage 2 but the graph normalises membrane potentials, as a stage-3 graph does$")


@pytest.mark.parametrize("name", ["T3-stage2", "T2-stage2-input-inline"])
def test_a_stage2_graph_claimed_as_stage3_is_refused(graphs, name):
    _, model, facts = graphs[name]
    assert not metadata.graph_normalises(model)
    refused(model, dataclasses.replace(facts, stage=3),
            r"^m.onnx: metadata says stage 3 but the graph has no membrane potential normalisation \(a stage-2 "
            r"graph\?\)$")


def test_a_stage_claim_the_graph_cannot_tell_is_accepted(graphs):
    """At T = 1 (no potential before the first step) a stage-3 graph computes what stage 2 does."""
    _, model, facts = graphs["T1"]
    assert not metadata.graph_normalises(model)
    assert metadata.read(with_facts(model, dataclasses.replace(facts, stage=2)), "m.onnx").stage == 2


def test_a_hand_edited_stage_is_refused_by_the_runner(graphs, tmp_path):
    """The reported case: the 'stage' an ONNX file's metadata claims was never checked against its graph."""
    _, model, facts = graphs["T3-stage2"]
    path = tmp_path / "tampered.onnx"
    onnx.save(with_facts(model, dataclasses.replace(facts, stage=3)), path)
    with pytest.raises(SnnDeployError, match=f"^{path}: metadata says stage 3 but the graph has no membrane"):
        OnnxRuntimeRunner(path)
