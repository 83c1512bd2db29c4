"""Checkpoint -> ONNX: the stage-3 (or stage-2) network unrolled over a fixed T (docs/design.md §3-4).

The network writes its own nodes (``SpikingNet.emit``: every module's ONNX form next to its ``forward``,
snndeploy/models/emit.py): layer by layer, each synaptic op runs once over all steps on ``[T*B, ...]``, the first
layer once on ``[B, ...]``; the LIF recurrence is unrolled per step on the ``[B, ...]`` parts of one ``Split``.
This module adds the graph-level parts: the inputs and output, the precision casts, how noise enters every
spiking layer (frozen, a bank read in the graph, or fed as inputs) and the local functions of the custom ops.
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

from ..artifacts.naming import DEFAULT_OPSET, FROZEN_NOISE, NOISE_BANK, noise_input_name
from ..core.draws import torch_draws
from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH
from ..core.neuron_config import STAGE_MODE, NeuronConfig, check_noise_mode, check_stage, check_T
from ..models import SpikingNet
from ..models.emit import GraphContext
from ..models.layers import DrawFn
from ..neuron import (
    FUNCTIONS,
    Charge,
    Fire,
    Noise,
    NoiseWindow,
    PotentialNorm,
    Reset,
    ResidualNoise,
    unit,
    unit_rows,
)
from ..neuron.bank import bank_rows
from ..neuron.onnx_builder import DOMAIN, Builder

__all__ = ["GraphSpec", "build_model_proto", "draw_frozen", "fed_noise", "named_draws", "noise_input_name"]


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


class _Exporter:
    """One graph being written: the network's own nodes plus the graph-level parts."""

    def __init__(self, model: SpikingNet, spec: GraphSpec) -> None:
        self.model, self.spec = model, spec
        self.b = Builder(spec.opset, "fp16" if spec.fp16 else "fp32")
        self.graph = GraphContext(self.b, spec.T, model.spiking_shapes(),
                                  lambda layer, shape, cfg: _GraphOps(self, layer, shape, cfg))
        self.noise_inputs: list[onnx.ValueInfoProto] = []
        self.used: set[str] = set()
        self.gen = torch.Generator().manual_seed(spec.seed)
        self.banks: dict[str, str] = {}

    def build(self) -> onnx.GraphProto:
        spec, b = self.spec, self.b
        images = "images"
        x_in = b.op("Cast", [images], "images16", to=TensorProto.FLOAT16) if spec.fp16 else images
        with self.model.using(spec.mode, neuron=spec.neuron):
            logits = self.model.emit(self.graph, x_in)
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

    def __init__(self, ex: _Exporter, layer: int, shape: tuple[int, ...], cfg: NeuronConfig) -> None:
        self.ex, self.b, self.cfg = ex, ex.b, cfg
        self.layer, self.shape = layer, shape
        self._unit: torch.Tensor | None = None

    def _call(self, op: type, x: str, hint: str) -> str:
        self.ex.used.add(op.function)
        return self.b.op(op.function, [x], hint, domain=DOMAIN)

    def _noise(self, op: type, t: int, like: str, hint: str) -> str:
        ex, spec = self.ex, self.ex.spec
        if spec.noise == "frozen":  # one draw for batch 1, broadcast over the batch
            z = draw_frozen(ex.gen, self.shape, self.cfg.noise)
            return self.b.init(op.torch(self.cfg, z).numpy(), FROZEN_NOISE.format(layer=self.layer, t=t))
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
        key = NOISE_BANK.format(layer=self.layer, op=op.__name__)
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
