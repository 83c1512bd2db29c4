"""`snndeploy bench`: every artifact, backend, precision, T and batch in one table (after Ultralytics'
benchmark): accuracy, latency percentiles, throughput, artifact size, and a status per row.

A backend that cannot run on this machine (no GPU, no TensorRT, no onnxruntime-gpu: the kinds table's
``unavailable`` or a runner's BackendUnavailable), a precision the backend does not run (the kinds table's
``precision_problem``, or a graph exported at another precision) and a batch outside a runner's limits become
rows whose status says why, never a row measured at something else; any other error still stops the run.

Rows are plain dicts (ROW_KEYS, then whatever a later measurement adds): writers and the table take the
columns they know and keep the rest.
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..artifacts import metadata as onnx_meta
from ..core.errors import SnnDeployError
from ..core.facts import PRECISIONS
from ..core.neuron_config import check_T
from ..data.datasets import batches_of
from ..engine.build import BuildConfig, build_engine
from ..evaluation import stats
from ..evaluation.evaluate import runner_accuracy, test_split_for
from ..runners import BACKENDS, KINDS, ArtifactKind, BackendUnavailable, Runner, kind_for_backend, kind_of
from ..runners.onnxruntime import OnnxRuntimeRunner
from ..runners.tensorrt import TensorRTRunner
from ..ui.progress import Bar
from . import environment
from .timing import time_runner

OK = "ok"
ACCURACY_BATCH = 256  # images per run of the accuracy pass (one progress step)
METRICS = ("accuracy", "p10_ms", "p50_ms", "p90_ms", "p99_ms", "images_per_s")
ROW_KEYS = ("artifact", "backend", "precision", "T", "batch", "noise", "status", *METRICS, "size_mb", "file", "path")
# noise mode of the graphs bench exports for checkpoints (ExportConfig's default), and of the PyTorch runner (a new
# window of its noise bank on every call: what a --noise graph graph does)
EXPORT_NOISE, TORCH_NOISE = "frozen", "fresh"


@dataclass(frozen=True)
class BenchConfig:
    """What to measure; ``precisions`` empty: fp32 for checkpoints, and every graph or engine at its own."""
    backends: tuple[str, ...] = ("pytorch", "onnxruntime")
    batches: tuple[int, ...] = (1, 64)
    Ts: tuple[int, ...] = (1, 5, 10)
    precisions: tuple[str, ...] = ()
    device: str = "cpu"
    limit_test: int | None = None
    iters: int = 20
    warmup: int = 3
    work: str = "runs/bench"
    stats: bool = False  # add firing rate, ACs and energy columns (snndeploy.evaluation.stats) to checkpoints' rows
    seed: int = 0  # of the accuracy pass's noise: the same rows on every run

    def __post_init__(self) -> None:
        for b in self.backends:
            kind_for_backend(b)
        if any(b < 1 for b in self.batches):
            raise SnnDeployError(f"batch sizes must be >= 1, got {list(self.batches)}")
        for T in self.Ts:
            check_T(T)
        bad = [p for p in self.precisions if p not in PRECISIONS]
        if bad:
            raise SnnDeployError(f"unknown precision '{bad[0]}'; choose from {', '.join(PRECISIONS)}")
        known = sorted({d for kind in KINDS for d in kind.devices})
        if not (self.device in known or re.fullmatch(r"cuda:\d+", self.device)):
            # a device no backend knows is a typo: refused, not a status row per backend
            raise SnnDeployError(f"--device must be one of {', '.join(known)} (or cuda:N), got '{self.device}'")


# A maker gets the progress bar (so that an export or an engine build shows as a step of its own) and returns
# the active-able runner and the file it measures.
Maker = Callable[[Bar], tuple[Runner, Path]]


@dataclass(frozen=True)
class Plan:
    """One runner to measure, made only when its backend can run here (exports and builds are costly);
    ``problem``: why this combination is not measured at all (a status row)."""

    kind: ArtifactKind
    device: str
    precision: str
    T: int
    noise: str | None
    make: Maker
    problem: str | None = None

    @property
    def backend(self) -> str:
        """The row's backend label before a runner exists (the runner's own label once it does)."""
        return "tensorrt" if self.kind.name == "engine" else f"{self.kind.backend}-{self.device}"


def short_names(artifacts: list[str]) -> list[str]:
    """A short, unique name per artifact for the table: the file name, or a checkpoint's folder name; names
    that collide take parent folders until they differ (``a/model.onnx``, ``b/model.onnx``); the same path
    given twice is numbered."""
    targets = []
    for a in artifacts:
        p = Path(a).resolve()
        targets.append(p.parent if kind_of(p).name == "checkpoint" and not p.is_dir() else p)
    depth = [1] * len(targets)
    while True:
        names = ["/".join(t.parts[-d:]) for t, d in zip(targets, depth, strict=True)]
        grow = [i for i, n in enumerate(names) if depth[i] < len(targets[i].parts) - 1
                and any(n == m and targets[i] != targets[j] for j, m in enumerate(names) if j != i)]
        if not grow:
            break
        for i in grow:
            depth[i] += 1
    counts, seen = Counter(names), Counter[str]()
    out = []
    for n in names:
        seen[n] += 1
        out.append(f"{n} ({seen[n]})" if counts[n] > 1 else n)
    return out


def _size_mb(path: Path) -> float:
    """File size; for a checkpoint, its weights file."""
    if kind_of(path).name != "checkpoint":
        return path.stat().st_size / 1e6
    from ..training.checkpoint import read_meta  # checkpoints need PyTorch; graphs and engines do not

    meta_path, _, extra = read_meta(path)
    return (meta_path.parent / extra["weights"]["file"]).stat().st_size / 1e6


def _onnx_for(path: Path, T: int, precision: str, work: Path) -> Path:
    """Export (and for int8 quantize) the graph a checkpoint row needs."""
    from ..export.exporter import ExportConfig, export  # exporting needs PyTorch
    from ..export.quantize import quantize_onnx

    cfg = ExportConfig(T=(T,), fp16=precision == "fp16", inline=precision == "int8", noise=EXPORT_NOISE,
                       out=str(work / precision))
    (exported,) = export(path, cfg)
    if precision != "int8":
        return exported.path
    return quantize_onnx(exported.path).path  # beside the fp32 graph, under the graph's int8 name


class _Export:
    """The graph of one checkpoint at one T and precision, exported once, when the first runner that needs it
    is made."""

    def __init__(self, path: Path, T: int, precision: str, work: Path) -> None:
        self.args, self.path = (path, T, precision, work), None
        folder = path.resolve() if path.is_dir() else path.resolve().parent
        self.what = f"export {folder.name} T={T} {precision}"

    def __call__(self, bar: Bar) -> Path:
        if self.path is None:
            self.path = bar.step(self.what, lambda: _onnx_for(*self.args), lambda p: p.name)
        return self.path


def _engine_for(onnx_path: Path, batches: tuple[int, ...], work: Path, bar: Bar) -> tuple[Runner, Path]:
    """An engine whose profile spans the benchmark's batches (a fixed-batch graph keeps its batch), built into
    the work folder: never over an engine the user keeps next to the graph."""
    facts = onnx_meta.load(onnx_path)[1]
    batch = None if facts.batch != "dynamic" else (min(batches), max(batches), max(batches))
    out = work / "engines" / f"{onnx_path.stem}.plan"
    cfg = BuildConfig(precision=facts.precision, batch=batch, out=str(out))
    engine = bar.step(f"build TensorRT engine {out.name}", lambda: build_engine(onnx_path, cfg)[0],
                   lambda p: p.name)
    return TensorRTRunner(engine), engine


def _ort(graph: Callable[[Bar], Path], device: str) -> Maker:
    def make(bar: Bar) -> tuple[Runner, Path]:
        path = graph(bar)
        return OnnxRuntimeRunner(path, device=device), path
    return make


def _trt(graph: Callable[[Bar], Path], batches: tuple[int, ...], work: Path) -> Maker:
    return lambda bar: _engine_for(graph(bar), batches, work, bar)


def _torch(path: Path, T: int, device: str, bar: Bar) -> tuple[Runner, Path]:
    from ..runners.torch_runner import TorchRunner  # the PyTorch backend, only where a checkpoint is benchmarked

    return TorchRunner(path, T=T, device=device), path


def _fixed(kind: ArtifactKind, device: str, precision: str, T: int, noise: str | None, make: Maker,
           cfg: BenchConfig, path: Path) -> list[Plan]:
    """The plans of a graph or an engine, whose precision was fixed when it was made: measured at that
    precision, and a status row for every other precision asked for."""
    plans = [Plan(kind, device, precision, T, noise, make)] if not cfg.precisions or precision in cfg.precisions \
        else []
    for other in cfg.precisions:
        if other != precision:
            why = (f"{path.name} is an {precision} {'engine' if kind.name == 'engine' else 'graph'}; --precision "
                   f"{other} applies to checkpoints (or export/build the artifact at {other})")
            plans.append(Plan(kind, device, other, T, noise, make, problem=why))
    return plans


def plan_runners(artifact: str, cfg: BenchConfig) -> list[Plan]:
    """The runners (and the file each one measures) that one artifact expands to."""
    path, work = Path(artifact), Path(cfg.work)
    kind = kind_of(path)
    ort, trt = kind_for_backend("onnxruntime"), kind_for_backend("tensorrt")
    if kind.name == "engine":
        facts = TensorRTRunner(path).facts  # the sidecar is read and checked now, TensorRT or not
        return _fixed(kind, "cuda", facts.precision, facts.T or 0, facts.noise,
                      lambda bar: (TensorRTRunner(path), path), cfg, path)
    plans: list[Plan] = []
    if kind.name == "onnx":
        facts = onnx_meta.load(path)[1]  # a bad file is an error, not a status

        def given(bar: Bar) -> Path:
            return path

        if "onnxruntime" in cfg.backends:
            plans += _fixed(ort, cfg.device, facts.precision, facts.T or 0, facts.noise, _ort(given, cfg.device),
                            cfg, path)
        if "tensorrt" in cfg.backends:
            plans += _fixed(trt, "cuda", facts.precision, facts.T or 0, facts.noise, _trt(given, cfg.batches, work),
                            cfg, path)
        return plans
    for T in cfg.Ts:
        for precision in cfg.precisions or ("fp32",):
            if "pytorch" in cfg.backends:
                plans.append(Plan(kind, cfg.device, precision, T, TORCH_NOISE,
                                  functools.partial(_torch, path, T, cfg.device),
                                  problem=kind.precision_problem(precision)))
            graph = _Export(path, T, precision, work / f"T{T}")  # exported once, for the first backend that needs it
            if "onnxruntime" in cfg.backends:
                plans.append(Plan(ort, cfg.device, precision, T, EXPORT_NOISE, _ort(graph, cfg.device)))
            if "tensorrt" in cfg.backends:
                plans.append(Plan(trt, "cuda", precision, T, EXPORT_NOISE, _trt(graph, cfg.batches, work / f"T{T}")))
    return plans


def _row(name: str, artifact: str, plan: Plan, batch: int | None, status: str, file: Path | None = None,
         backend: str | None = None) -> dict[str, Any]:
    return {"artifact": name, "backend": backend or plan.backend, "precision": plan.precision, "T": plan.T,
            "batch": batch, "noise": plan.noise, "status": status, **dict.fromkeys(METRICS),
            "size_mb": None if file is None else _size_mb(file), "file": None if file is None else str(file),
            "path": artifact}


def measure(artifact: str, plan: Plan, cfg: BenchConfig, name: str | None = None,
            bar: Bar | None = None) -> list[dict[str, Any]]:
    """The rows of one planned runner: accuracy once, then latency per batch size (or status rows); each step
    (export, engine build, accuracy pass, timing of each batch) is a task on ``bar``."""
    name = name or short_names([artifact])[0]
    bar = bar or Bar(enabled=False)
    if (why := plan.problem or plan.kind.unavailable(plan.device)) is not None:
        return [_row(name, artifact, plan, None, why)]
    label = f"{name} {plan.backend} {plan.precision} T={plan.T}"
    try:
        runner, file = plan.make(bar)
        with runner:
            split, spec = test_split_for(runner.facts, limit_test=cfg.limit_test)
            task = bar.start(f"accuracy {label} ({len(split)} images)", batches_of(split, ACCURACY_BATCH))
            runner.reseed(cfg.seed)  # noise the runner draws itself; fed draws come from the seed below
            acc = runner_accuracy(runner, split, spec, batch_size=ACCURACY_BATCH, seed=cfg.seed,
                                  on_batch=lambda: bar.advance(task))
            bar.finish(task, f"{100 * acc:.2f}%")
            rows = []
            for batch in cfg.batches:
                row = _row(name, artifact, plan, batch, OK, file, backend=runner.backend)
                if (problem := runner.batch_problem(batch)) is not None:
                    rows.append({**row, "status": problem})
                    continue
                task = bar.start(f"timing {label} batch {batch}", cfg.iters)
                runs = [0]

                def tick(task: int = task, runs: list[int] = runs) -> None:
                    runs[0] += 1
                    if runs[0] < cfg.iters:  # more runs than asked where min_seconds needs them: the bar stays full
                        bar.advance(task)

                t = time_runner(runner, batch, warmup=cfg.warmup, iters=cfg.iters, on_run=tick)
                bar.finish(task, f"p50 {t['p50_ms']:.2f} ms, {t['images_per_s']:.0f} img/s")
                rows.append({**row, "accuracy": acc, **{k: t[k] for k in METRICS[1:]}})
            return rows
    except BackendUnavailable as exc:
        return [_row(name, artifact, plan, None, str(exc))]


def run_bench(artifacts: list[str], cfg: BenchConfig, on_row: Callable[[dict[str, Any]], None] | None = None,
              show_progress: bool = False) -> list[dict[str, Any]]:
    """Measure every runner of every artifact; rows that could not be measured carry their reason in status.
    ``show_progress``: a progress bar with a task per export, engine build, accuracy pass and timed batch."""
    if not artifacts:
        raise SnnDeployError("give at least one artifact (checkpoint, .onnx or .plan)")
    names = short_names([str(a) for a in artifacts])
    plans = [(str(a), name, plan_runners(str(a), cfg)) for a, name in zip(artifacts, names, strict=True)]
    rows = []
    with Bar(enabled=show_progress) as bar:
        for artifact, name, artifact_plans in plans:
            counted = _stats_of(artifact, cfg, bar) if cfg.stats else None
            for plan in artifact_plans:
                for row in measure(artifact, plan, cfg, name, bar):
                    if counted is not None and row.get("T") in counted.Ts:
                        row.update(stats.bench_columns(counted, row["T"]))
                    rows.append(row)
                    if on_row is not None:
                        on_row(row)
    return rows


def _stats_of(artifact: str, cfg: BenchConfig, bar: Bar) -> dict[str, Any] | None:
    """The stats report of a checkpoint at the bench's T values (every backend's row at T runs that network), or
    None for a graph or engine, whose spikes are not outputs it can be asked for."""
    if kind_of(artifact).name != "checkpoint":
        return None
    task = bar.start(f"{Path(artifact).name}: firing rates and synaptic operations", 1)
    counted = stats.checkpoint_stats(artifact, cfg.Ts, limit_test=cfg.limit_test, seed=cfg.seed,
                                     device="cpu" if cfg.device in ("cpu", "tensorrt") else cfg.device)
    bar.finish(task, "done")
    return counted


def _hashable(artifact: str) -> Path:
    """The file whose sha256 identifies an artifact: a checkpoint's JSON (it names its weights by their hash),
    else the file itself."""
    path = Path(artifact)
    if kind_of(path).name != "checkpoint":
        return path
    try:
        from ..training.checkpoint import resolve  # PyTorch; without it the folder is named, not hashed
    except ImportError:
        return path
    return resolve(path)


def bench_environment(artifacts: list[str], cfg: BenchConfig, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The environment record of one bench run (snndeploy.bench.environment) with what bench adds: the noise
    modes of the rows, the device, the timing settings and the test-set limit."""
    noise = ", ".join(sorted({r["noise"] for r in rows if r.get("noise")})) or None
    return environment.environment([_hashable(str(a)) for a in artifacts], noise=noise, device=cfg.device,
                                   iters=cfg.iters, warmup=cfg.warmup, limit_test=cfg.limit_test,
                                   seed=cfg.seed)


__all__ = ["BACKENDS", "METRICS", "OK", "ROW_KEYS", "BenchConfig", "Plan", "bench_environment", "measure",
           "plan_runners", "run_bench", "short_names"]
