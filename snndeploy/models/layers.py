"""Building blocks of a multi-step network: the LIF node and the time-folded synaptic wrapper.

Tensors between blocks are ``[T, B, ...]``. Synaptic ops fold T into the batch (one big conv or
GEMM over all steps); the cheap element-wise neuron recurrence then runs over t. Each block's ``emit``
writes its ``forward`` as ONNX nodes (``snndeploy.models.emit``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..core.config import NOISE_DRAWS
from ..core.errors import SnnDeployError
from ..core.neuron_config import NeuronConfig
from ..neuron import NoiseBank, bank_for, draw, run_steps, step, unit
from .emit import Flow, GraphContext, emit_torch

# (node, t, like, kind) -> unit draws (snndeploy.neuron.unit); lets tests and the exporter feed the same
# noise everywhere.
DrawFn = Callable[["LIFNode", int, torch.Tensor, str], torch.Tensor]


class TimeFold(nn.Module):
    """Apply a per-sample module to ``[T, B, ...]`` by folding T into the batch axis."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.op = layers[0] if len(layers) == 1 else nn.Sequential(*layers)

    channels_last = False  # feed 4-D inputs channels-last (SpikingNet.inference_layout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        folded = x.flatten(0, 1)
        if self.channels_last and folded.dim() == 4:
            folded = folded.contiguous(memory_format=torch.channels_last)
        y = self.op(folded)
        return y.unflatten(0, x.shape[:2])

    def emit(self, g: GraphContext, x: Flow) -> Flow:
        """``forward`` as ONNX nodes: the op once over all steps folded into the batch (or once on a tensor that
        is the same at every step)."""
        return Flow(emit_torch(g.b, self.op, x.name), x.folded)


class LIFNode(nn.Module):
    """A layer of spiking neurons running ``snndeploy.neuron.step`` in one of MODES over ``[T, B, ...]``
    input currents (``ann``: ReLU, for the ANN baseline of the same architecture).

    Noise comes from a bank of pre-drawn unit draws read at random offsets (``draws = "bank"``, the default,
    ``snndeploy.neuron.bank``) or is drawn afresh for every element at every call (``draws = "fresh"``).
    """

    DRAWS = NOISE_DRAWS

    def __init__(self, cfg: NeuronConfig, draws: str = "bank") -> None:
        super().__init__()
        self.cfg = cfg
        self.mode = "stage1"
        self.draws = draws
        self.compiled = False  # inference steps through torch.compile (SpikingNet.inference_layout)
        self.draw_fn: DrawFn | None = None
        self.bank: NoiseBank | None = None

    def extra_repr(self) -> str:
        return f"mode={self.mode}, noise={self.cfg.noise}[{self.cfg.noise_lo},{self.cfg.noise_hi}]"

    def renew_noise(self) -> None:
        """Drop the bank: the next call draws a new one from the global RNG (training does so every epoch)."""
        self.bank = None

    def _draw(self, t: int, like: torch.Tensor) -> torch.Tensor:
        if self.draw_fn is not None:
            return self.draw_fn(self, t, like, self.cfg.noise)
        if self.draws == "fresh":
            return unit(self.cfg, draw(like, self.cfg.noise))
        self.bank = bank_for(self.bank, self.cfg, like)
        return self.bank.window(like)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "ann":
            return torch.relu(x)
        if self.mode == "stage1" and x.shape[0] != 1:
            raise SnnDeployError(f"stage1 is the single-step network (T = 1), got T = {x.shape[0]}")
        return run_steps(self.mode, self.cfg, x, self._draw, compiled=self.compiled)[0]

    def emit(self, g: GraphContext, x: Flow) -> Flow:
        """``forward`` as ONNX nodes: ``step`` on the [B, ...] part of every step, through the neuron backend
        the graph gives this layer (its noise is the export's choice), the spikes folded into [T*B, ...]."""
        if self.mode == "ann":
            return Flow(g.b.op("Relu", [x.name], "relu"), x.folded)
        if self.mode == "stage1" and g.T != 1:
            raise SnnDeployError(f"stage1 is the single-step network (T = 1), got T = {g.T}")
        ops, shape = g.neuron(self, self.cfg)
        spikes, v = [], None
        for t, i in enumerate(g.steps(x, shape)):
            s, v = step(ops, self.mode, self.cfg, t, i, v, need_v=t < g.T - 1)
            spikes.append(s)
        return g.fold(spikes)
