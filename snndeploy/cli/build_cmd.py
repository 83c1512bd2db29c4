"""`snndeploy build`: a TensorRT engine from an ONNX graph (no PyTorch: an import-linter contract says so)."""

from __future__ import annotations

from pathlib import Path

import typer

from ..engine.build import BuildConfig, parse_batch
from ..runners.produce import EngineFromGraph
from ..ui.progress import Bar
from .common import OVERWRITE, THREADS, console, one_line_errors


@one_line_errors
def build_command(
    model: Path = typer.Argument(..., help="ONNX file exported by snndeploy."),
    precision: str = typer.Option(BuildConfig.precision, "--precision", metavar="NAME",
                                  help="fp32, fp16 (an --fp16 export) or int8 (a Q/DQ graph)."),
    batch: str | None = typer.Option(None, "--batch", metavar="MIN,OPT,MAX",
                                     help="batch sizes of the profile (kernels tuned for OPT).",
                                     show_default="1,64,64; a fixed-batch graph's own"),
    workspace: float = typer.Option(BuildConfig.workspace_gb, "--workspace", metavar="GB",
                                    help="builder workspace in GB."),
    timing_cache: str | None = typer.Option(None, "--timing-cache", help="read and update this timing cache."),
    out: str | None = typer.Option(None, "--out", "-o", metavar="FILE", help="engine path.",
                                   show_default="MODEL.plan"),
    dla_core: int | None = typer.Option(None, "--dla-core", help="build for this DLA core (Jetson AGX Orin, TensorRT "
                                        ">= 11.4.1; fp16 or int8 graphs, fixed batch), unsupported layers on the GPU."),
    frozen_noise: bool = typer.Option(False, "--frozen-noise", help="build a --noise graph export anyway: TensorRT "
                                      "fixes its random draws at build time, so the engine is labelled frozen noise."),
    overwrite: bool = OVERWRITE,
    threads: int | None = THREADS,
) -> None:
    """Build a TensorRT engine (TensorRT 10/11, strongly typed) and its sidecar JSON; prints the equivalent
    trtexec command line, for devices with TensorRT but not snndeploy. On JetPack 5 (TensorRT 8.5): export with
    --inline --trt 8.5 and build on the device with trtexec (the error message gives the line)."""
    cfg = BuildConfig(precision=precision, batch=parse_batch(batch), workspace_gb=workspace,
                      timing_cache=timing_cache, out=out, dla_core=dla_core, frozen_noise=frozen_noise,
                      overwrite=overwrite)
    producer = EngineFromGraph(model, cfg)  # the producer bench builds its engines with
    with Bar(enabled=console.is_terminal) as bar:  # a TensorRT build takes seconds to many minutes
        producer(bar)
    engine, info = producer.result
    where = "GPU" if dla_core is None else f"DLA core {dla_core} with GPU fallback"
    console.print(f"engine: {engine} ({engine.stat().st_size / 1e6:.1f} MB, TensorRT {info['tensorrt']}, "
                  f"{info['gpu']} sm{info['compute_capability']}, {where}, built in {info['build_s']:.1f} s)",
                  highlight=False)
    console.print(f"trtexec equivalent: {info['trtexec']}", highlight=False, soft_wrap=True)
