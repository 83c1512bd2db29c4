"""Training cost of the noisy T=1 method against the ReLU ANN (and BPTT) of the same architecture.

Each method is a training run set up exactly as `snndeploy train` sets one up (seeded model, Adam with
cosine warm restarts, the same batch order), advanced one epoch per round by the same ``train_epoch``.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Any

import torch

from ...core.config import TrainConfig
from ...core.errors import SnnDeployError
from ...core.neuron_config import TRAIN_MODE
from ...data.datasets import Dataset
from ...models import SpikingNet
from ...training.train import (
    EpochStats,
    epoch_batches,
    make_optimizer,
    seeded_model,
    steps_per_epoch,
    train_epoch,
)


@dataclass(frozen=True)
class Method:
    """One way to train: 'noise' (T=1; noise from a bank or fresh draws), 'ann' (ReLU) or 'bptt' at T steps."""

    name: str
    T: int = 1
    draws: str = "bank"

    @property
    def label(self) -> str:
        if self.name == "noise":
            return "noise" if self.draws == "bank" else f"noise ({self.draws} draws)"
        return self.name if self.name != "bptt" else f"bptt T={self.T}"


class TrainingRun:
    """One method's single-process `snndeploy train` run (default lr, scheduler and loss), one epoch per call.

    Each run keeps its own global-RNG state between calls, so interleaving several runs leaves each one
    drawing the noise it would draw alone.
    """

    def __init__(self, model_name: str, method: Method, data: Dataset, batch_size: int, seed: int) -> None:
        self.cfg = TrainConfig(model=model_name, method=method.name, T=method.T, batch_size=batch_size, seed=seed,
                               noise_draws=method.draws)
        self.data = data
        neuron = self.cfg.neuron
        with torch.random.fork_rng(devices=[]):
            self.model: SpikingNet = seeded_model(model_name, data.spec, neuron, seed, draws=method.draws)
            self.rng = torch.get_rng_state()
        self.opt, self.sched = make_optimizer(self.model, self.cfg.lr, self.cfg.t0_epochs)
        self.steps = steps_per_epoch(len(data.train), batch_size, drop_last=False)

    def epoch(self, epoch: int, max_batches: int | None = None) -> EpochStats:
        """Train epoch ``epoch`` (its first ``max_batches`` batches when given)."""
        cfg = self.cfg
        with torch.random.fork_rng(devices=[]):
            torch.set_rng_state(self.rng)
            batches = epoch_batches(self.data, cfg.batch_size, seed=cfg.seed, epoch=epoch, augment=cfg.augment)
            stats = train_epoch(self.model, islice(batches, max_batches), self.opt, self.sched, epoch=epoch,
                                steps=self.steps, mode=TRAIN_MODE[cfg.method], T=cfg.T, loss=cfg.loss)
            self.rng = torch.get_rng_state()
        return stats


def compare_epoch_time(model_name: str, methods: list[Method], data: Dataset, *, batch_size: int = 64,
                       rounds: int = 3, max_batches: int | None = None, seed: int = 0,
                       on_round: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Median seconds per epoch of each method, epochs interleaved round by round to share drift.

    Round r is epoch r of each method's run. A throwaway run per method first trains 3 batches, so that
    allocator, kernels and thread pools are warm and the measured runs stay those of `snndeploy train`.
    """
    if rounds < 1:
        raise SnnDeployError(f"rounds must be >= 1, got {rounds}")
    for m in methods:
        TrainingRun(model_name, m, data, batch_size, seed).epoch(0, 3)
    runs = [TrainingRun(model_name, m, data, batch_size, seed) for m in methods]
    stats: list[list[EpochStats]] = [[] for _ in methods]
    for r in range(rounds):
        for run, acc in zip(runs, stats, strict=True):
            acc.append(run.epoch(r, max_batches))
        if on_round is not None:
            on_round(r)
    rows = []
    for m, s in zip(methods, stats, strict=True):
        times = [e.seconds for e in s]
        rows.append({"model": model_name, "method": m.name, "T": m.T, "draws": m.draws, "label": m.label,
                     "batch": batch_size,
                     "epoch_s": statistics.median(times), "epoch_s_all": times, "images": s[0].seen,
                     "samples_per_s": s[0].seen / statistics.median(times)})
    base = rows[0]["epoch_s"]
    for row in rows:
        row["ratio_to_first"] = row["epoch_s"] / base
        # the same ratio within each round (epochs run back to back), then the median: robust to a machine whose
        # speed drifts between rounds
        row["round_ratio_to_first"] = statistics.median(
            t / b for t, b in zip(row["epoch_s_all"], rows[0]["epoch_s_all"], strict=True))
    return rows
