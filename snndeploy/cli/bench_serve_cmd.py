"""`snndeploy bench serve ARTIFACT`: the serving load benchmark (snndeploy.bench.serve_load)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import typer

from ..bench.environment import summary
from ..bench.serve_load import COLUMNS, LoadConfig, check_report_folder, run_load, table_rows, write_report
from ..serve.server import LOOPBACK, ServeConfig, free_port
from ..ui.progress import Bar
from .common import OVERWRITE, THREADS, console, one_line_errors, parse_values, table


@one_line_errors
def bench_serve_command(
    artifact: str = typer.Argument(..., help="one checkpoint, .onnx graph or .plan engine."),
    concurrency: list[str] | None = typer.Option(None, "--concurrency", help="concurrent clients per level "
                                                 "[default: 1,4,16,32]"),
    protocols: list[str] | None = typer.Option(None, "--protocol", help="http, grpc [default: http,grpc]"),
    requests: int = typer.Option(2500, "--requests", help="requests (one image each) per protocol and level."),
    max_seconds: float = typer.Option(60.0, "--max-seconds", help="time limit per protocol and level."),
    settle: int = typer.Option(1000, "--settle", help="uncounted requests per protocol at the highest concurrency "
                               "before measuring (the server's allocations for every batch size settle first)."),
    max_batch: int | None = typer.Option(None, "--max-batch", help="the server's dynamic-batching limit.",
                                         show_default="the artifact's own maximum (64 where unbounded)"),
    queue_delay_us: int = typer.Option(100, "--max-queue-delay-us", help="dynamic batcher's wait (microseconds)."),
    instances: int = typer.Option(1, "--instances", help="model instances on the server."),
    device: str = typer.Option("cpu", "--device", help="as for serve."),
    T: int = typer.Option(5, "--T", help="time steps of a checkpoint (graphs and engines run at their own)."),
    out: str = typer.Option("runs/bench-serve", "--out", "-o", help="folder for serve_load.json, .md and .png."),
    overwrite: bool = OVERWRITE,
    threads: int | None = THREADS,
) -> None:
    """Serve one artifact on a real Triton server on free loopback ports and load it with tritonclient (HTTP and
    gRPC) at several concurrencies, bounded in requests and time: images/s, p50/p90/p99, errors, server memory,
    beside the artifact's in-process throughput at batch 64 from the same run, and the serving goals checked."""
    serve = ServeConfig(http_port=free_port(), grpc_port=free_port(), metrics_port=free_port(), host=LOOPBACK,
                        max_batch=max_batch, queue_delay_us=queue_delay_us, instances=instances, device=device, T=T)
    cfg = LoadConfig(concurrency=tuple(parse_values(concurrency, int, "--concurrency")) or LoadConfig.concurrency,
                     protocols=tuple(parse_values(protocols, str, "--protocol")) or LoadConfig.protocols,
                     requests=requests, max_seconds=max_seconds, settle=settle, serve=serve, out=out)
    check_report_folder(out, overwrite)  # before minutes of load
    work = Path(tempfile.mkdtemp(prefix="snndeploy-bench-serve-"))
    with Bar(enabled=console.is_terminal) as bar:
        report = run_load(artifact, cfg, work, bar)
    shutil.rmtree(work, ignore_errors=True)
    console.print(summary(report.environment), highlight=False)
    console.print(table(f"serving {report.model}", COLUMNS, table_rows(report)))
    console.print(table("serving goals", ["goal", "measured", "holds"],
                        [[c.goal, c.measured, "yes" if c.holds else "no"] for c in report.checks]))
    for path in write_report(report, out):
        console.print(f"wrote {path}", highlight=False)
