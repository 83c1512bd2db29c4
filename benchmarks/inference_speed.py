"""Inference side by side in one run: PyTorch eager stage 3, ONNX Runtime (in-graph and frozen
noise), SpikingJelly's multi-step LIF (if installed); batch-1 latency, batch-64 throughput, export
time, and how latency grows with T next to the multiply-accumulate count.

    python benchmarks/inference_speed.py [--checkpoint RUN] [--model paper-cnn] [--T 5] [--json out.json]

Without --checkpoint an untrained checkpoint of --model is written to a temporary folder: dense
convolutions cost the same whatever the weights, so the timings hold for trained ones too.
"""

from __future__ import annotations

import argparse
import platform
import tempfile
from pathlib import Path

import torch
from rich.console import Console
from rich.table import Table

from snndeploy import checkpoint as ckpt
from snndeploy.bench.macs import gemm_rate, macs_per_image
from snndeploy.bench.peers import SpikingJellyRunner, spikingjelly_available
from snndeploy.bench.timing import time_runner
from snndeploy.core.atomic import write_json
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.core.spec import DataSpec
from snndeploy.export.exporter import ExportConfig, export
from snndeploy.models import build_model
from snndeploy.runners.onnxruntime import OnnxRuntimeRunner
from snndeploy.runners.torch_runner import TorchRunner


def untrained(folder: Path, model: str) -> Path:
    spec = DataSpec("sample", 1, 28, 28, tuple("0123456789"), (0.1307,), (0.3081,))
    net = build_model(model, spec.input_shape, spec.num_classes)
    ckpt.save(folder, net, ckpt.ArtifactFacts(model=model, data=spec, neuron=NeuronConfig()))
    return folder


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--checkpoint", default=None)
    p.add_argument("--model", default="paper-cnn")
    p.add_argument("--T", type=int, default=5)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--iters", type=int, default=20)
    p.add_argument("--json", default=None)
    args = p.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="snndeploy-bench-"))
    path = Path(args.checkpoint) if args.checkpoint else untrained(tmp / "ck", args.model)
    console = Console()

    exports = {}
    for noise in ("graph", "frozen"):
        (e,) = export(path, ExportConfig(T=(args.T,), noise=noise, out=str(tmp / noise)))
        exports[noise] = e
    runners = {"pytorch eager (stage 3)": TorchRunner(path, T=args.T).activate(),
               "onnxruntime, noise in graph": OnnxRuntimeRunner(exports["graph"].path).activate(),
               "onnxruntime, frozen noise": OnnxRuntimeRunner(exports["frozen"].path).activate()}
    if spikingjelly_available():
        runners["spikingjelly multi-step LIF"] = SpikingJellyRunner(path, T=args.T).activate()
    rows = []
    for name, runner in runners.items():
        one = time_runner(runner, 1, iters=args.iters * 5)
        many = time_runner(runner, args.batch, iters=args.iters)
        rows.append({"backend": name, "T": args.T, "batch1_p50_ms": one["p50_ms"], "batch1_p99_ms": one["p99_ms"],
                     f"batch{args.batch}_images_per_s": many["images_per_s"]})
    base = rows[0][f"batch{args.batch}_images_per_s"]
    model = ckpt.load(path).model
    rate = gemm_rate()
    macs = macs_per_image(model, args.T)
    t = Table(title=f"{args.model}, T={args.T}, {torch.get_num_threads()} threads")
    for col in ("backend", "batch 1 p50 ms", f"batch {args.batch} img/s", "vs PyTorch", "vs GEMM bound"):
        t.add_column(col, justify="right")
    for r in rows:
        ips = r[f"batch{args.batch}_images_per_s"]
        r["speedup_vs_pytorch"] = ips / base
        r["fraction_of_gemm_bound"] = ips / (rate / macs)
        t.add_row(r["backend"], f"{r['batch1_p50_ms']:.2f}", f"{ips:.0f}", f"{ips / base:.2f}x",
                  f"{r['fraction_of_gemm_bound']:.0%}")
    console.print(t)
    console.print(f"export time: {', '.join(f'{k} {e.seconds:.2f} s' for k, e in exports.items())}; "
                  f"GEMM rate {rate / 1e9:.1f} GMAC/s -> bound {rate / macs:.0f} images/s "
                  f"at {macs / 1e6:.1f} MMAC/image")

    growth = []
    for T in (1, 5, 10):
        (e,) = export(path, ExportConfig(T=(T,), noise="frozen", out=str(tmp / f"T{T}")))
        (g,) = export(path, ExportConfig(T=(T,), noise="graph", out=str(tmp / f"G{T}")))
        frozen = time_runner(OnnxRuntimeRunner(e.path).activate(), 1, iters=args.iters * 5)["p50_ms"]
        graph = time_runner(OnnxRuntimeRunner(g.path).activate(), 1, iters=args.iters * 5)["p50_ms"]
        growth.append({"T": T, "macs_per_image": macs_per_image(model, T), "frozen_p50_ms": frozen,
                       "graph_p50_ms": graph})
    g = Table(title="batch-1 latency against T (onnxruntime)")
    for col in ("T", "MMAC / image", "MAC vs T=1", "frozen p50 ms", "vs T=1", "in-graph p50 ms", "vs T=1"):
        g.add_column(col, justify="right")
    for r in growth:
        b = growth[0]
        g.add_row(str(r["T"]), f"{r['macs_per_image'] / 1e6:.1f}", f"{r['macs_per_image'] / b['macs_per_image']:.2f}x",
                  f"{r['frozen_p50_ms']:.2f}", f"{r['frozen_p50_ms'] / b['frozen_p50_ms']:.2f}x",
                  f"{r['graph_p50_ms']:.2f}", f"{r['graph_p50_ms'] / b['graph_p50_ms']:.2f}x")
    console.print(g)
    if args.json:
        write_json(args.json, {
            "machine": {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
                        "torch": torch.__version__, "gemm_mac_per_s": rate},
            "model": args.model, "macs_per_image": macs, "export_s": {k: e.seconds for k, e in exports.items()},
            "results": rows, "latency_vs_T": growth})


if __name__ == "__main__":
    main()
