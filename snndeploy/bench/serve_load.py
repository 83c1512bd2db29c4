"""`snndeploy bench serve`: one artifact on a real Triton server (``snndeploy.serve``), driven over loopback by
tritonclient over HTTP and gRPC at several concurrencies, beside the same artifact's in-process throughput at
batch 64 measured in the same run.

Every level is bounded in requests and in seconds. Each request carries one image (what a client with one
camera frame sends); the server's dynamic batcher joins concurrent requests. The report holds images/s,
p50/p90/p99 latency and errors per protocol and concurrency, the server's resident memory (the server and its
Python-backend processes) sampled every 1,000 requests, and the checks of the serving goals: served throughput at
concurrency 16 against in-process batch 64, no errors, p99 against p50 at concurrency 1, memory growth.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..core import atomic, files
from ..core.errors import SnnDeployError
from ..core.lazy import lazy_import
from ..core.outputs import refuse_existing
from ..runners import open_runner
from ..serve.install import INSTALL
from ..serve.server import ServeConfig, serving
from ..ui.plots import save_png
from . import environment
from .timing import time_runner

PROTOCOLS = ("http", "grpc")
grpc_client = lazy_import("tritonclient.grpc", INSTALL)
http_client = lazy_import("tritonclient.http", INSTALL)
RSS_EVERY = 1000  # requests between memory samples


@dataclass(frozen=True)
class LoadConfig:
    """What the load run does."""

    concurrency: tuple[int, ...] = (1, 4, 16, 32)
    protocols: tuple[str, ...] = PROTOCOLS
    requests: int = 2500  # per protocol and concurrency
    max_seconds: float = 60.0  # per protocol and concurrency
    warmup: int = 50  # requests before each level, not counted
    # requests per protocol at the highest concurrency before anything is counted: the server's allocations
    # for every batch size the dynamic batcher forms settle first, so later memory growth is growth, not warm-up
    settle: int = 1000
    baseline_batch: int = 64
    serve: ServeConfig = field(default_factory=ServeConfig)
    out: str = "runs/bench-serve"

    def __post_init__(self) -> None:
        if not self.concurrency or any(c < 1 for c in self.concurrency):
            raise SnnDeployError(f"--concurrency must be >= 1, got {list(self.concurrency)}")
        if unknown := [p for p in self.protocols if p not in PROTOCOLS]:
            raise SnnDeployError(f"unknown protocol '{unknown[0]}'; choose from {', '.join(PROTOCOLS)}")
        if self.requests < 1:
            raise SnnDeployError(f"--requests must be >= 1, got {self.requests}")
        if self.settle < 0:
            raise SnnDeployError(f"--settle must be >= 0, got {self.settle}")
        if not self.max_seconds > 0:
            raise SnnDeployError(f"--max-seconds must be > 0, got {self.max_seconds}")


@dataclass(frozen=True)
class LoadRow:
    """One protocol at one concurrency."""

    protocol: str
    concurrency: int
    requests: int
    errors: int
    seconds: float
    images_per_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    client_cpu: float = 0.0  # the load generator's own CPU time over the level's wall time, in cores
    first_error: str | None = None


@dataclass(frozen=True)
class Check:
    """A serving goal, and whether this run met it."""

    goal: str
    measured: str
    holds: bool


@dataclass(frozen=True)
class LoadReport:
    model: str
    artifact: str
    baseline: dict[str, float]  # in-process runner at baseline_batch: time_runner's record
    rows: tuple[LoadRow, ...]
    rss_mb: tuple[tuple[int, float], ...]  # (requests so far, server RSS in MB)
    checks: tuple[Check, ...]
    environment: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        return {"environment": self.environment, "model": self.model, "artifact": self.artifact,
                "baseline": self.baseline, "rows": [asdict(r) for r in self.rows],
                "rss_mb": [list(s) for s in self.rss_mb], "checks": [asdict(c) for c in self.checks]}


def process_tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc), in MB."""
    children: dict[int, list[int]] = {}
    rss: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
        except (OSError, ValueError):
            continue
        p = int(status.parent.name)
        children.setdefault(int(fields.get("PPid", "0").strip() or 0), []).append(p)
        rss[p] = int(fields.get("VmRSS", "0 kB").split()[0]) if "VmRSS" in fields else 0
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        total += rss.get(p, 0)
        todo.extend(children.get(p, []))
    return total / 1024


class _Sender:
    """One client per thread, speaking one protocol to one model."""

    def __init__(self, protocol: str, cfg: ServeConfig, model: str, images: np.ndarray) -> None:
        self.protocol, self.model, self.images = protocol, model, images
        self.url = f"{cfg.host}:{cfg.http_port if protocol == 'http' else cfg.grpc_port}"
        self.local = threading.local()

    def _client(self) -> tuple[Any, Any]:
        if not hasattr(self.local, "client"):
            mod = http_client.load() if self.protocol == "http" else grpc_client.load()
            self.local.client, self.local.mod = mod.InferenceServerClient(self.url), mod
        return self.local.client, self.local.mod

    def send(self, i: int) -> None:
        client, mod = self._client()
        x = self.images[i % len(self.images)][None]
        inp = mod.InferInput("images", list(x.shape), "FP32")
        inp.set_data_from_numpy(x)
        out = client.infer(self.model, [inp], outputs=[mod.InferRequestedOutput("labels")])
        if out.as_numpy("labels").shape != (1, 1):
            raise SnnDeployError("the server answered a malformed labels tensor")


def drive(send: Callable[[int], None], concurrency: int, requests: int, max_seconds: float,
          on_done: Callable[[], None] | None = None) -> tuple[list[float], int, float, str | None, float]:
    """Send up to ``requests`` requests from ``concurrency`` threads, stopping at ``max_seconds``: latencies (s)
    of the answered ones, the number of errors, the wall time, the first error's text, and the CPU time this
    process (the clients) spent, in seconds."""
    counter = itertools.count()
    lock = threading.Lock()
    latencies: list[float] = []
    errors = [0]
    first: list[str] = []
    deadline = time.monotonic() + max_seconds

    def worker() -> None:
        while time.monotonic() < deadline:
            with lock:
                i = next(counter)
            if i >= requests:
                return
            t0 = time.perf_counter()
            try:
                send(i)
            except Exception as exc:  # a failed request is a counted result, not the end of the run
                with lock:
                    errors[0] += 1
                    if not first:
                        first.append(f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}")
            else:
                dt = time.perf_counter() - t0
                with lock:
                    latencies.append(dt)
            if on_done is not None:
                on_done()

    start, cpu = time.perf_counter(), time.process_time()
    threads = [threading.Thread(target=worker, daemon=True) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (latencies, errors[0], time.perf_counter() - start, (first[0] if first else None),
            time.process_time() - cpu)


def _row(protocol: str, concurrency: int, latencies: list[float], errors: int, seconds: float,
         first: str | None, cpu: float) -> LoadRow:
    ms = np.array(latencies) * 1e3 if latencies else np.array([math.nan])
    return LoadRow(protocol, concurrency, len(latencies) + errors, errors, seconds,
                   len(latencies) / seconds if seconds > 0 else 0.0, float(np.percentile(ms, 50)),
                   float(np.percentile(ms, 90)), float(np.percentile(ms, 99)),
                   cpu / seconds if seconds > 0 else 0.0, first)


def checks(baseline: dict[str, float], rows: tuple[LoadRow, ...], rss: tuple[tuple[int, float], ...],
           baseline_batch: int) -> tuple[Check, ...]:
    """The serving goals, judged on this run (a goal this run cannot judge says so and does not hold)."""
    out = []
    at16 = [r for r in rows if r.concurrency == 16]
    if at16:
        best = max(at16, key=lambda r: r.images_per_s)
        ratio = best.images_per_s / baseline["images_per_s"]
        out.append(Check(f"served images/s at concurrency 16 >= 70 % of in-process batch {baseline_batch}",
                         f"{best.images_per_s:.0f} ({best.protocol}) vs {baseline['images_per_s']:.0f}: "
                         f"{100 * ratio:.0f} % (the clients used {best.client_cpu:.2f} cores)", ratio >= 0.7))
    total = sum(r.requests for r in rows)
    errors = sum(r.errors for r in rows)
    out.append(Check("0 errors", f"{errors} errors in {total} requests", errors == 0 and total > 0))
    at1 = [r for r in rows if r.concurrency == 1]
    for r in at1:
        out.append(Check(f"p99 <= 3 x p50 at concurrency 1 ({r.protocol})",
                         f"p50 {r.p50_ms:.2f} ms, p99 {r.p99_ms:.2f} ms ({r.p99_ms / r.p50_ms:.1f} x)",
                         r.p99_ms <= 3 * r.p50_ms))
    if len(rss) >= 3:
        second, last = rss[1][1], rss[-1][1]
        growth = (last - second) / second
        out.append(Check("server RSS grows < 10 % from the 2nd thousand requests to the last",
                         f"{second:.0f} MB -> {last:.0f} MB ({100 * growth:+.1f} %)", growth < 0.10))
    else:
        out.append(Check("server RSS grows < 10 % from the 2nd thousand requests to the last",
                         f"only {len(rss)} samples: run more requests", False))
    return tuple(out)


def run_load(artifact: str | Path, cfg: LoadConfig, work: Path, bar: Any = None) -> LoadReport:
    """The whole run: the in-process baseline, then the server under each protocol and concurrency."""
    serve = cfg.serve
    with open_runner(artifact, T=serve.T, device=serve.device, seed=serve.seed) as runner:
        batch = cfg.baseline_batch if runner.max_batch is None else min(cfg.baseline_batch, runner.max_batch)
        baseline = {**time_runner(runner, batch, iters=30, min_seconds=3.0), "batch": batch}
        images = np.random.default_rng(0).standard_normal((256, *runner.spec.input_shape)).astype(np.float32)
    rows: list[LoadRow] = []
    rss: list[tuple[int, float]] = []
    sent = [0]
    with serving([artifact], work, serve) as (server, models):
        model = models[0].name
        pid = server.process.pid

        def sample() -> None:
            sent[0] += 1
            if sent[0] % RSS_EVERY == 0:
                rss.append((sent[0], process_tree_rss_mb(pid)))

        senders = {protocol: _Sender(protocol, serve, model, images) for protocol in cfg.protocols}
        for sender in senders.values():
            task = bar.start(f"settling: {sender.protocol}, concurrency {max(cfg.concurrency)}", cfg.settle) \
                if bar else None
            drive(sender.send, max(cfg.concurrency), cfg.settle, cfg.max_seconds,
                  on_done=(lambda task=task: bar.advance(task)) if bar else None)
        rss.append((0, process_tree_rss_mb(pid)))
        for protocol, sender in senders.items():
            for c in cfg.concurrency:
                task = bar.start(f"{protocol}, concurrency {c}", cfg.requests) if bar else None
                drive(sender.send, c, cfg.warmup, cfg.max_seconds)
                lat, errors, seconds, first, cpu = drive(
                    sender.send, c, cfg.requests, cfg.max_seconds,
                    on_done=(lambda task=task: (sample(), bar.advance(task))) if bar else sample)
                rows.append(_row(protocol, c, lat, errors, seconds, first, cpu))
        rss.append((sent[0], process_tree_rss_mb(pid)))
    env = environment.environment([artifact], device=serve.device, max_batch=models[0].max_batch,
                                  instances=serve.instances, queue_delay_us=serve.queue_delay_us)
    frozen_rows = tuple(rows)
    return LoadReport(model, str(artifact), baseline, frozen_rows, tuple(rss),
                      checks(baseline, frozen_rows, tuple(rss), baseline["batch"]), env)


def table_rows(report: LoadReport) -> list[list[str]]:
    b = report.baseline
    rows = [["in-process", f"batch {int(b['batch'])}", "-", "0", f"{b['images_per_s']:.0f}", f"{b['p50_ms']:.2f}",
             f"{b['p90_ms']:.2f}", f"{b['p99_ms']:.2f}", "-"]]
    for r in report.rows:
        rows.append([r.protocol, str(r.concurrency), str(r.requests), str(r.errors), f"{r.images_per_s:.0f}",
                     f"{r.p50_ms:.2f}", f"{r.p90_ms:.2f}", f"{r.p99_ms:.2f}", f"{r.client_cpu:.2f}"])
    return rows


COLUMNS = ["protocol", "concurrency", "requests", "errors", "images/s", "p50 ms", "p90 ms", "p99 ms",
           "client cores"]


REPORT_FILES = ("serve_load.json", "serve_load.md", "serve_load.png")  # what write_report writes, the record first
REPORT_KEYS = {"environment", "model", "artifact", "baseline", "rows", "rss_mb", "checks"}  # LoadReport.to_dict's


def _is_report(path: Path) -> bool:
    """Whether ``path`` is a serve_load.json this benchmark wrote (a bounded JSON object of LoadReport's keys)."""
    try:
        data = files.read_json(path, "serving report")
    except SnnDeployError:
        return False
    return isinstance(data, dict) and set(data) == REPORT_KEYS


def check_report_folder(out: str | Path, overwrite: bool) -> None:
    """Refuse the report files already in ``out`` before any work (the one rule, snndeploy.core.outputs): any of
    them without ``overwrite``; with it, all of them unless the folder's serve_load.json is this benchmark's
    report, the record that it wrote the other two. Other files in ``out`` are never touched."""
    out = Path(out)
    record = out / REPORT_FILES[0]
    for name in REPORT_FILES:
        refuse_existing(out / name, overwrite, lambda p: p.is_file() and _is_report(record))


def write_report(report: LoadReport, out: str | Path) -> list[Path]:
    """serve_load.json, serve_load.md and serve_load.png (REPORT_FILES) in ``out``."""
    out = Path(out)
    json_name, md_name, png_name = REPORT_FILES
    paths = [atomic.write_json(out / json_name, report.to_dict())]
    lines = [f"# Serving load: {report.model}", "", f"Artifact: `{report.artifact}`", "",
             "| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(r) + " |" for r in table_rows(report)]
    lines += ["", "| goal | measured | holds |", "|---|---|---|"]
    lines += [f"| {c.goal} | {c.measured} | {'yes' if c.holds else 'no'} |" for c in report.checks]
    env = report.environment
    lines += ["", f"Measured on {env['host']}: {env['cpu']}, {env['cores']} cores, {env['threads']} threads; "
              f"command `{env['command']}`."]
    paths.append(atomic.write_text(out / md_name, "\n".join(lines) + "\n"))
    paths.append(plot(report, out / png_name))
    return paths


def plot(report: LoadReport, path: Path) -> Path:
    """Throughput and latency against the number of concurrent clients, per protocol, beside the in-process
    throughput."""
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    levels = sorted({r.concurrency for r in report.rows})
    for protocol, marker in zip(PROTOCOLS, ("o", "s"), strict=True):
        rs = [r for r in report.rows if r.protocol == protocol]
        if not rs:
            continue
        cs = [r.concurrency for r in rs]
        left.plot(cs, [r.images_per_s for r in rs], marker=marker, label=protocol)
        right.errorbar(cs, [r.p50_ms for r in rs], yerr=[[0] * len(rs), [r.p99_ms - r.p50_ms for r in rs]],
                       marker=marker, capsize=3, label=f"{protocol}: p50, bar to p99")
    left.axhline(report.baseline["images_per_s"], ls="--", color="gray",
                 label=f"in-process, batch {int(report.baseline['batch'])}")
    for ax in (left, right):
        ax.set_xscale("log", base=2)
        ax.set_xticks(levels, [str(c) for c in levels])
        ax.set_xlabel("concurrent clients")
        ax.grid(alpha=0.3)
    right.set_yscale("log")
    left.set(ylabel="images/s", title=f"{report.model}: throughput")
    right.set(ylabel="latency per request (ms)", title="latency")
    left.legend(loc="lower right")
    right.legend(loc="upper left")
    fig.tight_layout()
    return save_png(fig, path)

