"""Test accuracy of a PyTorch network: at one T, over a sweep of T and alpha, or at every T = 1..T_max from
one run at T_max.

A network run over T steps is causal: its first k steps are a k-step run. So the readout's running
mean over one long run gives the accuracy at every shorter T for the cost of the longest.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Iterable
from typing import Any

import torch

from ..core.errors import SnnDeployError
from ..core.neuron_config import STAGE_MODE, NeuronConfig, check_alpha, check_stage, check_T
from ..core.spec import DataSpec
from ..data.datasets import Split, batches_of, iterate_batches
from ..models import SpikingNet
from ..ui.progress import Bar


@torch.no_grad()
def count_correct(model: SpikingNet, split: Split, spec: DataSpec, T: int, mode: str, *, batch_size: int = 256,
                  device: str | torch.device = "cpu", shard: tuple[int, int] = (0, 1),
                  on_batch: Callable[[], None] | None = None) -> tuple[int, int]:
    """(right, seen) over this process's shard of ``split``, spiking layers in ``mode`` over T steps;
    ``on_batch`` is called after each batch (progress)."""
    correct = seen = 0
    with model.using(mode, training=False):
        for x, y in iterate_batches(split, spec, batch_size, shuffle=False, device=device, shard=shard):
            correct += int((model(x, T).argmax(1) == y).sum())
            seen += len(y)
            if on_batch is not None:
                on_batch()
    return correct, seen


def accuracy(model: SpikingNet, split: Split, spec: DataSpec, T: int, mode: str, *, batch_size: int = 256,
             device: str | torch.device = "cpu", on_batch: Callable[[], None] | None = None) -> float:
    """Fraction of ``split`` classified right with every spiking layer in ``mode`` over T steps."""
    correct, seen = count_correct(model, split, spec, T, mode, batch_size=batch_size, device=device,
                                  on_batch=on_batch)
    return correct / max(seen, 1)


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
                  batch_size: int = 256, device: str | torch.device = "cpu", chunk: int | None = None) -> list[float]:
    """Test accuracy at T = 1..T_max (index T - 1), spiking layers in ``mode`` (None: as they are).

    ``chunk`` runs the steps that many at a time (bounded memory; see ``SpikingNet.readouts``).
    """
    check_T(T_max)
    right = torch.zeros(T_max, dtype=torch.int64)
    seen = 0
    with model.using(mode, training=False):
        for x, y in iterate_batches(split, spec, batch_size, shuffle=False, device=device):
            right += count_by_T(model.readouts(x, T_max, chunk), y).cpu()
            seen += len(y)
    return (right.double() / max(seen, 1)).tolist()


def sweep(model: SpikingNet, neuron: NeuronConfig, split: Split, spec: DataSpec, Ts: list[int], stage: int,
          alphas: list[float], *, batch_size: int = 256, device: str | torch.device = "cpu",
          seed: int = 0, repeats: int = 1, on_result: Any = None, show_progress: bool = False) -> list[dict[str, Any]]:
    """Accuracy for every (alpha, T), averaged over ``repeats`` noise draws; alpha only matters for stage 3.

    PyTorch draws its noise afresh, so every repeat is a pass of its own (``repeats_note`` is None);
    ``show_progress``: a bar per (alpha, T) advancing per batch of every repeat."""
    check_stage(stage)
    if repeats < 1:
        raise SnnDeployError(f"repeats must be >= 1, got {repeats}")
    for T in Ts:
        check_T(T)
    for alpha in alphas:
        check_alpha(alpha, neuron.noise_lo, neuron.noise_hi)
    results = []
    batches = batches_of(split, batch_size)
    with Bar(enabled=show_progress) as bar:
        for alpha in alphas if stage == 3 else [math.inf]:
            with model.using(neuron=dataclasses.replace(neuron, alpha=alpha)):
                for T in Ts:
                    task = bar.start(f"T={T}" + (f" alpha={alpha:g}" if stage == 3 else ""), repeats * batches)
                    accs = []
                    for rep in range(repeats):
                        torch.manual_seed(seed + rep)
                        model.renew_noise()  # each repeat's noise bank from its own seed

                        def advance(rep: int = rep, task: int = task) -> None:
                            bar.advance(task, f"repeat {rep + 1}/{repeats}")

                        accs.append(accuracy(model, split, spec, T, STAGE_MODE[stage], batch_size=batch_size,
                                             device=device, on_batch=advance))
                    row = {"T": T, "stage": stage, "alpha": alpha if stage == 3 else None,
                           "accuracy": statistics.fmean(accs), "accuracy_std": statistics.pstdev(accs),
                           "repeats": repeats, "repeats_note": None}
                    bar.finish(task, f"{100 * row['accuracy']:.2f}%")
                    results.append(row)
                    if on_result is not None:
                        on_result(row)
    return results
