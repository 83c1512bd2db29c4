"""Checks on every exported graph: ONNX's own checker and shape inference, and a static check
against TensorRT's ONNX parser support for one version (ops, data types, constant inputs, rank,
local functions), naming each offending node."""

from __future__ import annotations

from dataclasses import dataclass

import onnx
from onnx import TensorProto

from ..core.errors import SnnDeployError
from . import trt_support as trt


def validate(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnx.checker (full check) and strict shape inference; returns the inferred model."""
    try:
        onnx.checker.check_model(model, full_check=True)
        return onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        raise SnnDeployError(f"exported graph failed the ONNX checker: {str(exc).splitlines()[0]}") from None


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


def _types(model: onnx.ModelProto) -> dict[str, int]:
    """Element type of every named tensor in the main graph (after shape inference)."""
    g = model.graph
    types = {v.name: v.type.tensor_type.elem_type for v in [*g.input, *g.output, *g.value_info]}
    types.update({t.name: t.data_type for t in g.initializer})
    for node in g.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    types[node.output[0]] = attr.t.data_type
    return types


def _check_nodes(nodes, version: str, opset: int, types: dict[str, int], constants: set[str],
                 where: str) -> list[Finding]:
    found: list[Finding] = []
    int64_ok = trt.INT64_CAST_TO_INT32[version]
    for i, node in enumerate(nodes):
        name = node.name or f"{where}#{i}"
        if node.domain not in ("", "ai.onnx"):
            continue  # custom-domain calls are checked through their function bodies
        if not trt.is_supported(node.op_type, version):
            found.append(Finding(name, node.op_type, f"not supported by TensorRT {version}'s ONNX parser"))
            continue
        allowed = trt.op_dtypes(node.op_type, version)
        for k, tensor in enumerate([*node.input, *node.output]):
            if tensor not in types or not tensor:
                continue
            dt = _dtype_name(types[tensor])
            doc = trt.ONNX_TO_DOC_DTYPE.get(dt)
            if dt == "DOUBLE" or doc is None:
                found.append(Finding(name, node.op_type, f"tensor '{tensor}' is {dt}"))
            elif k >= len(node.input):
                continue  # the documented type lists are about inputs (Greater's BOOL output is fine)
            elif allowed is not None and doc not in allowed and not (doc == "INT64" and int64_ok):
                found.append(Finding(name, node.op_type, f"tensor '{tensor}' is {dt}; TensorRT {version} takes "
                                                         f"{', '.join(sorted(allowed))}"))
        for idx in trt.constant_inputs(node.op_type, version):
            if idx < len(node.input) and node.input[idx] and node.input[idx] not in constants:
                found.append(Finding(name, node.op_type, f"input {idx} ('{node.input[idx]}') must be a constant"))
        if node.op_type.startswith("Reduce") and not any(a.name == "axes" for a in node.attribute) \
                and len(node.input) < 2:
            found.append(Finding(name, node.op_type, "reduces over all axes; give constant axes"))
    return found


def trt_check(model: onnx.ModelProto, version: str) -> list[Finding]:
    """Everything in the graph that TensorRT ``version``'s ONNX parser is documented to reject."""
    try:
        v = trt.normalize_version(version)
    except ValueError as exc:
        raise SnnDeployError(f"{exc}") from None
    found: list[Finding] = []
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)
    if not trt.MIN_OPSET[v] <= opset <= trt.MAX_OPSET[v]:
        found.append(Finding("<model>", "opset", f"opset {opset} outside TensorRT {v}'s {trt.MIN_OPSET[v]}-"
                                                 f"{trt.MAX_OPSET[v]}; export with --opset {trt.MAX_OPSET[v]}"))
    try:
        inferred = onnx.shape_inference.infer_shapes(model)
    except onnx.shape_inference.InferenceError:
        inferred = model
    types = _types(inferred)
    g = inferred.graph
    constants = {t.name for t in g.initializer} | {o for n in g.node if n.op_type == "Constant" for o in n.output}
    for value in [*g.input, *g.output, *g.value_info]:
        rank = len(value.type.tensor_type.shape.dim)
        if rank > trt.MAX_RANK[v]:
            found.append(Finding(value.name, "tensor", f"rank {rank} > {trt.MAX_RANK[v]}"))
    found += _check_nodes(g.node, v, opset, types, constants, "node")
    functions = {(f.domain, f.name): f for f in inferred.functions}
    called = {(n.domain, n.op_type) for n in g.node if n.domain not in ("", "ai.onnx")}
    for key in sorted(called):
        func = functions.get(key)
        if func is None:
            found.append(Finding(key[1], f"{key[0]}.{key[1]}", "custom op with no local function or plugin"))
        elif not trt.LOCAL_FUNCTIONS[v]:
            users = [n.name for n in g.node if (n.domain, n.op_type) == key]
            found.append(Finding(", ".join(users[:3]) + (" ..." if len(users) > 3 else ""), f"{key[0]}.{key[1]}",
                                 "local functions need TensorRT >= 9; export with --inline"))
        else:
            body_constants = {o for n in func.node if n.op_type == "Constant" for o in n.output}
            found += _check_nodes(func.node, v, opset, {}, body_constants, f"{key[1]}")
    return found
