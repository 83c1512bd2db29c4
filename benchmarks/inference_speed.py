"""Inference latency and throughput of one network across backends, T and batch sizes, in one run.

Backends: SpikingJelly's multi-step LIF network of the same architecture (once per SpikingJelly LIF backend),
snndeploy's PyTorch runner (stage 3), and ONNX Runtime on graphs exported with frozen noise and with noise drawn
in the graph. Each row gives p10/p50/p90 latency, images/s, the throughput as a fraction of the bound the MAC
count sets at this machine's large-GEMM rate, and the latency growth against T=1 beside the MAC count's.

    python benchmarks/inference_speed.py [--checkpoint RUN] [--model paper-cnn] [--T 1,5,10] [--batch 1,64]
        [--iters 10] [--json benchmarks/results/inference_speed.json] [--png PATH]

Without --checkpoint an untrained checkpoint of --model is written to a temporary folder: dense convolutions
cost the same whatever the weights, so the timings hold for trained ones too. T=1 is always measured, since
growth is relative to it. A backend that cannot run here is a row with status "unavailable: ...", one that
fails a row with "error: ..."; the run goes on (after Ultralytics' benchmark status column). The PNG plots
batch-1 latency against T per backend (snndeploy/ui/plots.py latency_vs_T).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import tempfile
from collections.abc import Callable
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import torch
from rich.console import Console
from rich.table import Table

from snndeploy.bench.timing import time_runner
from snndeploy.bench.train_study.peers import SpikingJellyRunner, spikingjelly_backends
from snndeploy.core.atomic import write_json
from snndeploy.core.errors import SnnDeployError
from snndeploy.core.facts import ArtifactFacts
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec
from snndeploy.evaluation.macs import gemm_rate, macs_per_image
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.models import build_model
from snndeploy.runners import BackendUnavailable, Runner
from snndeploy.runners.onnxruntime import OnnxRuntimeRunner
from snndeploy.runners.torch_runner import TorchRunner
from snndeploy.training import checkpoint as ckpt
from snndeploy.ui.plots import latency_vs_T

OK = "ok"
MEASURED = ("p10_ms", "p50_ms", "p90_ms", "p99_ms", "images_per_s", "iters", "gemm_bound_images_per_s",
            "fraction_of_gemm_bound", "latency_growth")  # None in rows with another status
DEFAULT_PNG = Path(__file__).resolve().parent / "results" / "inference_speed.png"
Opener = Callable[[Path, int, Path], Runner]  # (checkpoint, T, scratch folder) -> a runner, not yet active


def untrained(folder: Path, model: str) -> Path:
    """An untrained checkpoint of ``model`` on the sample's 28x28 grey images."""
    spec = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.1307,), (0.3081,))
    net = build_model(model, spec.input_shape, spec.num_classes)
    ckpt.save(folder, net, ArtifactFacts(model=model, data=spec, neuron=NeuronConfig()))
    return folder


def _spikingjelly(lif_backend: str, path: Path, T: int, tmp: Path) -> Runner:
    return SpikingJellyRunner(path, T=T, lif_backend=lif_backend)


def _pytorch(compiled: bool, path: Path, T: int, tmp: Path) -> Runner:
    return TorchRunner(path, T=T, stage=3, compiled=compiled)


def _onnxruntime(noise: str, path: Path, T: int, tmp: Path) -> Runner:
    (e,) = export(path, ExportConfig(T=(T,), noise=noise, out=str(tmp / noise / f"T{T}")))
    return OnnxRuntimeRunner(e.path)


def backends() -> dict[str, Opener]:
    """Every backend by display name; SpikingJelly's once per LIF backend (one row saying why where it is not
    installed)."""
    sj = spikingjelly_backends() or {"torch": None}
    out: dict[str, Opener] = {f"spikingjelly ({b})": partial(_spikingjelly, b) for b in sj}
    out["snndeploy pytorch (stage 3)"] = partial(_pytorch, True)
    out["snndeploy pytorch, plain ops"] = partial(_pytorch, False)
    out["snndeploy onnxruntime, frozen noise"] = partial(_onnxruntime, "frozen")
    out["snndeploy onnxruntime, noise in graph"] = partial(_onnxruntime, "graph")
    return out


def _error(exc: BaseException) -> str:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"error: {type(exc).__name__}: {first}"[:200]


def measure(name: str, open_runner: Opener, path: Path, T: int, batches: list[int], *, iters: int,
            min_seconds: float, tmp: Path) -> list[dict[str, Any]]:
    """One row per batch size of one backend at one T; a runner that cannot open or run gives status rows."""
    base = {"backend": name, "T": T}
    try:
        runner = open_runner(path, T, tmp).activate()
    except BackendUnavailable as exc:
        return [{**base, "batch": b, "status": f"unavailable: {exc}"} for b in batches]
    except Exception as exc:  # a peer's import or build failure is a row, not the end of the run
        return [{**base, "batch": b, "status": _error(exc)} for b in batches]
    rows = []
    with runner:
        for b in batches:
            try:  # batch 1 is short and noisy: five times the runs
                t = time_runner(runner, b, iters=5 * iters if b == 1 else iters, min_seconds=min_seconds)
                rows.append({**base, "batch": b, "status": OK, **t})
            except Exception as exc:  # e.g. out of memory at a large batch: the other batches still count
                rows.append({**base, "batch": b, "status": _error(exc)})
    return rows


def derive(rows: list[dict[str, Any]], macs: dict[int, int], rate: float) -> None:
    """Add to each row its MAC count and growth, and to each measured row its fraction of the GEMM bound and
    its latency growth against the same backend and batch at T=1 (None where T=1 was not measured); every
    row gets every key."""
    at_1 = {(r["backend"], r["batch"]): r["p50_ms"] for r in rows if r["status"] == OK and r["T"] == 1}
    for r in rows:
        r["macs_per_image"] = macs[r["T"]]
        r["mac_growth"] = macs[r["T"]] / macs[1]
        if r["status"] != OK:
            r.update(dict.fromkeys(MEASURED))
            continue
        r["gemm_bound_images_per_s"] = rate / macs[r["T"]]
        r["fraction_of_gemm_bound"] = r["images_per_s"] / r["gemm_bound_images_per_s"]
        first = at_1.get((r["backend"], r["batch"]))
        r["latency_growth"] = None if first is None else r["p50_ms"] / first


def machine(rate: float) -> dict[str, Any]:
    """What the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    versions: dict[str, str | None] = {"torch": torch.__version__}
    for package in ("onnxruntime", "spikingjelly"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    if versions["onnxruntime"] is None:
        try:  # the CUDA wheel is installed as onnxruntime-gpu
            versions["onnxruntime"] = importlib.metadata.version("onnxruntime-gpu")
        except importlib.metadata.PackageNotFoundError:
            pass
    return {"cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
            "python": platform.python_version(), "versions": versions,
            "date": datetime.now(timezone.utc).isoformat(timespec="seconds"), "gemm_mac_per_s": rate}


def _fmt(value: float | None, spec: str, suffix: str = "") -> str:
    return "" if value is None else f"{value:{spec}}{suffix}"


def table(rows: list[dict[str, Any]], title: str) -> Table:
    """One line per measured row; a backend whose every row has the same status gets one line."""
    t = Table(title=title)
    for col in ("backend", "status", "T", "batch", "p50 ms", "img/s", "vs GEMM bound", "latency vs T=1",
                "MACs vs T=1"):
        t.add_column(col, justify="left" if col in ("backend", "status") else "right")
    for name in dict.fromkeys(r["backend"] for r in rows):
        mine = sorted((r for r in rows if r["backend"] == name), key=lambda r: (r["T"], r["batch"]))
        statuses = {r["status"] for r in mine}
        if len(statuses) == 1 and OK not in statuses:
            t.add_row(name, mine[0]["status"], "all", "all", *[""] * 5)
            continue
        for r in mine:
            ok = r["status"] == OK
            t.add_row(name, r["status"], str(r["T"]), str(r["batch"]), _fmt(r.get("p50_ms"), ".2f"),
                      _fmt(r.get("images_per_s"), ".0f"), _fmt(r.get("fraction_of_gemm_bound"), ".0%"),
                      _fmt(r.get("latency_growth"), ".2f", "x") if ok else "", _fmt(r["mac_growth"], ".2f", "x"))
    return t


def _ints(text: str) -> list[int]:
    try:
        values = sorted({int(v) for v in text.split(",") if v.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got '{text}'") from None
    if not values or values[0] < 1:
        raise argparse.ArgumentTypeError(f"expected integers >= 1, got '{text}'")
    return values


def main(argv: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the benchmark, print the table, write the JSON (if asked) and the PNG; returns the rows."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None, help="a trained run (default: an untrained --model)")
    p.add_argument("--model", default="paper-cnn")
    p.add_argument("--T", type=_ints, default=[1, 5, 10], help="comma-separated time steps (T=1 always runs)")
    p.add_argument("--batch", type=_ints, default=[1, 64], help="comma-separated batch sizes")
    p.add_argument("--iters", type=int, default=10, help="timed runs per point (batch 1: five times as many)")
    p.add_argument("--min-seconds", type=float, default=0.5, help="time each point at least this long")
    p.add_argument("--json", default=None)
    p.add_argument("--png", default=None, help=f"default: next to --json, else {DEFAULT_PNG}")
    args = p.parse_args(argv)
    if args.iters < 1:
        p.error("--iters must be >= 1")
    Ts = sorted(set(args.T) | {1})
    console = Console()
    with tempfile.TemporaryDirectory(prefix="snndeploy-bench-") as scratch:
        tmp = Path(scratch)
        path = Path(args.checkpoint) if args.checkpoint else untrained(tmp / "ck", args.model)
        loaded = ckpt.load(path)
        name = loaded.facts.model
        macs = {T: macs_per_image(loaded.model, T) for T in Ts}
        rate = gemm_rate()
        openers = backends()
        rows: list[dict[str, Any]] = []
        for T in Ts:  # every backend at one T before the next, so that drift spreads over all of them
            for backend, open_runner in openers.items():
                rows += measure(backend, open_runner, path, T, args.batch, iters=args.iters,
                                min_seconds=args.min_seconds, tmp=tmp)
    order = list(openers)
    rows.sort(key=lambda r: (order.index(r["backend"]), r["T"], r["batch"]))
    derive(rows, macs, rate)
    head = machine(rate)
    console.print(table(rows, f"{name}{'' if args.checkpoint else ' (untrained)'}, {head['cpu']}, "
                              f"{head['torch_threads']} torch threads"))
    console.print(f"GEMM rate {rate / 1e9:.1f} GMAC/s; MMAC/image " +
                  ", ".join(f"T={T}: {m / 1e6:.1f}" for T, m in macs.items()))
    if args.json:
        write_json(args.json, {"machine": head, "model": name, "checkpoint": args.checkpoint,
                               "config": {"T": Ts, "batch": args.batch, "iters": args.iters,
                                          "min_seconds": args.min_seconds},
                               "macs_per_image": {str(T): m for T, m in macs.items()}, "results": rows})
    png = Path(args.png) if args.png else Path(args.json).with_suffix(".png") if args.json else DEFAULT_PNG
    try:
        latency_vs_T(rows, {T: m / macs[1] for T, m in macs.items()}, png,
                     title=f"{name}: batch-1 latency against T")
        console.print(f"wrote {png}")
    except SnnDeployError as exc:
        console.print(f"no plot: {exc}")
    return rows


if __name__ == "__main__":
    main()
