"""A small ONNX graph builder: unique names, typed constants, opset-aware reductions.

It sits in the neuron layer because every neuron op emits its ONNX form through it."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DOMAIN = "snndeploy"
DTYPES = {"fp32": (TensorProto.FLOAT, np.float32), "fp16": (TensorProto.FLOAT16, np.float16)}


class Builder:
    """Collects nodes and initializers of one graph (or one function body)."""

    def __init__(self, opset: int, dtype: str = "fp32", prefix: str = "", named_nodes: bool = True) -> None:
        self.opset = opset
        self.onnx_dtype, self.np_dtype = DTYPES[dtype]
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.prefix = prefix
        # Function bodies leave node names empty: ONNX Runtime's inliner reuses them per call site.
        self.named_nodes = named_nodes
        self._count: dict[str, int] = {}

    def view(self, dtype: str) -> Builder:
        """The same graph (shared nodes and names), emitting constants of another float type."""
        other = copy.copy(self)
        other.onnx_dtype, other.np_dtype = DTYPES[dtype]
        return other

    def name(self, hint: str) -> str:
        """A fresh tensor/node name."""
        n = self._count.get(hint, 0)
        self._count[hint] = n + 1
        return f"{self.prefix}{hint}" if n == 0 else f"{self.prefix}{hint}_{n}"

    def op(self, op_type: str, inputs: list[str], hint: str | None = None, n_out: int = 1,
           domain: str = "", **attrs: Any) -> Any:
        """Add a node; return its output name (or names when n_out > 1)."""
        outs = [self.name(hint or op_type.lower()) for _ in range(n_out)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=self._node_name(hint or op_type),
                                           domain=domain, **attrs))
        return outs[0] if n_out == 1 else outs

    def _node_name(self, hint: str) -> str:
        return self.name(f"n_{hint}") if self.named_nodes else ""

    def init(self, array: np.ndarray, hint: str, cast: bool = True) -> str:
        """Add an initializer (float arrays take the graph's float type)."""
        if cast and np.issubdtype(array.dtype, np.floating):
            array = array.astype(self.np_dtype)
        name = self.name(hint)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def const(self, value: Any, hint: str = "c", dtype: Any = None) -> str:
        """A Constant node (usable inside function bodies, unlike initializers)."""
        array = np.asarray(value, dtype=dtype if dtype is not None else self.np_dtype)
        out = self.name(hint)
        self.nodes.append(helper.make_node("Constant", [], [out], name=self._node_name(hint),
                                           value=numpy_helper.from_array(array, out)))
        return out

    def reduce(self, op_type: str, x: str, axes: list[int], keepdims: int = 1, hint: str | None = None) -> str:
        """Reduce over constant axes: an attribute before opset 18, a constant input from 18 on."""
        if self.opset >= 18 or op_type == "ReduceSum":
            return self.op(op_type, [x, self.const(axes, "axes", np.int64)], hint, keepdims=keepdims)
        return self.op(op_type, [x], hint, axes=axes, keepdims=keepdims)
