"""PyTorch runner: a checkpoint run as the stage-2/3 network at a chosen T."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import checkpoint as ckpt
from ..core.device import pick_device
from ..core.facts import ArtifactFacts
from ..core.neuron_config import check_alpha
from ..export.graph import fed_noise
from .base import Runner


class TorchRunner(Runner):
    """Eager PyTorch inference of a checkpoint."""

    def __init__(self, path: str | Path, T: int = 5, stage: int = 3, alpha: float | None = None,
                 device: str = "cpu", cuda_graphs: bool = True) -> None:
        super().__init__()

        self.path, self.device = Path(path), pick_device(device)
        self.checkpoint = ckpt.load(path, self.device)
        neuron = self.checkpoint.neuron
        neuron = dataclasses.replace(neuron, alpha=math.inf if stage == 2 else (alpha or neuron.alpha))
        check_alpha(neuron.alpha, neuron.noise_lo, neuron.noise_hi)
        self.model = self.checkpoint.model.set_neuron(neuron).set_mode(f"stage{stage}")
        self._facts = dataclasses.replace(self.checkpoint.facts, T=T, stage=stage, neuron=neuron, noise="graph",
                                          precision="fp32")
        self.backend = f"pytorch-{self.device.type}"
        self.cuda_graphs = cuda_graphs and self.device.type == "cuda"
        self._graphs: dict[tuple[int, ...], tuple[Any, torch.Tensor, torch.Tensor]] = {}

    @property
    def facts(self) -> ArtifactFacts:
        return self._facts

    def _activate_impl(self) -> None:
        self.model.eval()

    def _deactivate_impl(self) -> None:
        self._graphs.clear()

    @torch.no_grad()
    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        x = torch.from_numpy(feeds["images"]).to(self.device)
        noise = {k: v for k, v in feeds.items() if k != "images"}
        if noise:  # the same raw draws a --noise input graph would be fed
            with fed_noise(self.model, noise):
                return self.model(x, self.T).float().cpu().numpy()
        if self.cuda_graphs:
            return self._replay(x).float().cpu().numpy()
        return self.model(x, self.T).float().cpu().numpy()

    def _replay(self, x: torch.Tensor) -> torch.Tensor:
        """Run through a CUDA graph captured once per input shape (fresh noise on every replay)."""
        key = tuple(x.shape)
        if key not in self._graphs:
            static_in = x.clone()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):  # warm-up outside the graph, as PyTorch's docs prescribe
                for _ in range(3):
                    self.model(static_in, self.T)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                static_out = self.model(static_in, self.T)
            self._graphs[key] = (graph, static_in, static_out)
        graph, static_in, static_out = self._graphs[key]
        static_in.copy_(x)
        graph.replay()
        return static_out

    def synchronize(self) -> None:
        """Wait for the GPU, so that timings measure the work and not its launch."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
