"""PyTorch runner: a checkpoint run as the stage-2/3 network at a chosen T."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import checkpoint as ckpt
from ..neuron import check_alpha
from .base import Runner


class TorchRunner(Runner):
    """Eager PyTorch inference of a checkpoint."""

    def __init__(self, path: str | Path, T: int = 5, stage: int = 3, alpha: float | None = None,
                 device: str = "cpu") -> None:
        super().__init__()
        from ..train import pick_device

        self.path, self.device = Path(path), pick_device(device)
        self.checkpoint = ckpt.load(path, self.device)
        neuron = self.checkpoint.neuron
        neuron = dataclasses.replace(neuron, alpha=math.inf if stage == 2 else (alpha or neuron.alpha))
        check_alpha(neuron.alpha, neuron.noise_lo, neuron.noise_hi)
        self.model = self.checkpoint.model.set_neuron(neuron).set_mode(f"stage{stage}")
        self._meta = {**self.checkpoint.meta, "T": T, "stage": stage, "neuron": neuron.to_dict(),
                      "noise": "graph", "precision": "fp32"}
        self.backend = f"pytorch-{self.device.type}"

    @property
    def meta(self) -> dict[str, Any]:
        return self._meta

    def load(self) -> TorchRunner:
        self.loaded = True
        return self

    @torch.no_grad()
    def _infer(self, images: np.ndarray, noise: dict[str, np.ndarray] | None) -> np.ndarray:
        x = torch.from_numpy(images).to(self.device)
        return self.model(x, self.T).float().cpu().numpy()
