"""Building blocks of a multi-step network: the LIF node and the time-folded synaptic wrapper.

Tensors between blocks are ``[T, B, ...]``. Synaptic ops fold T into the batch (one big conv or
GEMM over all steps); the cheap element-wise neuron recurrence then runs over t.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from ..core.errors import SnnDeployError
from ..core.neuron_config import NeuronConfig
from ..neuron import draw, run_steps

# (node, t, like, kind) -> raw draws; lets tests and the exporter feed the same noise everywhere.
DrawFn = Callable[["LIFNode", int, torch.Tensor, str], torch.Tensor]


class TimeFold(nn.Module):
    """Apply a per-sample module to ``[T, B, ...]`` by folding T into the batch axis."""

    def __init__(self, *layers: nn.Module) -> None:
        super().__init__()
        self.op = layers[0] if len(layers) == 1 else nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.op(x.flatten(0, 1))
        return y.unflatten(0, x.shape[:2])


class LIFNode(nn.Module):
    """A layer of spiking neurons running ``snndeploy.neuron.step`` in one of MODES over ``[T, B, ...]``
    input currents (``ann``: ReLU, for the ANN baseline of the same architecture)."""

    def __init__(self, cfg: NeuronConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.mode = "stage1"
        self.draw_fn: DrawFn | None = None
        # Raw draws are consumed at once (nothing saved for backward), so one buffer is reused.
        self._buffer: torch.Tensor | None = None

    def extra_repr(self) -> str:
        return f"mode={self.mode}, noise={self.cfg.noise}[{self.cfg.noise_lo},{self.cfg.noise_hi}]"

    def _draw(self, t: int, like: torch.Tensor) -> torch.Tensor:
        if self.draw_fn is not None:
            return self.draw_fn(self, t, like, self.cfg.noise)
        buf = self._buffer
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype or buf.device != like.device:
            buf = self._buffer = torch.empty_like(like, memory_format=torch.contiguous_format)
        return draw(like, self.cfg.noise, out=buf)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "ann":
            return torch.relu(x)
        if self.mode == "stage1" and x.shape[0] != 1:
            raise SnnDeployError(f"stage1 is the single-step network (T = 1), got T = {x.shape[0]}")
        return run_steps(self.mode, self.cfg, x, self._draw)[0]
