"""Checkpoint -> ONNX: the stage-3 (or stage-2) network unrolled over a fixed T (DESIGN.md §3).

Layer by layer: each synaptic op runs once over all steps on ``[T*B, ...]``, the first layer once
on ``[B, ...]``; the LIF recurrence is unrolled per step on ``[B, ...]`` slices.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from torch import nn

from .. import neuron as nm
from ..core.errors import SnnDeployError
from ..core.neuron_config import NeuronConfig
from ..models import LIFNode, SpikingNet, TimeFold
from ..models.resnet import BasicBlock
from .builder import DOMAIN, Builder
from .functions import NOISE, POTENTIAL_NORM, RESIDUAL, functions_for

NOISE_MODES = ("graph", "input", "frozen")


@dataclass(frozen=True)
class GraphSpec:
    """What to unroll: T, stage, neuron parameters, noise handling, precision, batch."""

    T: int
    stage: int
    neuron: NeuronConfig
    noise: str = "graph"
    fp16: bool = False
    batch: int | None = None  # None: dynamic batch axis
    opset: int = 17
    seed: int = 0  # for frozen noise

    @property
    def uses_potential(self) -> bool:
        return self.stage == 3 and not math.isinf(self.neuron.alpha) and self.T > 1


@dataclass
class _Flow:
    """A tensor between layers: the same for every step ('const', [B,...]) or folded ([T*B,...])."""

    name: str
    folded: bool


def noise_input_name(layer: int, t: int) -> str:
    """Graph input holding the raw draws of one layer at one step (``--noise input``)."""
    return f"noise.{layer}.{t}"


def _leaves(module: nn.Module) -> list[nn.Module]:
    if isinstance(module, nn.Sequential):
        return [leaf for m in module for leaf in _leaves(m)]
    if isinstance(module, TimeFold):
        return _leaves(module.op)
    return [module]


def _fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[np.ndarray, np.ndarray]:
    scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).detach()
    w = conv.weight.detach() * scale.view(-1, 1, 1, 1)
    b = conv.bias.detach() if conv.bias is not None else torch.zeros_like(bn.running_mean)
    return w.numpy(), ((b - bn.running_mean) * scale + bn.bias).detach().numpy()


class _Exporter:
    def __init__(self, model: SpikingNet, spec: GraphSpec) -> None:
        self.model, self.spec = model, spec
        self.b = Builder(spec.opset, "fp16" if spec.fp16 else "fp32")
        self.lif_index = {id(n): i for i, n in enumerate(model.lif_nodes())}
        self.shapes = self._lif_shapes()
        self.noise_inputs: list[onnx.ValueInfoProto] = []
        self.used: set[str] = set()
        self.gen = torch.Generator().manual_seed(spec.seed)
        self._bounds: dict[int, str] = {}

    def _lif_shapes(self) -> dict[int, tuple[int, ...]]:
        """Per-sample input shape of every LIF layer, from one dry run."""
        shapes: dict[int, tuple[int, ...]] = {}
        hooks = [n.register_forward_hook(lambda m, i, o: shapes.__setitem__(id(m), tuple(i[0].shape[2:])))
                 for n in self.model.lif_nodes()]
        mode = self.model.lif_nodes()[0].mode
        try:
            with torch.no_grad():
                self.model.set_mode("stage2")(torch.zeros(1, *self.model.input_shape), 1)
        finally:
            self.model.set_mode(mode)
            for h in hooks:
                h.remove()
        return shapes

    # -- synaptic ops -------------------------------------------------------------------------
    def ops(self, module: nn.Module, x: str) -> str:
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
                x = self.b.op("Conv", [x, self.b.init(w, "conv.w"), self.b.init(bias, "conv.b")], "conv",
                              kernel_shape=list(m.kernel_size), strides=list(m.stride), pads=list(m.padding) * 2,
                              dilations=list(m.dilation), group=m.groups)
            elif isinstance(m, nn.AvgPool2d):
                k = [m.kernel_size] * 2 if isinstance(m.kernel_size, int) else list(m.kernel_size)
                s = [m.stride] * 2 if isinstance(m.stride, int) else list(m.stride)
                x = self.b.op("AveragePool", [x], "pool", kernel_shape=k, strides=s)
            elif isinstance(m, nn.AdaptiveAvgPool2d) and m.output_size in (1, (1, 1)):
                x = self.b.op("GlobalAveragePool", [x], "gap")
            elif isinstance(m, nn.Flatten):
                x = self.b.op("Flatten", [x], "flatten", axis=1)
            elif isinstance(m, nn.Linear):
                x = self._gemm(m, x)
            elif not isinstance(m, nn.Identity):
                raise SnnDeployError(f"cannot export layer {type(m).__name__}")
            i += 1
        return x

    def _gemm(self, m: nn.Linear, x: str) -> str:
        w = self.b.init(m.weight.detach().numpy(), "fc.w")
        b = self.b.init(m.bias.detach().numpy(), "fc.b")
        return self.b.op("Gemm", [x, w, b], "fc", transB=1)

    # -- time steps ---------------------------------------------------------------------------
    def _bound(self, t: int) -> str:
        """t * B as an int64 [1] tensor (B static or read from the input)."""
        if t not in self._bounds:
            if self.spec.batch is not None:
                self._bounds[t] = self.b.init(np.array([t * self.spec.batch], np.int64), f"b{t}")
            else:
                if -1 not in self._bounds:
                    self._bounds[-1] = self.b.op("Shape", ["images"], "batch", start=0, end=1)
                self._bounds[t] = self.b.op("Mul", [self._bounds[-1], self.b.init(np.array([t], np.int64), "t")],
                                            f"b{t}")
        return self._bounds[t]

    def steps(self, x: _Flow) -> list[str]:
        if not x.folded:
            return [x.name] * self.spec.T
        if self.spec.T == 1:
            return [x.name]
        axes = self.b.init(np.array([0], np.int64), "axes0")
        return [self.b.op("Slice", [x.name, self._bound(t), self._bound(t + 1), axes], f"step{t}")
                for t in range(self.spec.T)]

    def fold(self, parts: list[str]) -> _Flow:
        return _Flow(parts[0] if len(parts) == 1 else self.b.op("Concat", parts, "folded", axis=0), True)

    def _noise(self, layer: int, shape: tuple[int, ...], t: int, like: str, residual: bool) -> str:
        spec, cfg, fn = self.spec, self.spec.neuron, RESIDUAL if residual else NOISE
        if spec.noise == "frozen":
            draw = torch.randn if cfg.noise == "gaussian" else torch.rand
            z = draw((1, *shape), generator=self.gen)
            if residual:
                value = nm.residual_noise(z, cfg.residual, cfg.noise)
            else:
                value = nm.noise(z, cfg.noise, cfg.noise_lo, cfg.noise_hi)
            return self.b.init(value.numpy(), f"frozen{layer}.{t}")
        self.used.add(fn)
        if spec.noise == "input":
            name = noise_input_name(layer, t)
            dims = [spec.batch if spec.batch is not None else "batch", *shape]
            self.noise_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
            like = name if not spec.fp16 else self.b.op("Cast", [name], "z16", to=TensorProto.FLOAT16)
        return self.b.op(fn, [like], "noise" if not residual else "residual", domain=DOMAIN)

    def lif(self, node: LIFNode, x: _Flow) -> _Flow:
        spec, cfg, layer = self.spec, self.spec.neuron, self.lif_index[id(node)]
        shape = self.shapes[id(node)]
        v_th = self.b.const(cfg.v_th, "v_th")
        v_reset = self.b.const(cfg.v_reset, "v_reset") if spec.uses_potential else None
        spikes, v = [], None
        for t, i in enumerate(self.steps(x)):
            if v is None:
                h = self.b.op("Add", [i, self._noise(layer, shape, t, i, False)], "h")
            else:
                self.used.add(POTENTIAL_NORM)
                h = self.b.op("Add", [self.b.op(POTENTIAL_NORM, [v], "pnorm", domain=DOMAIN), i], "h")
                if cfg.residual > 0:
                    h = self.b.op("Add", [h, self._noise(layer, shape, t, i, True)], "h")
            fired = self.b.op("Greater", [h, v_th], "fired")
            spikes.append(self.b.op("Cast", [fired], "spikes", to=self.b.onnx_dtype))
            if spec.uses_potential and t < spec.T - 1:
                v = self.b.op("Where", [fired, v_reset, h], "v")
        return self.fold(spikes)

    def block(self, blk: BasicBlock, x: _Flow) -> _Flow:
        y = self.lif(blk.lif1, _Flow(self.ops(blk.conv1, x.name), True))
        y_name = self.ops(blk.conv2, y.name)
        return self.lif(blk.lif2, _Flow(self.b.op("Add", [y_name, self.ops(blk.shortcut, x.name)], "residual_add"),
                                        True))

    def build(self) -> onnx.GraphProto:
        spec, b = self.spec, self.b
        images = "images"
        x_in = b.op("Cast", [images], "images16", to=TensorProto.FLOAT16) if spec.fp16 else images
        x = _Flow(self.ops(self.model.stem, x_in), folded=False)
        for item in self.model.body:
            if isinstance(item, LIFNode):
                x = self.lif(item, x)
            elif isinstance(item, BasicBlock):
                x = self.block(item, x)
            elif isinstance(item, TimeFold):
                x = _Flow(self.ops(item, x.name), True)
            else:
                raise SnnDeployError(f"cannot export block {type(item).__name__}")
        features = self.model.head.in_features
        h = x.name
        if spec.T > 1:  # mean over steps first: the readout is linear, so W mean(S) + b == mean(W S + b)
            h = b.reduce("ReduceMean", b.op("Reshape", [h, b.init(np.array([spec.T, -1, features], np.int64),
                                                                  "tbf")], "tbf"), [0], keepdims=0, hint="rate")
        logits = self._gemm(self.model.head, h)
        if spec.fp16:
            logits = b.op("Cast", [logits], "logits32", to=TensorProto.FLOAT)
        b.nodes.append(helper.make_node("Identity", [logits], ["logits"], name="n_logits"))
        batch = spec.batch if spec.batch is not None else "batch"
        inputs = [helper.make_tensor_value_info(images, TensorProto.FLOAT, [batch, *self.model.input_shape])]
        outputs = [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, self.model.head.out_features])]
        return helper.make_graph(b.nodes, "snndeploy", inputs + self.noise_inputs, outputs, b.initializers)


def build_model_proto(model: SpikingNet, spec: GraphSpec) -> onnx.ModelProto:
    """The unrolled network as an ONNX model (custom ops as local functions, not yet inlined)."""
    if spec.T < 1:
        raise SnnDeployError(f"T must be >= 1, got {spec.T}")
    if spec.stage not in (2, 3):
        raise SnnDeployError(f"stage must be 2 or 3, got {spec.stage}")
    if spec.noise not in NOISE_MODES:
        raise SnnDeployError(f"unknown noise mode '{spec.noise}'; choose one of: {', '.join(NOISE_MODES)}")
    if spec.stage == 2:
        spec = replace(spec, neuron=replace(spec.neuron, alpha=math.inf))
    model = model.cpu().eval()
    ex = _Exporter(model, spec)
    graph = ex.build()
    funcs = functions_for(spec.neuron, spec.opset, "fp16" if spec.fp16 else "fp32", spec.noise == "input", ex.used)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", spec.opset), helper.make_opsetid(DOMAIN, 1)],
                             functions=funcs, producer_name="snndeploy")
