"""The multi-step network container shared by every architecture."""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator

import numpy as np
import torch
from torch import nn

from ..core.errors import SnnDeployError
from ..core.neuron_config import NeuronConfig, check_T
from ..neuron import MODES
from .emit import Flow, GraphContext, emit_block, emit_torch
from .layers import DrawFn, LIFNode, TimeFold


class SpikingNet(nn.Module):
    """stem (run once on the image) -> body over [T, B, ...] -> linear readout averaged over T."""

    def __init__(self, stem: nn.Module, body: nn.Module, head: nn.Linear, input_shape: tuple[int, int, int]) -> None:
        super().__init__()
        self.stem, self.body, self.head = stem, body, head
        self.input_shape = tuple(input_shape)
        self.channels_last = False  # see inference_layout

    def lif_nodes(self) -> list[LIFNode]:
        """Every spiking layer, in order."""
        return [m for m in self.modules() if isinstance(m, LIFNode)]

    def set_mode(self, mode: str) -> SpikingNet:
        """Switch every spiking layer to one of MODES."""
        if mode not in MODES:
            raise SnnDeployError(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}")
        for node in self.lif_nodes():
            node.mode = mode
        return self

    def set_neuron(self, cfg: NeuronConfig) -> SpikingNet:
        """Give every spiking layer new neuron parameters (e.g. another alpha at inference)."""
        for node in self.lif_nodes():
            node.cfg = cfg
        return self

    def set_draws(self, draws: str) -> SpikingNet:
        """Noise from a bank read at random offsets ("bank") or drawn afresh every call ("fresh")."""
        if draws not in LIFNode.DRAWS:
            raise SnnDeployError(f"unknown noise draws '{draws}'; choose one of: {', '.join(LIFNode.DRAWS)}")
        for node in self.lif_nodes():
            node.draws = draws
        return self

    def inference_layout(self, fast: bool = True) -> SpikingNet:
        """For inference on the CPU: convolutions and pooling channels-last (PyTorch's fast CPU kernels), and
        every neuron step compiled (``torch.compile``, plain ops where it is unavailable). Training is unaffected
        by the step compilation, which only runs with gradients off."""
        fmt = torch.channels_last if fast else torch.contiguous_format
        self.channels_last = fast
        for m in self.modules():
            if isinstance(m, TimeFold):
                m.channels_last = fast
            elif isinstance(m, nn.Conv2d):
                m.weight.data = m.weight.data.contiguous(memory_format=fmt)
        for node in self.lif_nodes():
            node.compiled = fast
        return self

    def renew_noise(self) -> SpikingNet:
        """Every spiking layer draws a new noise bank on its next call."""
        for node in self.lif_nodes():
            node.renew_noise()
        return self

    @contextlib.contextmanager
    def drawing(self, draw_fn: DrawFn) -> Iterator[SpikingNet]:
        """Inside the block every spiking layer takes its raw draws from ``draw_fn`` (fed noise, buffers a
        CUDA graph owns) instead of drawing them itself."""
        nodes = self.lif_nodes()
        try:
            for node in nodes:
                node.draw_fn = draw_fn
            yield self
        finally:
            for node in nodes:
                node.draw_fn = None

    @contextlib.contextmanager
    def using(self, mode: str | None = None, *, alpha: float | None = None, neuron: NeuronConfig | None = None,
              training: bool | None = None) -> Iterator[SpikingNet]:
        """Run a block with the spiking layers in ``mode`` (and other neuron parameters or alpha), then
        restore every layer's mode and parameters and the train/eval flag, also when the block raises."""
        if mode is not None and mode not in MODES:
            raise SnnDeployError(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}")
        nodes = self.lif_nodes()
        saved = [(node.mode, node.cfg) for node in nodes]
        was_training = self.training
        # Validate before changing anything, so a bad alpha leaves the model as it was.
        cfgs = [neuron or cfg for _, cfg in saved]
        if alpha is not None:
            cfgs = [dataclasses.replace(cfg, alpha=alpha) for cfg in cfgs]
        try:
            for node, cfg in zip(nodes, cfgs, strict=True):
                node.cfg = cfg
                node.mode = mode or node.mode
            if training is not None:
                self.train(training)
            yield self
        finally:
            for node, (old_mode, old_cfg) in zip(nodes, saved, strict=True):
                node.mode, node.cfg = old_mode, old_cfg
            self.train(was_training)

    def readouts(self, x: torch.Tensor, T: int, chunk: int | None = None) -> Iterator[torch.Tensor]:
        """The readout at every step, [t, B, classes], ``chunk`` steps at a time (default all T at once).

        The one forward sequence: the stem runs once (the input is the same at every step), the body
        over [t, B, ...], the linear head per step. Running in chunks only continues the recurrence
        where the spiking layers carry their potential between calls (conversion's IF layers do).
        """
        check_T(T)
        chunk = chunk or T
        for m in self.modules():  # layers that carry state between chunks start every sequence afresh
            if hasattr(m, "reset_state"):
                m.reset_state()
        current = self.stem(x.contiguous(memory_format=torch.channels_last) if self.channels_last else x)
        for start in range(0, T, chunk):
            steps = min(chunk, T - start)
            h = self.body(current.unsqueeze(0).expand(steps, *current.shape))
            yield self.head(h.flatten(2))

    def forward(self, x: torch.Tensor, T: int = 1) -> torch.Tensor:
        """Images [B, C, H, W] -> logits [B, classes], the readout averaged over T steps."""
        (per_step,) = self.readouts(x, T)
        return per_step.mean(0)

    def spiking_shapes(self) -> dict[LIFNode, tuple[int, ...]]:
        """Every spiking layer, in order, and the per-sample shape of its input (from one dry run at T = 1)."""
        shapes: dict[LIFNode, tuple[int, ...]] = {}
        hooks = [n.register_forward_hook(lambda m, i, o: shapes.__setitem__(m, tuple(i[0].shape[2:])))
                 for n in self.lif_nodes()]
        try:
            with torch.no_grad(), self.using("stage2"):
                self(torch.zeros(1, *self.input_shape), 1)
        finally:
            for h in hooks:
                h.remove()
        return {n: shapes[n] for n in self.lif_nodes()}

    def emit(self, g: GraphContext, images: str) -> str:
        """``forward`` over ``g.T`` steps as ONNX nodes: images [B, C, H, W] -> logits [B, classes].

        The stem runs once on the images, the body's blocks over all steps (each through its own ``emit``), and
        the readout once on the spikes averaged over the steps: it is linear, so W mean(S) + b == mean(W S + b)."""
        b = g.b
        x = Flow(emit_torch(b, self.stem, images), folded=False)
        for block in self.body:
            x = emit_block(g, block, x)
        h = x.name
        if g.T > 1 and x.folded:
            rows = b.op("Reshape", [h, b.init(np.array([g.T, -1, self.head.in_features], np.int64), "tbf")], "tbf")
            h = b.reduce("ReduceMean", rows, [0], keepdims=0, hint="rate")
        return emit_torch(b, self.head, h)
