"""Checkpoint -> ONNX: the stage-3 (or stage-2) network unrolled over a fixed T (docs/design.md §3-4).

Layer by layer: each synaptic op runs once over all steps on ``[T*B, ...]``, the first layer once
on ``[B, ...]``; the LIF recurrence is unrolled per step on the ``[B, ...]`` parts of one ``Split``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper
from torch import nn

from ..artifacts.naming import DEFAULT_OPSET
from ..core.draws import torch_draws
from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH
from ..core.neuron_config import STAGE_MODE, NeuronConfig, check_noise_mode, check_stage, check_T
from ..models import LIFNode, SpikingNet, TimeFold
from ..models.layers import DrawFn
from ..models.resnet import BasicBlock
from ..neuron import (
    FUNCTIONS,
    Charge,
    Fire,
    Noise,
    NoiseWindow,
    PotentialNorm,
    Reset,
    ResidualNoise,
    step,
    unit,
    unit_rows,
)
from ..neuron.bank import bank_rows
from ..neuron.onnx_builder import DOMAIN, Builder


@dataclass(frozen=True)
class GraphSpec:
    """What to unroll: T, stage, neuron parameters, noise handling, precision, batch."""

    T: int
    stage: int
    neuron: NeuronConfig
    noise: str = "graph"
    fp16: bool = False
    batch: int | None = None  # None: dynamic batch axis
    opset: int = DEFAULT_OPSET
    seed: int = 0  # for frozen noise and the graph-noise bank
    max_batch: int = DEFAULT_MAX_BATCH  # the largest batch a graph-noise bank serves (dynamic batch)

    @property
    def capacity(self) -> int:
        """Largest batch one call takes."""
        return self.batch if self.batch is not None else self.max_batch

    @property
    def mode(self) -> str:
        return STAGE_MODE[self.stage]


@dataclass
class _Flow:
    """A tensor between layers: the same for every step ('const', [B,...]) or folded ([T*B,...])."""

    name: str
    folded: bool


def noise_input_name(layer: int, t: int) -> str:
    """Graph input holding the raw draws of one layer at one step (``--noise input``)."""
    return f"noise.{layer}.{t}"


def named_draws(model: SpikingNet, lookup: Callable[[str, torch.Tensor], torch.Tensor]) -> DrawFn:
    """A draw function that gives each layer, at each step, the unit draws of the raw draws
    ``lookup(noise_input_name(layer, t), like)``."""
    index = {id(n): k for k, n in enumerate(model.lif_nodes())}
    return lambda node, t, like, kind: unit(node.cfg, lookup(noise_input_name(index[id(node)], t), like))


def fed_noise(model: SpikingNet, noise: dict[str, np.ndarray]) -> contextlib.AbstractContextManager[SpikingNet]:
    """Inside the block the model's spiking layers read their raw draws from ``noise``, the feeds a
    ``--noise input`` graph takes (by ``noise_input_name``), so PyTorch and the graph see the same noise."""

    def lookup(name: str, like: torch.Tensor) -> torch.Tensor:
        if name not in noise:
            raise SnnDeployError(f"fed noise lacks '{name}'")
        return torch.from_numpy(np.ascontiguousarray(noise[name], dtype=np.float32)).to(like.device)

    return model.drawing(named_draws(model, lookup))


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
        self.banks: dict[str, str] = {}

    def _lif_shapes(self) -> dict[int, tuple[int, ...]]:
        """Per-sample input shape of every LIF layer, from one dry run."""
        shapes: dict[int, tuple[int, ...]] = {}
        hooks = [n.register_forward_hook(lambda m, i, o: shapes.__setitem__(id(m), tuple(i[0].shape[2:])))
                 for n in self.model.lif_nodes()]
        try:
            with torch.no_grad(), self.model.using("stage2"):
                self.model(torch.zeros(1, *self.model.input_shape), 1)
        finally:
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
    def steps(self, x: _Flow, shape: tuple[int, ...]) -> list[str]:
        """Per-step tensors [B, *shape] of a layer input: the same one T times, or the T parts of [T*B, ...].

        The parts come from one ``Split`` of the input seen as [T, B*N] (the reshapes are free), with
        constant sizes whatever the batch: one op instead of a ``Slice`` per step and their bounds."""
        T = self.spec.T
        if not x.folded:
            return [x.name] * T
        if T == 1:
            return [x.name]
        rows = self.b.op("Reshape", [x.name, self.b.init(np.array([T, -1], np.int64), "t_rows")], "t_rows")
        parts = self.b.op("Split", [rows, self.b.init(np.ones(T, np.int64), "ones")], "step", n_out=T, axis=0)
        per_sample = self.b.init(np.array([-1, *shape], np.int64), "per_sample")
        return [self.b.op("Reshape", [part, per_sample], f"step{t}") for t, part in enumerate(parts)]

    def fold(self, parts: list[str]) -> _Flow:
        return _Flow(parts[0] if len(parts) == 1 else self.b.op("Concat", parts, "folded", axis=0), True)

    def lif(self, node: LIFNode, x: _Flow) -> _Flow:
        spec = self.spec
        ops = _GraphOps(self, self.lif_index[id(node)], self.shapes[id(node)])
        spikes, v = [], None
        for t, i in enumerate(self.steps(x, self.shapes[id(node)])):
            s, v = step(ops, spec.mode, spec.neuron, t, i, v, need_v=t < spec.T - 1)
            spikes.append(s)
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
    check_T(spec.T)
    check_stage(spec.stage)
    check_noise_mode(spec.noise, "noise")
    if spec.stage == 2:
        spec = replace(spec, neuron=replace(spec.neuron, alpha=math.inf))
    model = model.cpu().eval()
    ex = _Exporter(model, spec)
    graph = ex.build()
    dtype = "fp16" if spec.fp16 else "fp32"
    funcs = [op.to_function(spec.neuron, spec.opset, dtype) for name, op in FUNCTIONS.items() if name in ex.used]
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", spec.opset), helper.make_opsetid(DOMAIN, 1)],
                             functions=funcs, producer_name="snndeploy")


class _GraphOps:
    """``snndeploy.neuron.step`` emitting ONNX nodes: custom ops for noise and potential normalisation
    (local functions), the rest inline. Noise is read from a bank at random offsets (graph), fed as raw
    draws (input) or frozen at export."""

    def __init__(self, ex: _Exporter, layer: int, shape: tuple[int, ...]) -> None:
        self.ex, self.b, self.cfg = ex, ex.b, ex.spec.neuron
        self.layer, self.shape = layer, shape
        self._unit: torch.Tensor | None = None

    def _call(self, op: type, x: str, hint: str) -> str:
        self.ex.used.add(op.function)
        return self.b.op(op.function, [x], hint, domain=DOMAIN)

    def _noise(self, op: type, t: int, like: str, hint: str) -> str:
        ex, spec = self.ex, self.ex.spec
        if spec.noise == "frozen":  # one draw for batch 1, broadcast over the batch
            z = draw_frozen(ex.gen, self.shape, self.cfg.noise)
            return self.b.init(op.torch(self.cfg, z).numpy(), f"frozen{self.layer}.{t}")
        if spec.noise == "graph":
            return self._window(op, like)
        if spec.noise == "input":
            name = noise_input_name(self.layer, t)
            dims = [spec.batch if spec.batch is not None else "batch", *self.shape]
            ex.noise_inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
            like = name if not spec.fp16 else self.b.op("Cast", [name], "z16", to=TensorProto.FLOAT16)
        return self._call(op, like, hint)

    def add(self, a: str, b: str) -> str:
        return self.b.op("Add", [a, b], "h")

    def _window(self, op: type, like: str) -> str:
        """A window of this layer's bank of ``op``'s noise at a random offset (``NoiseWindow``; one bank per op
        and layer, shared by the steps). The bank holds the op's final values: nothing is left to compute."""
        spec = self.ex.spec
        key = f"bank{self.layer}.{op.__name__}"
        if key not in self.ex.banks:
            if self._unit is None:  # both ops of a layer map the same unit draws, read at independent offsets
                n = int(np.prod(self.shape))
                self._unit = unit_rows(self.cfg, bank_rows(spec.capacity), n, generator=self.ex.gen)
            self.ex.banks[key] = self.b.init(op.from_unit(self.cfg, self._unit).reshape(-1).numpy(), key)
        self.ex.used.add(NoiseWindow.function)
        return self.b.op(NoiseWindow.function, [self.ex.banks[key], like], "drawn", domain=DOMAIN)

    def noisy(self, t: int, i: str) -> str:
        return self.add(i, self._noise(Noise, t, i, "noise"))

    def noisy_fire(self, t: int, i: str) -> str:
        return self.fire(self.noisy(t, i))

    def residual(self, t: int, i: str) -> str:
        return self._noise(ResidualNoise, t, i, "residual")

    def potential_norm(self, v: str) -> str:
        return self._call(PotentialNorm, v, "pnorm")

    def charge(self, v: str, i: str) -> str:
        return Charge.onnx(self.b, self.cfg, v, i)

    def fire(self, h: str) -> str:
        return Fire.onnx(self.b, self.cfg, h)

    def reset(self, h: str, s: str) -> str:
        return Reset.onnx(self.b, self.cfg, h, s)


def draw_frozen(gen: torch.Generator, shape: tuple[int, ...], kind: str) -> torch.Tensor:
    """Raw draws [1, *shape] for frozen noise, from the export's seeded generator."""
    return torch_draws(kind, torch.empty((1, *shape)), gen)
