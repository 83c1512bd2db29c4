"""Latency and throughput of any Runner (numpy only: runs where PyTorch is not installed)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from ..runners import Runner


def time_runner(runner: Runner, batch: int, *, warmup: int = 3, iters: int = 20, min_seconds: float = 0.5,
                seed: int = 0, on_run: Callable[[], None] | None = None) -> dict[str, float]:
    """p10 / p50 / p90 / p99 latency (ms) of one batch through an active runner and images/s, after warm-up; each
    run ends with ``runner.synchronize()`` so that GPU work is timed, not its launch. At least ``iters`` runs,
    more (up to 10x) until ``min_seconds`` have passed; ``on_run`` is called after each timed run (progress)."""
    spec = runner.spec
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, *spec.input_shape)).astype(np.float32)
    noise = runner.draw_noise(batch, rng)
    for _ in range(warmup):
        runner.infer(x, noise)
    runner.synchronize()
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < iters or (time.perf_counter() - start < min_seconds and len(times) < 10 * iters):
        t0 = time.perf_counter()
        runner.infer(x, noise)
        runner.synchronize()
        times.append(time.perf_counter() - t0)
        if on_run is not None:
            on_run()
    ms = np.array(times) * 1e3
    return {"p10_ms": float(np.percentile(ms, 10)), "p50_ms": float(np.percentile(ms, 50)),
            "p90_ms": float(np.percentile(ms, 90)), "p99_ms": float(np.percentile(ms, 99)),
            "images_per_s": batch / float(np.median(times)), "iters": len(times)}
