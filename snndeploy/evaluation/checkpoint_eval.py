"""Accuracy of a checkpoint at any T, stage and alpha (PyTorch): the checkpoint kind's evaluator in the kinds
table (snndeploy.runners.table), called through snndeploy.evaluation.evaluate.evaluate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.device import pick_device
from ..training import checkpoint
from ..training.accuracy import sweep
from .evaluate import AccuracyRow, test_split_for

DEFAULT_TS = [1, 5, 10]


def evaluate_checkpoint(path: str, Ts: list[int] | None = None, stage: int | None = None,
                        alphas: list[float] | None = None, *, data_dir: str | None = None,
                        limit_test: int | None = None, batch_size: int = 256, device: str = "cpu", seed: int = 0,
                        repeats: int = 1, compiled: bool = False,
                        on_result: Callable[[AccuracyRow], None] | None = None,
                        show_progress: bool = False) -> list[AccuracyRow]:
    """Accuracy table of a checkpoint over T (default 1, 5, 10), stage (default 3) and alpha (default the
    checkpoint's) on its own test data; ``compiled``: the PyTorch runner's fast path
    (``SpikingNet.inference_layout``); ``show_progress``: a bar per (alpha, T) advancing per batch of every
    repeat."""
    dev = pick_device(device)
    ck = checkpoint.load(path, dev)
    ck.model.inference_layout(compiled)
    split, spec = test_split_for(ck.facts, data_dir, limit_test)
    neuron = ck.neuron

    def each(row: dict[str, Any]) -> None:
        if on_result is not None:
            on_result(AccuracyRow.from_dict(row))

    rows = sweep(ck.model, neuron, split, spec, Ts or DEFAULT_TS, 3 if stage is None else stage,
                 alphas or [neuron.alpha], batch_size=batch_size, device=dev, seed=seed, repeats=repeats,
                 on_result=each, show_progress=show_progress)
    return [AccuracyRow.from_dict(r) for r in rows]
