"""The ONNX side of the network's modules: the context each module's ``emit`` writes into.

Every module of a network pairs its PyTorch ``forward`` with an ``emit(g, x)`` that writes the same computation
as ONNX nodes (``SpikingNet``, ``TimeFold`` and ``LIFNode``, ``BasicBlock``), the way each neuron op pairs its
two forms (snndeploy/neuron/ops.py); ``emit_torch`` is the ONNX form of the plain PyTorch layers they wrap. The
graph-level parts (inputs and outputs, how noise enters, local functions, precision casts) belong to the
exporter (snndeploy/export/graph.py), which hands every spiking layer its neuron backend through this context.

Between the blocks of the body a tensor is ``[T*B, ...]``, the steps folded into the batch as ``TimeFold``
runs, or ``[B, ...]`` where it is the same at every step (the stem's output, computed once).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..core.errors import SnnDeployError
from ..core.neuron_config import NeuronConfig
from ..neuron import StepOps
from ..neuron.onnx_builder import Builder


@dataclass(frozen=True)
class Flow:
    """A tensor between blocks: the same at every step (``[B, ...]``) or folded over the steps (``[T*B, ...]``)."""

    name: str
    folded: bool


# (spiking layer's index, per-sample input shape, neuron parameters) -> the backend that emits that layer's
# neuron ops, its noise included (snndeploy/neuron/step.py's StepOps over tensor names)
NeuronBackend = Callable[[int, tuple[int, ...], NeuronConfig], StepOps]


class GraphContext:
    """What a module's ``emit`` writes into: the builder, the number of steps T, and per spiking layer its index,
    its per-sample input shape and the backend of its neuron ops (``layers``: every spiking layer in
    ``SpikingNet.lif_nodes`` order -> its shape, from ``SpikingNet.spiking_shapes``)."""

    def __init__(self, b: Builder, T: int, layers: Mapping[nn.Module, tuple[int, ...]],
                 neuron_backend: NeuronBackend) -> None:
        self.b, self.T = b, T
        self._layers = {node: (k, shape) for k, (node, shape) in enumerate(layers.items())}
        self._backend = neuron_backend

    def neuron(self, node: nn.Module, cfg: NeuronConfig) -> tuple[StepOps, tuple[int, ...]]:
        """The backend of one spiking layer's neuron ops, and the per-sample shape of its input."""
        if node not in self._layers:
            raise SnnDeployError(f"spiking layer {type(node).__name__} is not one of the network's layers")
        k, shape = self._layers[node]
        return self._backend(k, shape, cfg), shape

    def steps(self, x: Flow, shape: tuple[int, ...]) -> list[str]:
        """Per-step tensors [B, *shape] of a layer input: the same one T times, or the T parts of [T*B, ...].

        The parts come from one ``Split`` of the input seen as [T, B*N] (the reshapes are free), with
        constant sizes whatever the batch: one op instead of a ``Slice`` per step and their bounds."""
        b, T = self.b, self.T
        if not x.folded:
            return [x.name] * T
        if T == 1:
            return [x.name]
        rows = b.op("Reshape", [x.name, b.init(np.array([T, -1], np.int64), "t_rows")], "t_rows")
        parts = b.op("Split", [rows, b.init(np.ones(T, np.int64), "ones")], "step", n_out=T, axis=0)
        per_sample = b.init(np.array([-1, *shape], np.int64), "per_sample")
        return [b.op("Reshape", [part, per_sample], f"step{t}") for t, part in enumerate(parts)]

    def fold(self, parts: list[str]) -> Flow:
        """Per-step tensors [B, ...] as one folded [T*B, ...]."""
        return Flow(parts[0] if len(parts) == 1 else self.b.op("Concat", parts, "folded", axis=0), True)

    def add(self, x: Flow, y: Flow, hint: str) -> Flow:
        """x + y at every step (a tensor that is the same at every step is repeated for the other's steps)."""
        if x.folded != y.folded:
            x, y = (v if v.folded else self.fold([v.name] * self.T) for v in (x, y))
        return Flow(self.b.op("Add", [x.name, y.name], hint), x.folded)


def emit_block(g: GraphContext, module: nn.Module, x: Flow) -> Flow:
    """A block of the body as ONNX nodes, through its own ``emit``."""
    own = getattr(module, "emit", None)
    if own is None:
        raise SnnDeployError(f"cannot export block {type(module).__name__}")
    return own(g, x)


def emit_torch(b: Builder, module: nn.Module, x: str) -> str:
    """Plain per-sample PyTorch layers (``nn.Sequential`` of them, or one) as ONNX nodes; a ``BatchNorm2d``
    after a ``Conv2d`` is folded into the convolution."""
    leaves = _leaves(module)
    i = 0
    while i < len(leaves):
        m = leaves[i]
        nxt = leaves[i + 1] if i + 1 < len(leaves) else None
        if isinstance(m, nn.Conv2d):
            if isinstance(nxt, nn.BatchNorm2d):
                w, bias = _fold_bn(m, nxt)
                i += 1
            else:
                w = m.weight.detach().numpy()
                bias = m.bias.detach().numpy() if m.bias is not None else np.zeros(w.shape[0], np.float32)
            x = b.op("Conv", [x, b.init(w, "conv.w"), b.init(bias, "conv.b")], "conv",
                     kernel_shape=list(m.kernel_size), strides=list(m.stride), pads=list(m.padding) * 2,
                     dilations=list(m.dilation), group=m.groups)
        elif isinstance(m, nn.AvgPool2d):
            k = [m.kernel_size] * 2 if isinstance(m.kernel_size, int) else list(m.kernel_size)
            s = [m.stride] * 2 if isinstance(m.stride, int) else list(m.stride)
            x = b.op("AveragePool", [x], "pool", kernel_shape=k, strides=s)
        elif isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1)):
            x = b.op("GlobalAveragePool", [x], "gap")
        elif isinstance(m, nn.Flatten):
            x = b.op("Flatten", [x], "flatten", axis=1)
        elif isinstance(m, nn.Linear):
            x = b.op("Gemm", [x, b.init(m.weight.detach().numpy(), "fc.w"), b.init(m.bias.detach().numpy(), "fc.b")],
                     "fc", transB=1)
        elif not isinstance(m, nn.Identity):
            raise SnnDeployError(f"cannot export layer {type(m).__name__}")
        i += 1
    return x


def _leaves(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, nn.Sequential):
        return [leaf for m in module for leaf in _leaves(m)]
    return [module]


def _fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    w = conv.weight.detach() * scale.view(-1, 1, 1, 1)
    b = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return w.numpy(), ((b - bn.running_mean) * scale + bn.bias).detach().numpy()
