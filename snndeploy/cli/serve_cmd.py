"""`snndeploy serve`: artifacts on a real Triton Inference Server until SIGTERM or Ctrl-C."""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from pathlib import Path
from typing import Any

import typer

from ..core.errors import SnnDeployError
from ..serve.server import LOOPBACK, ServeConfig, serving
from .common import THREADS, console, one_line_errors, table


class _Stop(Exception):
    """SIGTERM or SIGINT arrived: leave the serving block, which drains the server."""


def _raise_stop(signum: int, frame: Any) -> None:
    raise _Stop(signal.Signals(signum).name)


@one_line_errors
def serve_command(
    artifacts: list[str] = typer.Argument(..., help="checkpoints, .onnx graphs and .plan engines: one model each."),
    port: int = typer.Option(8000, "--port", help="HTTP port (KServe v2 REST)."),
    grpc_port: int = typer.Option(8001, "--grpc-port", help="gRPC port (KServe v2)."),
    metrics_port: int = typer.Option(8002, "--metrics-port", help="Prometheus metrics port (/metrics)."),
    host: str = typer.Option(LOOPBACK, "--host", help="address to listen on (0.0.0.0: every interface)."),
    max_batch: int | None = typer.Option(None, "--max-batch", help="largest batch Triton's dynamic batcher forms; "
                                         "above an artifact's own maximum the model runs it in parts.",
                                         show_default="the artifact's own maximum (64 where unbounded)"),
    queue_delay_us: int = typer.Option(100, "--max-queue-delay-us", help="how long the dynamic batcher waits for "
                                       "more requests to batch (microseconds)."),
    instances: int = typer.Option(1, "--instances", help="model instances (processes) per artifact."),
    device: str = typer.Option("cpu", "--device", help="as for infer: checkpoints cpu/cuda, graphs cpu/cuda/"
                               "tensorrt; engines run on the GPU."),
    T: int = typer.Option(5, "--T", help="time steps of checkpoints (graphs and engines run at their own T)."),
    seed: int = typer.Option(0, "--seed", help="seed of the noise the models draw for requests that send none."),
    ready_timeout: float = typer.Option(300.0, "--ready-timeout", help="seconds to wait for every model to answer."),
    threads: int | None = THREADS,
) -> None:
    """Serve artifacts on a Triton Inference Server (the `tritonserver` that `nvidia-pytriton` bundles), one model
    per artifact, until SIGTERM or Ctrl-C, which let the requests in flight finish.

    Each model takes the artifact's own input `images` (float32 [B, C, H, W], normalised as its facts say; the
    model config's parameters carry mean and std) and, for --noise input graphs and checkpoints, optional raw
    noise inputs (sent: the answers `snndeploy infer` gives for the same draws; left out: drawn by the model). It
    answers `logits`, `labels` (the predicted class index) and `confidence` (as `infer`). Any KServe v2 client
    (HTTP/JSON, gRPC, tritonclient) can call it; Prometheus metrics are on --metrics-port."""
    cfg = ServeConfig(http_port=port, grpc_port=grpc_port, metrics_port=metrics_port, host=host, max_batch=max_batch,
                      queue_delay_us=queue_delay_us, instances=instances, device=device, T=T, seed=seed)
    work = Path(tempfile.mkdtemp(prefix="snndeploy-serve-"))
    old = {s: signal.signal(s, _raise_stop) for s in (signal.SIGTERM, signal.SIGINT)}
    failed = True
    try:
        try:
            with serving(artifacts, work, cfg, timeout=ready_timeout) as (server, models):
                rows = [[m.name, str(m.artifact), m.backend, str(m.max_batch)] for m in models]
                console.print(table("served", ["model", "artifact", "backend", "max batch"], rows))
                console.print(f"ready: HTTP {server.url}, gRPC {cfg.host}:{cfg.grpc_port}, metrics "
                              f"http://{cfg.host}:{cfg.metrics_port}/metrics (SIGTERM or Ctrl-C stops)",
                              highlight=False)
                while server.alive():
                    time.sleep(0.5)
                raise SnnDeployError(f"the Triton server stopped by itself (code {server.process.returncode}): "
                                     f"{server.failure()} (log: {server.log})")
        except _Stop as stop:
            console.print(f"{stop}: finishing the requests in flight, then stopping", highlight=False)
        failed = False
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
        if not failed:
            shutil.rmtree(work, ignore_errors=True)
