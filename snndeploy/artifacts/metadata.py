"""An ONNX file's artifact facts in its metadata_props, and reading them back."""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import onnx
from onnx import numpy_helper

from ..core import files
from ..core.errors import SnnDeployError, short
from ..core.facts import ArtifactFacts, Container, envelope, read_facts
from .naming import FROZEN_NOISE, NOISE_BANK, NOISE_INPUT

KEY = "snndeploy"
FORMAT = "snndeploy-onnx"
# trt: the TensorRT version export checked the graph against (--trt, a preset's `trt:`), which `check` checks by default
CONTAINER = Container(FORMAT, "an snndeploy ONNX export", optional=("calibration", "trt"),
                      redo="re-export it from its checkpoint with `snndeploy export CHECKPOINT`")
# a TensorRT version as --trt takes it ("10.3", "8.6.1", "10"); the support tables' own check comes after
TRT_TARGET = re.compile(r"[0-9]{1,3}(\.[0-9]{1,5}){0,3}")


def attach(model: onnx.ModelProto, facts: ArtifactFacts, extra: dict[str, Any] | None = None) -> None:
    """Store the facts as JSON under one key, plus a few plain keys for people browsing in Netron."""
    obj = envelope(CONTAINER, facts, extra or {})
    plain = {KEY: json.dumps(obj, allow_nan=False), "T": str(facts.T), "stage": str(facts.stage),
             "classes": ",".join(facts.data.class_names)}
    del model.metadata_props[:]
    for k, v in plain.items():
        model.metadata_props.add(key=k, value=v)


def read(model: onnx.ModelProto, where: str | Path = "model") -> ArtifactFacts:
    """The facts of one of our graphs, or a one-line error for a foreign or outdated one."""
    props = {p.key: p.value for p in model.metadata_props}
    if KEY not in props:
        raise SnnDeployError(f"{where} is not an snndeploy ONNX export (no '{KEY}' metadata)")
    try:
        obj = json.loads(props[KEY])
    except (json.JSONDecodeError, RecursionError):  # RecursionError: arrays nested thousands deep
        raise SnnDeployError(f"{where}: its '{KEY}' metadata is not valid JSON") from None
    facts = read_facts(obj, str(where), CONTAINER)[0]
    check_graph(model, facts, where)
    return facts


def trt_target(model: onnx.ModelProto, where: str | Path = "model") -> str | None:
    """The TensorRT version the graph was exported for (its metadata's ``trt``), or None: a foreign graph, or one
    exported before the key existed. A malformed value is a one-line error."""
    props = {p.key: p.value for p in model.metadata_props}
    if KEY not in props:
        return None
    try:
        obj = json.loads(props[KEY])
    except (json.JSONDecodeError, RecursionError):
        raise SnnDeployError(f"{where}: its '{KEY}' metadata is not valid JSON") from None
    value = read_facts(obj, str(where), CONTAINER)[1].get("trt")
    if value is None:
        return None
    if not isinstance(value, str) or not TRT_TARGET.fullmatch(value):
        raise SnnDeployError(f"{where}: its metadata's TensorRT target must be a version such as \"10.3\", got "
                             f"{short(value, 40)}")
    return value


# -- the metadata against the graph it describes --------------------------------------------------------------
Dims = list[int | str | None]  # per axis: a size, a symbolic name (dynamic), or None (unknown)
_QDQ = ("QuantizeLinear", "DequantizeLinear")
_PASS = ("Identity", "Cast", *_QDQ)  # ops between the readout's parts that change no shape
_NORM_OP = "ReduceMin"  # taken only by the potential normalisation (graph_normalises)


def _dims(info: onnx.ValueInfoProto) -> Dims | None:
    t = info.type.tensor_type
    if not t.HasField("shape"):
        return None
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in t.shape.dim]


def _show(dims: Dims | None) -> str:
    return "of unknown shape" if dims is None else "[" + ", ".join("?" if d is None else str(d) for d in dims) + "]"


def check_io(facts: ArtifactFacts, inputs: dict[str, Dims | None], outputs: dict[str, Dims | None],
             where: str | Path) -> None:
    """A graph's inputs (``images`` and noise) and ``logits`` output, as name -> dims from the ONNX file or from
    an ONNX Runtime session, against the facts: per-sample shapes, class count, batch (fixed or dynamic)."""
    if "images" not in inputs:
        raise SnnDeployError(f"{where}: the graph has no 'images' input")
    meta, graph = set(facts.noise_inputs), set(inputs) - {"images"}
    if graph - meta:
        raise SnnDeployError(f"{where}: the graph has input(s) {', '.join(sorted(graph - meta)[:3])} that its "
                             f"metadata does not list (metadata lists {len(meta)} noise input(s))")
    if meta - graph:
        raise SnnDeployError(f"{where}: metadata lists noise input(s) {', '.join(sorted(meta - graph)[:3])} that "
                             f"the graph lacks")
    tensors = [("input 'images'", inputs["images"], facts.data.input_shape, "input shape")]
    tensors += [(f"input '{k}'", inputs[k], s, f"noise input '{k}' has shape") for k, s in facts.noise_inputs.items()]
    if "logits" not in outputs:
        raise SnnDeployError(f"{where}: the graph has no 'logits' output")
    logits = outputs["logits"]
    if logits is None or len(logits) != 2 or logits[1] != facts.data.num_classes:
        got = "no class dimension" if logits is None or len(logits) != 2 else f"{logits[1]} classes"
        raise SnnDeployError(f"{where}: metadata names {facts.data.num_classes} classes but the graph's 'logits' "
                             f"output has {got} (shape {_show(logits)})")
    tensors.append(("output 'logits'", logits, (facts.data.num_classes,), "class count"))
    for what, dims, per_sample, says in tensors:
        if dims is None or len(dims) != 1 + len(per_sample) or list(dims[1:]) != list(per_sample):
            raise SnnDeployError(f"{where}: metadata says {says} {list(per_sample)} per sample but the graph's "
                                 f"{what} is {_show(dims)}")
        fixed = dims[0] if isinstance(dims[0], int) else None
        if fixed != (None if facts.batch == "dynamic" else facts.batch):
            raise SnnDeployError(f"{where}: metadata says batch {facts.batch} but the graph's {what} takes batch "
                                 f"{'dynamic' if fixed is None else fixed}")


def _constants(graph: onnx.GraphProto) -> dict[str, onnx.TensorProto]:
    found = {t.name: t for t in graph.initializer}
    for node in graph.node:
        value = [a.t for a in node.attribute if a.name == "value"] if node.op_type == "Constant" else []
        if value and node.output:
            found[node.output[0]] = value[0]
    return found


def _readout_steps(graph: onnx.GraphProto) -> int | None:
    """T as the readout sees it: ``logits`` is a Gemm of a ReduceMean over a Reshape to [T, -1, F] when T > 1,
    and of the last layer's spikes when T = 1 (None: no Gemm readout found)."""
    producer = {out: node for node in graph.node for out in node.output}

    def source(name: str) -> onnx.NodeProto | None:
        node = producer.get(name)
        while node is not None and node.op_type in _PASS and node.input:
            node = producer.get(node.input[0])
        return node

    gemm = source("logits")
    if gemm is None or gemm.op_type != "Gemm" or not gemm.input:
        return None
    mean = source(gemm.input[0])
    if mean is None or mean.op_type != "ReduceMean":
        return 1
    reshape = source(mean.input[0]) if mean.input else None
    shape = _constants(graph).get(reshape.input[1]) if reshape is not None and reshape.op_type == "Reshape" and \
        len(reshape.input) == 2 else None
    if shape is None:
        return None
    values = numpy_helper.to_array(shape).reshape(-1)
    return int(values[0]) if len(values) == 3 and values[0] > 0 else None


def graph_steps(model: onnx.ModelProto) -> set[int]:
    """Every count of steps the graph shows (one element for a well-formed graph; empty: none recognised):
    the readout's mean over T, the T parts of each step ``Split``, and the step index in the names of frozen
    noise and noise inputs (``snndeploy.artifacts.naming``)."""
    graph = model.graph
    steps = {len(node.output) for node in graph.node if node.op_type == "Split"}
    if (readout := _readout_steps(graph)) is not None:
        steps.add(readout)
    for family, names in ((FROZEN_NOISE, [t.name for t in graph.initializer]),
                          (NOISE_INPUT, [i.name for i in graph.input])):
        indices = [t for t in map(family.step, names) if t is not None]
        if indices:
            steps.add(max(indices) + 1)
    return steps


def graph_precision(model: onnx.ModelProto) -> str:
    """int8 (Q/DQ nodes), fp16 (half-precision weights or casts) or fp32."""
    graph = model.graph
    if any(node.op_type in _QDQ for node in graph.node):
        return "int8"
    half = onnx.TensorProto.FLOAT16
    if any(t.data_type == half for t in graph.initializer) or any(
            node.op_type == "Cast" and any(a.name == "to" and a.i == half for a in node.attribute)
            for node in graph.node):
        return "fp16"
    return "fp32"


def graph_normalises(model: onnx.ModelProto) -> bool:
    """Whether the graph normalises membrane potentials (stage 3's N(lam V), ``snndeploy.neuron.ops.PotentialNorm``):
    its per-sample ``ReduceMin`` over the potential, in the graph itself (inlined) or in a local function it calls.
    No other op of an snndeploy graph takes a minimum; a stage-2 graph carries no potential to normalise."""
    bodies = {(f.domain, f.name): f.node for f in model.functions}
    stack, seen = list(model.graph.node), set()
    while stack:
        node = stack.pop()
        if node.op_type == _NORM_OP and node.domain in ("", "ai.onnx"):
            return True
        key = (node.domain, node.op_type)
        if key in bodies and key not in seen:  # a call of a local function: its body counts as the graph's
            seen.add(key)
            stack.extend(bodies[key])
    return False


def expected_normalisation(facts: ArtifactFacts) -> bool:
    """Whether a graph of these facts normalises potentials: stage 3 over more than one step with a finite alpha
    (at the first step there is no potential yet; alpha = inf runs as stage 2, ``snndeploy.neuron.step``)."""
    return facts.stage == 3 and facts.T is not None and facts.T > 1 and math.isfinite(facts.neuron.alpha)


def check_stage(model: onnx.ModelProto, facts: ArtifactFacts, where: str | Path) -> None:
    """The stage the facts claim against the graph: a stage-3 graph over T > 1 normalises its potentials, a
    stage-2 graph does not (a stage-3 graph at T = 1 or alpha = inf computes what stage 2 does)."""
    has, want = graph_normalises(model), expected_normalisation(facts)
    if has and not want:
        why = "" if facts.stage != 3 else f" (it says T = {facts.T}, alpha = {facts.neuron.alpha:g}, which has none)"
        raise SnnDeployError(f"{where}: metadata says stage {facts.stage}{why} but the graph normalises membrane "
                             "potentials, as a stage-3 graph does")
    if want and not has:
        raise SnnDeployError(f"{where}: metadata says stage 3 but the graph has no membrane potential normalisation "
                             "(a stage-2 graph?)")


def check_graph(model: onnx.ModelProto, facts: ArtifactFacts, where: str | Path) -> None:
    """The facts against the graph itself: inputs, outputs and batch (``check_io``), T, stage, precision and noise
    mode, each disagreement one line."""
    graph = model.graph
    constants = {t.name for t in graph.initializer}
    inputs = {i.name: _dims(i) for i in graph.input if i.name not in constants}
    check_io(facts, inputs, {o.name: _dims(o) for o in graph.output}, where)
    for i in [*graph.input, *graph.output]:
        if i.name in inputs or i.name == "logits":
            if i.type.tensor_type.elem_type != onnx.TensorProto.FLOAT:
                raise SnnDeployError(f"{where}: the graph's '{i.name}' must be float32, it is "
                                     f"{onnx.TensorProto.DataType.Name(i.type.tensor_type.elem_type).lower()}")
    steps = graph_steps(model)
    if len(steps) > 1:
        raise SnnDeployError(f"{where}: the graph is unrolled inconsistently (its parts show "
                             f"{', '.join(map(str, sorted(steps)))} steps)")
    if steps and (T := steps.pop()) != facts.T:
        raise SnnDeployError(f"{where}: metadata says T = {facts.T} but the graph is unrolled over {T} "
                             f"step{'s' if T != 1 else ''}")
    check_stage(model, facts, where)
    if (precision := graph_precision(model)) != facts.precision:
        raise SnnDeployError(f"{where}: metadata says precision {facts.precision} but the graph is {precision}")
    names = [t.name for t in graph.initializer]
    modes = {mode for mode, found in (("input", len(inputs) > 1),
                                      ("frozen", any(map(FROZEN_NOISE.matches, names))),
                                      ("graph", any(map(NOISE_BANK.matches, names)))) if found}
    if len(modes) == 1 and facts.noise not in modes:
        raise SnnDeployError(f"{where}: metadata says noise {facts.noise} but the graph's noise is {modes.pop()}")


def _load_model(path: Path) -> onnx.ModelProto:
    """Any ONNX file, with one-line errors for missing, irregular (a FIFO, a device), oversized or corrupt files."""
    data = files.read_bytes(path, "ONNX file", "graph")  # snndeploy writes no external data: the file is all
    try:
        return onnx.load_model_from_string(data)
    except Exception as exc:  # protobuf raises its own DecodeError; any failure means "not ONNX"
        raise SnnDeployError(f"{path} is not a readable ONNX file ({type(exc).__name__})") from None


def load(path: str | Path) -> tuple[onnx.ModelProto, ArtifactFacts]:
    """Load an ONNX file and its facts, with one-line errors for missing or corrupt files."""
    model = _load_model(Path(path))
    return model, read(model, path)


def load_any(path: str | Path) -> tuple[onnx.ModelProto, ArtifactFacts | None]:
    """Load any ONNX file and, where it carries snndeploy metadata, its facts (checked as ``load`` does); else None."""
    model = _load_model(Path(path))
    return model, read(model, path) if any(p.key == KEY for p in model.metadata_props) else None


def is_ours(path: str | Path) -> bool:
    """Whether ``path`` is an ONNX file carrying snndeploy's facts (what --overwrite may replace)."""
    try:
        load(path)
    except SnnDeployError:  # not ONNX, no facts, unreadable, too large: not proven ours
        return False
    return True
