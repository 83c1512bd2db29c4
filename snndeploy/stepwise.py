"""Accuracy at every T = 1..T_max from one run at T_max.

A network run over T steps is causal: its first k steps are a k-step run. So the readout's running
mean over one long run gives the accuracy at every shorter T for the cost of the longest.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import torch

from .core.errors import SnnDeployError
from .core.spec import DataSpec
from .data import Split, iterate_batches
from .models import MODES, SpikingNet

# (model, images, T) -> per-step readouts [t, B, classes], in time order, covering T steps in all
StepFn = Callable[[SpikingNet, torch.Tensor, int], Iterable[torch.Tensor]]


def step_readouts(model: SpikingNet, x: torch.Tensor, T: int) -> Iterator[torch.Tensor]:
    """The readout at every step [T, B, classes], computed as SpikingNet.forward does before its mean."""
    current = model.stem(x)
    h = model.body(current.unsqueeze(0).expand(T, *current.shape))
    yield model.head(h.flatten(2))


def count_by_T(chunks: Iterable[torch.Tensor], labels: torch.Tensor) -> torch.Tensor:
    """Right answers at every T from per-step readouts [t, B, classes] arriving in time order."""
    total = torch.zeros(())
    counts = []
    for chunk in chunks:
        running = torch.cumsum(chunk, 0) + total  # the sum is the mean times T: same argmax
        total = running[-1]
        counts.append((running.argmax(-1) == labels).sum(1))
    return torch.cat(counts)


@torch.no_grad()
def accuracy_by_T(model: SpikingNet, split: Split, spec: DataSpec, T_max: int, *, mode: str | None = None,
                  batch_size: int = 256, device: str | torch.device = "cpu",
                  steps: StepFn = step_readouts) -> list[float]:
    """Test accuracy at T = 1..T_max (index T - 1), spiking layers in ``mode`` (None: as they are)."""
    if T_max < 1:
        raise SnnDeployError(f"T must be >= 1, got {T_max}")
    if mode is not None and mode not in MODES:
        raise SnnDeployError(f"unknown mode '{mode}'; choose one of: {', '.join(MODES)}")
    was_training = model.training
    model.eval()
    if mode is not None:
        model.set_mode(mode)
    right = torch.zeros(T_max, dtype=torch.int64)
    seen = 0
    try:
        for x, y in iterate_batches(split, spec, batch_size, shuffle=False, device=device):
            counts = count_by_T(steps(model, x, T_max), y)
            if counts.shape[0] != T_max:
                raise SnnDeployError(f"step function gave {counts.shape[0]} steps, expected {T_max}")
            right += counts.cpu()
            seen += len(y)
    finally:
        model.train(was_training)
    return (right.double() / max(seen, 1)).tolist()
