"""Checks on any ONNX graph: ONNX's own checker and shape inference, and a static check against TensorRT's
ONNX parser support for one version (ops, data types, constant inputs, per-op rank, attributes and inputs the
parser ignores, Q/DQ scales and zero points, local functions and their bodies), naming each offending node; the
random ops TensorRT parses but freezes at build time; and what a DLA build needs (static shapes, fp16/int8)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import onnx
import onnx.inliner
from onnx import TensorProto, numpy_helper

from ..core.errors import SnnDeployError
from . import trt_support as trt


def validate(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnx.checker (full check) and strict shape inference; returns the inferred model."""
    try:
        onnx.checker.check_model(model, full_check=True)
        return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        # the checker's message runs over several lines (a node's dump, a '==> Context:' line) and the first
        # alone can stop mid-sentence: all of them on one line, cut where a long dump would drown it
        text = ""
        for line in str(exc).splitlines():
            line = " ".join(line.split()).removeprefix("==> ")
            if line:
                text += ("" if not text else " " if text.endswith((":", ".")) else "; ") + line
        text = text if len(text) <= 300 else text[:297] + "..."
        raise SnnDeployError(f"ONNX checker: {text or type(exc).__name__}") from None


def trt_version(version: str) -> str:
    """The key of the support tables for TensorRT ``version`` (``--trt``); a one-line error for versions
    without tables."""
    try:
        return trt.normalize_version(version)
    except ValueError as exc:
        raise SnnDeployError(str(exc)) from None


@dataclass(frozen=True)
class Finding:
    """One node TensorRT's parser would reject."""

    node: str
    op_type: str
    reason: str

    def __str__(self) -> str:
        return f"{self.node} ({self.op_type}): {self.reason}"


def _dtype_name(elem_type: int) -> str:
    return TensorProto.DataType.Name(elem_type)


@dataclass(frozen=True)
class _Tensors:
    """Element type and rank of the named tensors of one graph (after shape inference), its constants, and the
    values of those given as initializers or Constant ``value``s."""

    types: dict[str, int]
    ranks: dict[str, int]
    constants: frozenset[str]
    values: dict[str, TensorProto]

    @classmethod
    def of(cls, graph: onnx.GraphProto) -> _Tensors:
        infos = [*graph.input, *graph.output, *graph.value_info]
        types = {v.name: v.type.tensor_type.elem_type for v in infos}
        ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in infos if v.type.tensor_type.HasField("shape")}
        values = {t.name: t for t in graph.initializer}
        for node in graph.node:
            if node.op_type == "Constant":
                for attr in node.attribute:
                    if attr.name == "value":
                        values[node.output[0]] = attr.t
        for name, t in values.items():
            types[name], ranks[name] = t.data_type, len(t.dims)
        constants = {t.name for t in graph.initializer}
        constants |= {o for n in graph.node if n.op_type == "Constant" for o in n.output}
        return cls(types, ranks, frozenset(constants), values)

    def renamed(self, names: dict[str, str]) -> _Tensors:
        """The facts of the tensors in ``names`` (inlined name -> name in the function body) under their body names."""
        pairs = [(new, old) for new, old in names.items() if new and old]
        return _Tensors({old: self.types[new] for new, old in pairs if new in self.types},
                        {old: self.ranks[new] for new, old in pairs if new in self.ranks},
                        frozenset(old for new, old in pairs if new in self.constants),
                        {old: self.values[new] for new, old in pairs if new in self.values})


def _infer(model: onnx.ModelProto) -> onnx.ModelProto:
    try:
        return onnx.shape_inference.infer_shapes(model)
    except onnx.shape_inference.InferenceError:
        return model  # check what is known rather than nothing


def _check_node(node: onnx.NodeProto, name: str, version: str, tensors: _Tensors) -> list[Finding]:
    """What TensorRT ``version`` rejects in one default-domain node: op, data types, constant inputs, rank."""
    if not trt.is_supported(node.op_type, version):
        listed = node.op_type in trt.DOCUMENTED_UNSUPPORTED[version]  # else newer than the table, or not ONNX
        why = "not supported by" if listed else "not in the operator table of"
        return [Finding(name, node.op_type, f"{why} TensorRT {version}'s ONNX parser")]
    found: list[Finding] = []
    allowed, known = trt.op_dtypes(node.op_type, version), trt.GRAPH_DTYPES[version]
    int64_ok = trt.INT64_CAST_TO_INT32[version]
    for k, tensor in enumerate([*node.input, *node.output]):
        if not tensor or tensor not in tensors.types:
            continue
        dt = _dtype_name(tensors.types[tensor])
        doc = trt.ONNX_TO_DOC_DTYPE.get(dt)
        if dt == "DOUBLE" or doc not in known:
            found.append(Finding(name, node.op_type, f"tensor '{tensor}' is {dt}"))
        elif k >= len(node.input) or (k > 0 and node.op_type in trt.QDQ_OPS):
            continue  # the type lists are about inputs (Greater's BOOL output is fine); Q/DQ's about x alone
        elif allowed is not None and doc not in allowed and not (doc == "INT64" and int64_ok):
            found.append(Finding(name, node.op_type, f"tensor '{tensor}' is {dt}; TensorRT {version} takes "
                                                     f"{', '.join(sorted(allowed))}"))
    if node.op_type in trt.QDQ_OPS:
        found += _check_qdq(node, name, version, tensors)
    for idx in trt.constant_inputs(node.op_type, version):
        if idx < len(node.input) and node.input[idx] and node.input[idx] not in tensors.constants:
            found.append(Finding(name, node.op_type, f"input {idx} ('{node.input[idx]}') must be a constant"))
    for idx in trt.tensor_inputs(node.op_type, version):
        if idx < len(node.input) and node.input[idx] in tensors.constants:
            found.append(Finding(name, node.op_type, f"input {idx} ('{node.input[idx]}') must not be a constant"))
    # The parser takes these nodes but computes as if the input or attribute were absent.
    for idx in trt.ignored_inputs(node.op_type, version):
        if idx < len(node.input) and node.input[idx]:
            found.append(Finding(name, node.op_type, f"TensorRT {version}'s parser ignores input {idx} "
                                                     f"('{node.input[idx]}')"))
    defaults = trt.ignored_attributes(node.op_type, version)
    for attr in node.attribute:
        if attr.name in defaults and (value := onnx.helper.get_attribute_value(attr)) != defaults[attr.name]:
            found.append(Finding(name, node.op_type, f"TensorRT {version}'s parser ignores attribute "
                                                     f"{attr.name}={value}"))
    if node.op_type.startswith("Reduce") and not any(a.name == "axes" for a in node.attribute) \
            and len(node.input) < 2:
        found.append(Finding(name, node.op_type, "reduces over all axes; give constant axes"))
    limits = trt.rank_limits(node.op_type, version)
    rank = tensors.ranks.get(node.input[0]) if node.input and node.input[0] else None
    if limits is not None and rank is not None and not limits[0] <= rank <= limits[1]:
        lo, hi = limits
        want = f"rank {lo}" if lo == hi else f"rank {lo} to {hi}"
        found.append(Finding(name, node.op_type, f"input 0 ('{node.input[0]}') has rank {rank}; "
                                                 f"TensorRT {version} takes {want}"))
    return found


def _array(tensor: TensorProto | None) -> np.ndarray | None:
    """A constant's values as float64 (None where unknown or not convertible, e.g. a type numpy lacks)."""
    if tensor is None:
        return None
    try:
        return numpy_helper.to_array(tensor).astype(np.float64)
    except (ValueError, TypeError):
        return None


def _check_qdq(node: onnx.NodeProto, name: str, version: str, tensors: _Tensors) -> list[Finding]:
    """TensorRT ``version``'s rules for the scale (input 1), zero point (input 2) and ``output_dtype`` of a
    QuantizeLinear or DequantizeLinear node (the Q/DQ notes of trt_support.yaml)."""
    found: list[Finding] = []
    floats = trt.op_dtypes("QuantizeLinear", version) or frozenset()
    quantized = trt.op_dtypes("DequantizeLinear", version) or frozenset()

    def finding(reason: str) -> None:
        found.append(Finding(name, node.op_type, reason))

    def wrong_type(tensor: str, what: str, allowed: frozenset[str]) -> bool:
        """Whether ``tensor`` has a type outside ``allowed``; reported unless the type check of every tensor
        already reports it (DOUBLE, or a type TensorRT lacks)."""
        if tensor not in tensors.types:
            return False
        dt = _dtype_name(tensors.types[tensor])
        doc = trt.ONNX_TO_DOC_DTYPE.get(dt)
        if doc in allowed:
            return False
        if dt != "DOUBLE" and doc in trt.GRAPH_DTYPES[version]:
            finding(f"{what} '{tensor}' is {dt}; TensorRT {version} takes {', '.join(sorted(allowed))}")
        return True

    scale = node.input[1] if len(node.input) > 1 else ""
    zero = node.input[2] if len(node.input) > 2 else ""
    scales = _array(tensors.values.get(scale))
    if scale:
        wrong_type(scale, "scale", floats)
        if scales is not None and not (scales > 0).all():
            finding(f"scale '{scale}' must be positive throughout")
        rank, x_rank = tensors.ranks.get(scale), tensors.ranks.get(node.input[0])
        blocked = trt.QDQ_BLOCKED_SCALES[version] and rank == x_rank
        if rank is not None and rank > 1 and not blocked and (scales is None or scales.size != 1):
            finding(f"scale '{scale}' has rank {rank}; TensorRT {version} takes one scale or one per channel"
                    + (" (or blocked scales of x's rank)" if trt.QDQ_BLOCKED_SCALES[version] else ""))
    if not zero:
        if trt.QDQ_ZERO_POINT_REQUIRED[version]:
            finding(f"TensorRT {version} needs a zero point (input 2)")
    elif not wrong_type(zero, "zero point", quantized):
        zeros = _array(tensors.values.get(zero))
        if zeros is not None and zeros.any():
            finding(f"zero point '{zero}' is not all zeros; TensorRT quantizes symmetrically only")
        if zeros is not None and scales is not None and zeros.size != scales.size:
            finding(f"zero point '{zero}' has {zeros.size} value(s), scale '{scale}' {scales.size}")
    for attr in node.attribute:
        if attr.name == "output_dtype" and attr.i != TensorProto.UNDEFINED \
                and trt.ONNX_TO_DOC_DTYPE.get(dt := _dtype_name(attr.i)) not in quantized:
            finding(f"output_dtype {dt}; TensorRT {version} quantizes to {', '.join(sorted(quantized))}")
    return found


# Marks the nodes of local function bodies so that they can be told apart once inlined (the inliner keeps node
# names, adding a suffix); function index and node index between the marks.
_MARK = "\x1fsnndeploy-check\x1f"
_MARKED = re.compile(re.escape(_MARK) + r"(\d+)\.(\d+)" + re.escape(_MARK))


def _check_function_bodies(model: onnx.ModelProto, version: str) -> list[Finding]:
    """The nodes of every called local function, typed on an inlined copy of the model (so each body sees the
    types, ranks and constants of its call site) and named ``Function#index`` (or ``Function/node``)."""
    marked = onnx.ModelProto()
    marked.CopyFrom(model)
    for fi, func in enumerate(marked.functions):
        for j, node in enumerate(func.node):
            node.name = f"{_MARK}{fi}.{j}{_MARK}"
    inlined = _infer(onnx.inliner.inline_local_functions(marked))
    tensors = _Tensors.of(inlined.graph)
    max_rank = trt.MAX_RANK[version]
    found: list[Finding] = []
    for node in inlined.graph.node:
        mark = _MARKED.search(node.name)
        if mark is None:
            continue  # a main-graph node, checked on the model itself
        func = model.functions[int(mark[1])]
        j = int(mark[2])
        body = func.node[j]
        name = f"{func.name}/{body.name}" if body.name else f"{func.name}#{j}"
        if body.domain not in ("", "ai.onnx"):  # a call the inliner could not expand: no such function
            found.append(Finding(name, f"{body.domain}.{body.op_type}", "custom op with no local function or plugin"))
            continue
        local = tensors.renamed(dict(zip([*node.input, *node.output], [*body.input, *body.output], strict=False)))
        found += _check_node(body, name, version, local)
        for out in body.output:
            if local.ranks.get(out, 0) > max_rank:
                found.append(Finding(name, body.op_type, f"tensor '{out}' has rank {local.ranks[out]} > {max_rank}"))
    return list(dict.fromkeys(found))  # one finding per body node, however many call sites


def trt_check(model: onnx.ModelProto, version: str) -> list[Finding]:
    """Everything in the graph that TensorRT ``version``'s ONNX parser is documented to reject, or parses into
    something else (attributes and inputs it ignores)."""
    v = trt_version(version)
    found: list[Finding] = []
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if not trt.MIN_OPSET[v] <= opset <= trt.MAX_OPSET[v]:
        found.append(Finding("<model>", "opset", f"opset {opset} outside TensorRT {v}'s {trt.MIN_OPSET[v]}-"
                                                 f"{trt.MAX_OPSET[v]}; export with --opset {trt.MAX_OPSET[v]}"))
    g = _infer(model).graph
    tensors = _Tensors.of(g)
    for value in [*g.input, *g.output, *g.value_info]:
        rank = len(value.type.tensor_type.shape.dim)
        if rank > trt.MAX_RANK[v]:
            found.append(Finding(value.name, "tensor", f"rank {rank} > {trt.MAX_RANK[v]}"))
    for i, node in enumerate(g.node):
        if node.domain in ("", "ai.onnx"):  # custom-domain calls are checked through their function bodies
            found += _check_node(node, node.name or f"node#{i}", v, tensors)
    functions = {(f.domain, f.name) for f in model.functions}
    called = {(n.domain, n.op_type) for n in g.node if n.domain not in ("", "ai.onnx")}
    for key in sorted(called):
        if key not in functions:
            found.append(Finding(key[1], f"{key[0]}.{key[1]}", "custom op with no local function or plugin"))
        elif not trt.LOCAL_FUNCTIONS[v]:
            users = [n.name for n in g.node if (n.domain, n.op_type) == key]
            found.append(Finding(", ".join(users[:3]) + (" ..." if len(users) > 3 else ""), f"{key[0]}.{key[1]}",
                                 "local functions need TensorRT >= 9; export with --inline"))
    if called & functions:  # also where functions are rejected: the same nodes are what --inline would give
        found += _check_function_bodies(model, v)
    return found


# Random ops that TensorRT's ONNX parser turns into fill layers (onnx/onnx-tensorrt onnxOpImporters.cpp, randomHelper:
# addFill with FillOperation::kRANDOM_UNIFORM / kRANDOM_NORMAL, and a warning that the ``seed`` attribute is ignored;
# docs/operators.md: "`seed` value is ignored by TensorRT"). The values are drawn from a seed TensorRT picks when it
# builds the engine (NVIDIA/TensorRT#4497: "A nondeterministic random seed is used every time a TensorRT engine is
# rebuilt"), and a fill whose inputs are all build-time constants (NoiseWindow's RandomUniform of shape [1]) is a
# constant the builder may fold: every run of the engine reads the same draws.
RANDOM_OPS = frozenset({"RandomUniform", "RandomUniformLike", "RandomNormal", "RandomNormalLike"})
FROZEN_RANDOM = ("TensorRT ignores its seed and fixes its values when it builds the engine (onnx-tensorrt "
                 "operators.md, NVIDIA/TensorRT#4497): every run gives the same draws")


def random_nodes(model: onnx.ModelProto) -> list[tuple[str, str]]:
    """(node, op type) of every random op of the graph and of its local functions' bodies (``Function/node`` or
    ``Function#index``)."""
    found = [(n.name or f"node#{i}", n.op_type) for i, n in enumerate(model.graph.node)
             if n.domain in ("", "ai.onnx") and n.op_type in RANDOM_OPS]
    for func in model.functions:
        found += [(f"{func.name}/{n.name}" if n.name else f"{func.name}#{j}", n.op_type)
                  for j, n in enumerate(func.node) if n.domain in ("", "ai.onnx") and n.op_type in RANDOM_OPS]
    return found


def frozen_random(model: onnx.ModelProto, version: str) -> list[Finding]:
    """The random ops TensorRT ``version`` parses but freezes into build-time values (ops it rejects outright are
    ``trt_check``'s findings)."""
    v = trt_version(version)
    return [Finding(node, op, FROZEN_RANDOM) for node, op in random_nodes(model) if trt.is_supported(op, v)]


def dynamic_inputs(model: onnx.ModelProto) -> dict[str, list[str]]:
    """Graph input -> its dimensions that are not fixed numbers (a name such as ``batch``, or unknown)."""
    out = {}
    for value in model.graph.input:
        dims = value.type.tensor_type.shape.dim
        free = [d.dim_param or "?" for d in dims if not (d.HasField("dim_value") and d.dim_value > 0)]
        if free:
            out[value.name] = free
    return out


# NVIDIA's "DLA Supported Layers and Restrictions" (TensorRT developer guide): "DLA does not support dynamic dimensions,
# so the profile's min, max, and opt values must be equal for wildcard dimensions", and "The runtime dimensions must
# be the same as the dimensions used for building". With GPU fallback on, layers DLA cannot take run on the GPU
# silently, so a dynamic profile gives a "DLA" engine that runs on the GPU.
DLA_STATIC = ("DLA needs static shapes (profile min = opt = max, NVIDIA's DLA restrictions); every layer would fall "
              "back to the GPU")


def dla_findings(model: onnx.ModelProto, precision: str | None) -> list[Finding]:
    """What keeps a graph off the DLA before any build: dynamic input dimensions and, where the graph's precision is
    known (an snndeploy export), a precision DLA does not run."""
    found = [Finding(name, "input", f"dimension(s) {', '.join(dims)} are dynamic: {DLA_STATIC}; build with --batch "
                                    "N,N,N (or export with --batch N)")
             for name, dims in dynamic_inputs(model).items()]
    if precision is not None and precision not in ("fp16", "int8"):
        found.append(Finding("<model>", "precision", f"DLA runs fp16 and int8 networks only, this graph is "
                                                     f"{precision}; export with --fp16 (or quantize it)"))
    return found
