"""Run an op's ONNX emission in ONNX Runtime beside its PyTorch form, on the same inputs.

The cross-check every neuron op must pass (the tests call it for each op, noise kind, float type and
opset); also handy when adding an op. Needs ONNX Runtime (the ``[cpu]`` extra).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import torch
from onnx import helper

from ..core.install import hint
from ..core.lazy import lazy_import
from ..core.neuron_config import NeuronConfig
from .onnx_builder import DOMAIN, DTYPES, Builder
from .ops import NeuronOp

ort = lazy_import("onnxruntime", hint("cpu", "ONNX Runtime"))


def op_model(op: type[NeuronOp], cfg: NeuronConfig, shapes: list[tuple[int, ...]], *, opset: int = 17,
             dtype: str = "fp32", as_function: bool = True) -> onnx.ModelProto:
    """A graph that applies ``op`` to inputs x0, x1, ... of the given shapes (first output only).

    Ops with a ``function`` are called as their local function (as an export does, when
    ``as_function``); the others are emitted inline.
    """
    onnx_type = DTYPES[dtype][0]
    names = [f"x{k}" for k in range(len(shapes))]
    b = Builder(opset, dtype)
    if op.function is not None and as_function:
        out = b.op(op.function, names, "call", domain=DOMAIN)
        functions = [op.to_function(cfg, opset, dtype)]
    else:
        result = op.onnx(b, cfg, *names)  # type: ignore[attr-defined]
        out = result[0] if isinstance(result, tuple) else result
        functions = []
    b.nodes.append(helper.make_node("Identity", [out], ["y"]))
    inputs = [helper.make_tensor_value_info(n, onnx_type, list(s)) for n, s in zip(names, shapes, strict=True)]
    output = helper.make_tensor_value_info("y", onnx_type, list(shapes[op.shaped_like]))
    graph = helper.make_graph(b.nodes, op.__name__, inputs, [output], b.initializers)
    opsets = [helper.make_opsetid("", opset), helper.make_opsetid(DOMAIN, 1)]
    return helper.make_model(graph, opset_imports=opsets, functions=functions)


def crosscheck(op: type[NeuronOp], cfg: NeuronConfig, *inputs: torch.Tensor, opset: int = 17,
               dtype: str = "fp32") -> tuple[np.ndarray, np.ndarray]:
    """(PyTorch result, ONNX Runtime result) of ``op`` on the same inputs (fp32 in PyTorch)."""
    model = op_model(op, cfg, [tuple(x.shape) for x in inputs], opset=opset, dtype=dtype)
    onnx.checker.check_model(model, full_check=True)
    np_dtype = DTYPES[dtype][1]
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = {f"x{k}": x.numpy().astype(np_dtype) for k, x in enumerate(inputs)}
    got = session.run(["y"], feeds)[0]
    with torch.no_grad():
        ref: Any = op.torch(cfg, *inputs)  # type: ignore[attr-defined]
    return ref.numpy(), got.astype(np.float32)


__all__ = ["crosscheck", "op_model"]
