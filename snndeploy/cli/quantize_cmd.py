"""`snndeploy quantize`: an INT8 Q/DQ graph of an fp32 graph."""

from __future__ import annotations

from pathlib import Path

import typer

from ..ui.progress import Bar
from .common import OVERWRITE, THREADS, console, one_line_errors


@one_line_errors
def quantize_command(
    model: Path = typer.Argument(..., help="fp32 ONNX file exported with --inline."),
    calib: int = typer.Option(256, "--calib", help="calibrate on this many training images."),
    method: str = typer.Option("entropy", "--method", help="entropy or max calibration."),
    data_dir: str | None = typer.Option(None, "--data-dir",
                                        help="training data, if not where the checkpoint was trained on it."),
    out: str | None = typer.Option(None, "--out", "-o", metavar="FILE", help="output path.",
                                   show_default="beside MODEL, named as its int8 export"),
    overwrite: bool = OVERWRITE,
    threads: int | None = THREADS,
) -> None:
    """INT8 Q/DQ graph with NVIDIA ModelOpt's ONNX post-training quantization."""
    # the producer bench quantizes with (ModelOpt brings PyTorch: imported here, not for the other commands)
    from ..runners.produce_graph import Int8Graph

    producer = Int8Graph(model, calib, out, method=method, data_dir=data_dir, overwrite=overwrite)
    with Bar(enabled=console.is_terminal) as bar:
        producer(bar)
    q = producer.result
    console.print(f"int8 graph: {q.path} ({q.qdq_nodes} Q/DQ nodes, {q.seconds:.1f} s)", highlight=False)
