"""`snndeploy bench`: every artifact, backend, precision, T and batch in one table (after
Ultralytics' benchmark): accuracy, latency percentiles, throughput, artifact size."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checkpoint import WEIGHTS, read_meta
from ..core.errors import SnnDeployError
from ..engine.build import BuildConfig, build_engine
from ..evaluate import runner_accuracy, test_split_for
from ..export import ExportConfig, export
from ..export.quantize import quantize_onnx
from ..runners import Runner
from ..runners.onnxruntime import OnnxRuntimeRunner
from ..runners.tensorrt import TensorRTRunner
from ..runners.torch_runner import TorchRunner
from .timing import time_runner

BACKENDS = ("pytorch", "onnxruntime", "tensorrt")


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
        bad = [b for b in self.backends if b not in BACKENDS]
        if bad:
            raise SnnDeployError(f"unknown backend '{bad[0]}'; choose from {', '.join(BACKENDS)}")
        if any(b < 1 for b in self.batches):
            raise SnnDeployError(f"batch sizes must be >= 1, got {list(self.batches)}")
        if any(t < 1 for t in self.Ts):
            raise SnnDeployError(f"T must be >= 1, got {list(self.Ts)}")
        bad = [p for p in self.precisions if p not in ("fp32", "fp16", "int8")]
        if bad:
            raise SnnDeployError(f"unknown precision '{bad[0]}'; choose from fp32, fp16, int8")


def _size_mb(path: Path) -> float:
    """File size; for a checkpoint, its weights file."""
    if path.suffix in (".onnx", ".plan", ".engine"):
        return path.stat().st_size / 1e6

    meta_path, _, extra = read_meta(path)
    return (meta_path.parent / extra["weights"].get("file", WEIGHTS)).stat().st_size / 1e6


def _onnx_for(path: Path, T: int, precision: str, work: Path) -> Path:
    """Export (and for int8 quantize) the graph a checkpoint row needs."""
    cfg = ExportConfig(T=(T,), fp16=precision == "fp16", inline=precision == "int8", out=str(work / precision))
    (exported,) = export(path, cfg)
    if precision != "int8":
        return exported.path

    return quantize_onnx(exported.path, out=work / "int8" / f"{exported.path.stem}_int8.onnx").path


def _engine_for(onnx_path: Path, precision: str, batches: tuple[int, ...]) -> Path:
    lo, hi = min(batches), max(batches)
    return build_engine(onnx_path, BuildConfig(precision=precision, batch=(lo, hi, hi)))[0]


def plan_runners(artifact: str, cfg: BenchConfig) -> list[tuple[Runner, Path]]:
    """The runners (and the file each one measures) that one artifact expands to."""
    path, work = Path(artifact), Path(cfg.work)
    out: list[tuple[Runner, Path]] = []
    if path.suffix in (".plan", ".engine"):
        return [(TensorRTRunner(path), path)]
    if path.suffix == ".onnx":
        if "onnxruntime" in cfg.backends:
            out.append((OnnxRuntimeRunner(path, device=cfg.device), path))
        if "tensorrt" in cfg.backends:
            engine = _engine_for(path, OnnxRuntimeRunner(path).precision, cfg.batches)
            out.append((TensorRTRunner(engine), engine))
        return out
    for T in cfg.Ts:
        if "pytorch" in cfg.backends:
            out.append((TorchRunner(path, T=T, device=cfg.device), path))
        for precision in cfg.precisions:
            if "onnxruntime" not in cfg.backends and "tensorrt" not in cfg.backends:
                break
            onnx_path = _onnx_for(path, T, precision, work / f"T{T}")
            if "onnxruntime" in cfg.backends:
                out.append((OnnxRuntimeRunner(onnx_path, device=cfg.device), onnx_path))
            if "tensorrt" in cfg.backends:
                engine = _engine_for(onnx_path, precision, cfg.batches)
                out.append((TensorRTRunner(engine), engine))
    return out


def run_bench(artifacts: list[str], cfg: BenchConfig,
              on_row: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Measure every runner of every artifact: accuracy once, then latency per batch size."""
    if not artifacts:
        raise SnnDeployError("give at least one artifact (checkpoint, .onnx or .plan)")
    rows = []
    for artifact in artifacts:
        for runner, file in plan_runners(artifact, cfg):
            with runner:
                split, spec = test_split_for(runner.facts, limit_test=cfg.limit_test)
                acc = runner_accuracy(runner, split, spec)
                for batch in cfg.batches:
                    t = time_runner(runner, batch, warmup=cfg.warmup, iters=cfg.iters)
                    row = {"artifact": str(artifact), "backend": runner.backend, "precision": runner.precision,
                           "T": runner.T, "batch": batch, "accuracy": acc, "p50_ms": t["p50_ms"],
                           "p90_ms": t["p90_ms"], "p99_ms": t["p99_ms"], "images_per_s": t["images_per_s"],
                           "size_mb": _size_mb(file), "file": str(file)}
                    rows.append(row)
                    if on_row is not None:
                        on_row(row)
    return rows
