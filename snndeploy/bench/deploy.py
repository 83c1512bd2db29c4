"""`snndeploy bench`: every artifact, backend, precision, T and batch in one table (after Ultralytics'
benchmark): accuracy, latency percentiles, throughput, artifact size, and a status per row.

What runs comes from the kinds table (snndeploy.runners.table): an artifact runs on its own backend and on each
asked backend whose kind the table can make from it, through the same producers as the CLI's `export`,
`quantize` and `build` (snndeploy.runners.produce); a checkpoint (the table's network kind) once per T and
precision, any other artifact at its own.

A backend that cannot run on this machine (no GPU, no TensorRT, no onnxruntime-gpu: the kind's ``unavailable`` or
a runner's BackendUnavailable; no PyTorch: a checkpoint's own rows and those of the graphs and engines it would be
exported to, whose producers cannot be imported), a precision the backend does not run (the kind's
``precision_problem``, or a graph exported at another precision) and a batch outside a runner's limits become rows
whose status says why, never a row measured at something else; any other error still stops the run.

Rows are frozen BenchRow records (snndeploy.bench.rows), which the writers of snndeploy.bench.output serialise.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import SnnDeployError
from ..core.facts import PRECISIONS, ArtifactFacts
from ..core.neuron_config import check_T
from ..data.datasets import batches_of
from ..engine.build import Refused
from ..evaluation import stats
from ..evaluation.evaluate import runner_accuracy, test_split_for
from ..runners import ArtifactKind, BackendUnavailable, Runner, backends, kind_for_backend, kind_of, kinds
from ..runners.produce import Producer, Request, made
from ..runners.table import load, not_installed, route
from ..ui.progress import Bar
from . import environment
from .rows import METRICS, OK, ROW_KEYS, BenchRow
from .timing import time_runner

ACCURACY_BATCH = 256  # images per run of the accuracy pass (one progress step)
# noise mode of the graphs bench exports for checkpoints (ExportConfig's default); a network's own runner labels
# its rows with what it draws on the device (_network_noise)
EXPORT_NOISE = "frozen"


@dataclass(frozen=True)
class BenchConfig:
    """What to measure; ``precisions`` empty: fp32 for checkpoints, and every graph or engine at its own."""
    backends: tuple[str, ...] = ("pytorch", "onnxruntime")
    batches: tuple[int, ...] = (1, 64)
    Ts: tuple[int, ...] = (1, 5, 10)
    precisions: tuple[str, ...] = ()
    device: str = "cpu"
    limit_test: int | None = None
    data_dir: str | None = None  # where the test data lives now, if not where the model was trained on it
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
        known = sorted({d for kind in kinds() for d in kind.devices})
        if not (self.device in known or re.fullmatch(r"cuda:\d+", self.device)):
            # a device no backend knows is a typo: refused, not a status row per backend
            raise SnnDeployError(f"--device must be one of {', '.join(known)} (or cuda:N), got '{self.device}'")


# A maker gets the progress bar (so that an export or an engine build shows as a step of its own) and returns
# the runner (not yet active) and the file it measures.
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
        return self.kind.label(self.device)


def short_names(artifacts: list[str]) -> list[str]:
    """A short, unique name per artifact for the table: the file name, or a checkpoint's folder name; names
    that collide take parent folders until they differ (``a/model.onnx``, ``b/model.onnx``); the same path
    given twice is numbered."""
    targets = []
    for a in artifacts:
        p = Path(a).resolve()
        targets.append(p.parent if kind_of(p).folders and not p.is_dir() else p)
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
    """The artifact's size: its kind's size file (a checkpoint's weights)."""
    return kind_of(path).size_file(path).stat().st_size / 1e6


def _maker(kind: ArtifactKind, source: Path | Producer, device: str, **options: Any) -> Maker:
    """Make the source (a given file, or the chain that exports and builds it), then open its runner."""
    def make(bar: Bar) -> tuple[Runner, Path]:
        path = made(source, bar)
        return kind.open(path, device=device, **options), path
    return make


def _unmade(why: str) -> Maker:
    """The maker of a plan that cannot be made here (its status says why): never called, as measure() reports
    the plan's problem instead; raises BackendUnavailable (a status row) all the same."""
    def make(bar: Bar) -> tuple[Runner, Path]:
        raise BackendUnavailable(why)
    return make


def _targets(kind: ArtifactKind, cfg: BenchConfig) -> list[ArtifactKind]:
    """The kinds an artifact runs as: those of the asked backends that the table makes from it, or its own
    alone when nothing else can be made from it (an engine runs on its backend whether asked or not)."""
    reach = [k for k in kinds() if route(kind, k) is not None]
    return reach if reach == [kind] else [k for k in reach if k.backend in cfg.backends]


def _chain(path: Path, source: ArtifactKind, target: ArtifactKind, request: Request,
           shared: dict[tuple[str, ...], Producer]) -> Path | Producer:
    """The producers that make ``target`` from the artifact, each step shared through ``shared`` (a graph
    exported once, for the first backend that needs it)."""
    made_so_far: Path | Producer = path
    key: tuple[str, ...] = ()
    for recipe in route(source, target) or []:
        key += (str(recipe.producer),)
        if key not in shared:
            shared[key] = load(recipe.producer).planned(made_so_far, request)
        made_so_far = shared[key]
    return made_so_far


def _made_by(path: Path, source: ArtifactKind, target: ArtifactKind, request: Request,
             shared: dict[tuple[str, ...], Producer], device: str) -> tuple[Maker, str | None]:
    """The maker of ``target`` from the artifact, and None; or, where a producer of the chain imports a library
    that is not installed (exporting a checkpoint needs PyTorch), a maker that is never called and why."""
    try:
        return _maker(target, _chain(path, source, target, request, shared), device), None
    except ModuleNotFoundError as exc:
        why = f"cannot be made from the {source.noun} here: {not_installed(exc)}"
        return _unmade(why), why


def _fixed(artifact: ArtifactKind, target: ArtifactKind, facts: ArtifactFacts, make: Maker, cfg: BenchConfig,
           path: Path) -> list[Plan]:
    """The plans of an artifact whose precision was fixed when it was made: measured at that precision, and a
    status row for every other precision asked for."""
    device, precision, T = target.device_for(cfg.device), facts.precision, facts.T or 0
    plans = [Plan(target, device, precision, T, facts.noise, make)] \
        if not cfg.precisions or precision in cfg.precisions else []
    for other in cfg.precisions:
        if other != precision:
            why = (f"{path.name} is an {precision} {artifact.noun}; --precision {other} applies to checkpoints (or "
                   f"export/build the artifact at {other})")
            plans.append(Plan(target, device, other, T, facts.noise, make, problem=why))
    return plans


def _network_noise(kind: ArtifactKind, device: str) -> str | None:
    """What a network's own runner draws on ``device`` (TorchRunner.draws_on: "bank" windows or "fresh" draws);
    None where its backend is not installed (the row is a status row)."""
    try:
        return kind.runner.draws_on(device)
    except ModuleNotFoundError:
        return None


def plan_runners(artifact: str, cfg: BenchConfig) -> list[Plan]:
    """The runners (and the file each one measures) that one artifact expands to."""
    path, work = Path(artifact), Path(cfg.work)
    kind = kind_of(path)
    plans: list[Plan] = []
    if not kind.network:
        if (why := kind.missing()) is not None:
            # its facts (T, precision) are read by its runner: a status row per backend and precision asked
            return [Plan(target, target.device_for(cfg.device), precision, 0, None, _unmade(why), problem=why)
                    for target in _targets(kind, cfg) for precision in cfg.precisions or ("-",)]
        facts = kind.open(path).facts  # a bad file is an error, not a status; nothing runs before activation
        request = Request(facts.T or 0, facts.precision, cfg.batches, work)
        shared: dict[tuple[str, ...], Producer] = {}
        for target in _targets(kind, cfg):
            make, why = _made_by(path, kind, target, request, shared, target.device_for(cfg.device))
            plans += [dataclasses.replace(plan, problem=plan.problem or why)
                      for plan in _fixed(kind, target, facts, make, cfg, path)]
        return plans
    for T in cfg.Ts:
        for precision in cfg.precisions or ("fp32",):
            request, shared = Request(T, precision, cfg.batches, work / f"T{T}"), {}
            for target in _targets(kind, cfg):
                device = target.device_for(cfg.device)
                if target is kind:  # without its backend: the status row of kind.unavailable
                    plans.append(Plan(kind, device, precision, T, _network_noise(kind, device),
                                      _maker(kind, path, device, T=T),
                                      problem=kind.precision_problem(precision)))
                else:
                    make, why = _made_by(path, kind, target, request, shared, device)
                    plans.append(Plan(target, device, precision, T, EXPORT_NOISE, make,
                                      problem=target.precision_problem(precision) or why))
    return plans


def _row(name: str, artifact: str, plan: Plan, batch: int | None, status: str, file: Path | None = None,
         backend: str | None = None, **measured: float) -> BenchRow:
    return BenchRow(artifact=name, backend=backend or plan.backend, precision=plan.precision, T=plan.T, batch=batch,
                    noise=plan.noise, status=status, size_mb=None if file is None else _size_mb(file),
                    file=None if file is None else str(file), path=artifact, **measured)


def measure(artifact: str, plan: Plan, cfg: BenchConfig, name: str | None = None,
            bar: Bar | None = None) -> list[BenchRow]:
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
            split, spec = test_split_for(runner.facts, cfg.data_dir, cfg.limit_test)
            task = bar.start(f"accuracy {label} ({len(split)} images)", batches_of(split, ACCURACY_BATCH))
            runner.reseed(cfg.seed)  # noise the runner draws itself; fed draws come from the seed below
            acc = runner_accuracy(runner, split, spec, batch_size=ACCURACY_BATCH, seed=cfg.seed,
                                  on_batch=lambda: bar.advance(task))
            bar.finish(task, f"{100 * acc:.2f}%")
            rows = []
            for batch in cfg.batches:
                if (problem := runner.batch_problem(batch)) is not None:
                    rows.append(_row(name, artifact, plan, batch, problem, file, backend=runner.backend))
                    continue
                task = bar.start(f"timing {label} batch {batch}", cfg.iters)
                runs = [0]

                def tick(task: int = task, runs: list[int] = runs) -> None:
                    runs[0] += 1
                    if runs[0] < cfg.iters:  # more runs than asked where min_seconds needs them: the bar stays full
                        bar.advance(task)

                t = time_runner(runner, batch, warmup=cfg.warmup, iters=cfg.iters, on_run=tick)
                bar.finish(task, f"p50 {t['p50_ms']:.2f} ms, {t['images_per_s']:.0f} img/s")
                rows.append(_row(name, artifact, plan, batch, OK, file, backend=runner.backend, accuracy=acc,
                                 **{k: t[k] for k in METRICS[1:]}))
            return rows
    except (BackendUnavailable, Refused) as exc:  # cannot run here, or TensorRT cannot build it as asked
        return [_row(name, artifact, plan, None, str(exc))]
    except ModuleNotFoundError as exc:  # a library a step imports only when it runs (ModelOpt's own imports)
        return [_row(name, artifact, plan, None, not_installed(exc))]


def run_bench(artifacts: list[str], cfg: BenchConfig, on_row: Callable[[BenchRow], None] | None = None,
              show_progress: bool = False) -> list[BenchRow]:
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
                    if counted is not None and row.T in counted.Ts:
                        row = dataclasses.replace(row, **stats.bench_columns(counted, row.T))
                    rows.append(row)
                    if on_row is not None:
                        on_row(row)
    return rows


def _stats_of(artifact: str, cfg: BenchConfig, bar: Bar) -> stats.Report | None:
    """The stats report of a checkpoint at the bench's T values (every backend's row at T runs that network), or
    None for a graph or engine, whose spikes are not outputs it can be asked for."""
    kind = kind_of(artifact)
    if not kind.network or kind.missing() is not None:
        return None  # a network whose backend is not installed: its rows are status rows
    task = bar.start(f"{Path(artifact).name}: firing rates and synaptic operations", 1)
    counted = stats.checkpoint_stats(artifact, cfg.Ts, data_dir=cfg.data_dir, limit_test=cfg.limit_test,
                                     seed=cfg.seed,
                                     device="cpu" if cfg.device in ("cpu", "tensorrt") else cfg.device)
    bar.finish(task, "done")
    return counted


def _hashable(artifact: str) -> Path:
    """The file whose sha256 identifies an artifact: a checkpoint's JSON (it names its weights by their hash),
    else the file itself."""
    path = Path(artifact)
    return kind_of(path).identity_file(path)  # without the kind's backend (PyTorch) the path itself


def bench_environment(artifacts: list[str], cfg: BenchConfig, rows: list[BenchRow]) -> dict[str, Any]:
    """The environment record of one bench run (snndeploy.bench.environment) with what bench adds: the noise
    modes of the rows, the device, the timing settings and the test-set limit."""
    noise = ", ".join(sorted({r.noise for r in rows if r.noise})) or None
    return environment.environment([_hashable(str(a)) for a in artifacts], noise=noise, device=cfg.device,
                                   iters=cfg.iters, warmup=cfg.warmup, limit_test=cfg.limit_test,
                                   seed=cfg.seed)


__all__ = ["METRICS", "OK", "ROW_KEYS", "BenchConfig", "BenchRow", "Plan", "backends", "bench_environment", "measure",
           "plan_runners", "run_bench", "short_names"]
