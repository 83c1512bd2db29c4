"""`snndeploy bench`: every artifact, backend, precision, T and batch in one table (after Ultralytics'
benchmark): accuracy, latency percentiles, throughput, artifact size, and a status per row.

A backend that cannot run on this machine (no GPU, no TensorRT, no onnxruntime-gpu: the kinds table's
``unavailable`` or a runner's BackendUnavailable) and a batch outside a runner's limits become rows whose
status says why; any other error still stops the run.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import SnnDeployError
from ..core.facts import PRECISIONS
from ..engine.build import BuildConfig, build_engine
from ..evaluate import runner_accuracy, test_split_for
from ..export import metadata as onnx_meta
from ..runners import BACKENDS, ArtifactKind, BackendUnavailable, Runner, kind_for_backend, kind_of
from ..runners.onnxruntime import OnnxRuntimeRunner
from ..runners.tensorrt import TensorRTRunner
from .timing import time_runner

OK = "ok"
METRICS = ("accuracy", "p50_ms", "p90_ms", "p99_ms", "images_per_s")


@dataclass(frozen=True)
class BenchConfig:
    """What to measure."""
    backends: tuple[str, ...] = ("pytorch", "onnxruntime")
    batches: tuple[int, ...] = (1, 64)
    Ts: tuple[int, ...] = (1, 5, 10)
    precisions: tuple[str, ...] = ("fp32",)
    device: str = "cpu"
    limit_test: int | None = None
    iters: int = 20
    warmup: int = 3
    work: str = "runs/bench"

    def __post_init__(self) -> None:
        for b in self.backends:
            kind_for_backend(b)
        if any(b < 1 for b in self.batches):
            raise SnnDeployError(f"batch sizes must be >= 1, got {list(self.batches)}")
        if any(t < 1 for t in self.Ts):
            raise SnnDeployError(f"T must be >= 1, got {list(self.Ts)}")
        bad = [p for p in self.precisions if p not in PRECISIONS]
        if bad:
            raise SnnDeployError(f"unknown precision '{bad[0]}'; choose from {', '.join(PRECISIONS)}")


@dataclass(frozen=True)
class Plan:
    """One runner to measure, made only when its backend can run here (exports and builds are costly)."""

    kind: ArtifactKind
    device: str
    precision: str
    T: int
    make: Callable[[], tuple[Runner, Path]]


def _size_mb(path: Path) -> float:
    """File size; for a checkpoint, its weights file."""
    if kind_of(path).name != "checkpoint":
        return path.stat().st_size / 1e6
    from ..checkpoint import read_meta  # checkpoints need PyTorch; graphs and engines do not

    meta_path, _, extra = read_meta(path)
    return (meta_path.parent / extra["weights"]["file"]).stat().st_size / 1e6


def _onnx_for(path: Path, T: int, precision: str, work: Path) -> Path:
    """Export (and for int8 quantize) the graph a checkpoint row needs."""
    from ..export.exporter import ExportConfig, export  # exporting needs PyTorch
    from ..export.quantize import quantize_onnx

    cfg = ExportConfig(T=(T,), fp16=precision == "fp16", inline=precision == "int8", out=str(work / precision))
    (exported,) = export(path, cfg)
    if precision != "int8":
        return exported.path
    return quantize_onnx(exported.path).path  # beside the fp32 graph, under the graph's int8 name


def _engine_for(onnx_path: Path, batches: tuple[int, ...], work: Path) -> tuple[Runner, Path]:
    """An engine whose profile spans the benchmark's batches (a fixed-batch graph keeps its batch), built into
    the work folder: never over an engine the user keeps next to the graph."""
    facts = onnx_meta.load(onnx_path)[1]
    batch = None if facts.batch != "dynamic" else (min(batches), max(batches), max(batches))
    out = work / "engines" / f"{onnx_path.stem}.plan"
    engine = build_engine(onnx_path, BuildConfig(precision=facts.precision, batch=batch, out=str(out)))[0]
    return TensorRTRunner(engine), engine


def _ort(graph: Callable[[], Path], device: str) -> Callable[[], tuple[Runner, Path]]:
    def make() -> tuple[Runner, Path]:
        path = graph()
        return OnnxRuntimeRunner(path, device=device), path
    return make


def _trt(graph: Callable[[], Path], batches: tuple[int, ...], work: Path) -> Callable[[], tuple[Runner, Path]]:
    return lambda: _engine_for(graph(), batches, work)


def plan_runners(artifact: str, cfg: BenchConfig) -> list[Plan]:
    """The runners (and the file each one measures) that one artifact expands to."""
    path, work = Path(artifact), Path(cfg.work)
    kind = kind_of(path)
    ort, trt = kind_for_backend("onnxruntime"), kind_for_backend("tensorrt")
    if kind.name == "engine":
        facts = TensorRTRunner(path).facts  # the sidecar is read and checked now, TensorRT or not
        return [Plan(kind, "cuda", facts.precision, facts.T or 0, lambda: (TensorRTRunner(path), path))]
    plans: list[Plan] = []
    if kind.name == "onnx":
        facts = onnx_meta.load(path)[1]  # a bad file is an error, not a status

        def given() -> Path:
            return path

        if "onnxruntime" in cfg.backends:
            plans.append(Plan(ort, cfg.device, facts.precision, facts.T or 0, _ort(given, cfg.device)))
        if "tensorrt" in cfg.backends:
            plans.append(Plan(trt, "cuda", facts.precision, facts.T or 0, _trt(given, cfg.batches, work)))
        return plans
    for T in cfg.Ts:
        if "pytorch" in cfg.backends:
            plans.append(Plan(kind, cfg.device, "fp32", T, functools.partial(_torch, path, T, cfg.device)))
        for precision in cfg.precisions:
            # exported once, when the first backend that needs it runs
            graph = functools.cache(functools.partial(_onnx_for, path, T, precision, work / f"T{T}"))
            if "onnxruntime" in cfg.backends:
                plans.append(Plan(ort, cfg.device, precision, T, _ort(graph, cfg.device)))
            if "tensorrt" in cfg.backends:
                plans.append(Plan(trt, "cuda", precision, T, _trt(graph, cfg.batches, work / f"T{T}")))
    return plans


def _torch(path: Path, T: int, device: str) -> tuple[Runner, Path]:
    from ..runners.torch_runner import TorchRunner  # the PyTorch backend, only where a checkpoint is benchmarked

    return TorchRunner(path, T=T, device=device), path


def _row(artifact: str, plan: Plan, batch: int | None, status: str, file: Path | None = None,
         backend: str | None = None) -> dict[str, Any]:
    label = backend or (f"{plan.kind.backend}-{plan.device}" if plan.kind.name != "engine" else "tensorrt")
    return {"artifact": artifact, "backend": label, "precision": plan.precision, "T": plan.T, "batch": batch,
            "status": status, **dict.fromkeys(METRICS), "size_mb": None if file is None else _size_mb(file),
            "file": None if file is None else str(file)}


def measure(artifact: str, plan: Plan, cfg: BenchConfig) -> list[dict[str, Any]]:
    """The rows of one planned runner: accuracy once, then latency per batch size (or status rows)."""
    if (why := plan.kind.unavailable(plan.device)) is not None:
        return [_row(artifact, plan, None, why)]
    try:
        runner, file = plan.make()
        with runner:
            split, spec = test_split_for(runner.facts, limit_test=cfg.limit_test)
            acc = runner_accuracy(runner, split, spec)
            rows = []
            for batch in cfg.batches:
                row = _row(artifact, plan, batch, OK, file, backend=runner.backend)
                if (problem := runner.batch_problem(batch)) is not None:
                    rows.append({**row, "status": problem})
                    continue
                t = time_runner(runner, batch, warmup=cfg.warmup, iters=cfg.iters)
                rows.append({**row, "accuracy": acc, **{k: t[k] for k in METRICS[1:]}})
            return rows
    except BackendUnavailable as exc:
        return [_row(artifact, plan, None, str(exc))]


def run_bench(artifacts: list[str], cfg: BenchConfig,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Measure every runner of every artifact; rows that could not be measured carry their reason in status."""
    if not artifacts:
        raise SnnDeployError("give at least one artifact (checkpoint, .onnx or .plan)")
    rows = []
    for artifact in artifacts:
        for plan in plan_runners(artifact, cfg):
            for row in measure(str(artifact), plan, cfg):
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    return rows


__all__ = ["BACKENDS", "OK", "BenchConfig", "Plan", "measure", "plan_runners", "run_bench"]
