"""Training cost of the noisy T=1 method against the ReLU ANN (and BPTT) of the same architecture."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from ..core.errors import SnnDeployError
from ..data import Dataset, iterate_batches
from ..models import build_model
from ..train import TRAIN_MODE, loss_fn


@dataclass(frozen=True)
class Method:
    """One way to train: 'noise' (T=1), 'ann' (ReLU) or 'bptt' at T steps."""

    name: str
    T: int = 1

    @property
    def label(self) -> str:
        return self.name if self.name != "bptt" else f"bptt T={self.T}"


def _epoch_runner(model_name: str, method: Method, data: Dataset, batch_size: int, seed: int,
                  max_batches: int | None) -> Callable[[int, int | None], float]:
    """A function that trains one (possibly truncated) epoch and returns its seconds."""
    if method.name not in TRAIN_MODE:
        raise SnnDeployError(f"unknown method '{method.name}'; choose one of: {', '.join(TRAIN_MODE)}")
    torch.manual_seed(seed)
    model = build_model(model_name, data.spec.input_shape, data.spec.num_classes).train()
    model.set_mode(TRAIN_MODE[method.name])
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)

    def run(epoch: int, limit: int | None = max_batches) -> float:
        gen = torch.Generator().manual_seed(seed + epoch)
        t0 = time.perf_counter()
        for i, (x, y) in enumerate(iterate_batches(data.train, data.spec, batch_size, shuffle=True, generator=gen,
                                                   drop_last=True)):
            if limit is not None and i >= limit:
                break
            loss = loss_fn("mse", model(x, method.T), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return time.perf_counter() - t0

    return run


def compare_epoch_time(model_name: str, methods: list[Method], data: Dataset, *, batch_size: int = 64,
                       rounds: int = 3, max_batches: int | None = None, seed: int = 0,
                       on_round: Callable[[int], None] | None = None) -> list[dict[str, Any]]:
    """Median seconds per epoch of each method, epochs interleaved round by round to share drift."""
    if rounds < 1:
        raise SnnDeployError(f"rounds must be >= 1, got {rounds}")
    runners = [_epoch_runner(model_name, m, data, batch_size, seed, max_batches) for m in methods]
    for run in runners:  # warm-up: allocator, kernels, thread pools
        run(-1, 3)
    times: list[list[float]] = [[] for _ in methods]
    for r in range(rounds):
        for run, acc in zip(runners, times, strict=True):
            acc.append(run(r))
        if on_round is not None:
            on_round(r)
    n_batches = len(data.train) // batch_size
    n_batches = n_batches if max_batches is None else min(max_batches, n_batches)
    base = statistics.median(times[0])
    return [
        {"model": model_name, "method": m.name, "T": m.T, "label": m.label, "batch": batch_size,
         "epoch_s": statistics.median(t), "epoch_s_all": t,
         "samples_per_s": n_batches * batch_size / statistics.median(t), "ratio_to_first": statistics.median(t) / base}
        for m, t in zip(methods, times, strict=True)
    ]
