"""`snndeploy check`: any ONNX graph against ONNX's checker and TensorRT's operator support (no PyTorch: an
import-linter contract says so)."""

from __future__ import annotations

from pathlib import Path

import onnx
import typer

from ..artifacts import metadata as onnx_meta
from ..core.errors import SnnDeployError
from ..engine.check import dla_findings, frozen_random, trt_check, trt_version, validate
from .common import console, one_line_errors, table

DEFAULT_TRT = "10"


def _target(asked: str | None, proto: onnx.ModelProto, model: Path) -> tuple[str, str]:
    """The TensorRT version to check and how the output names where it came from: ``--trt``, else the one the
    graph was exported for (its metadata's), else 10."""
    if asked is not None:
        return asked, ""
    recorded = onnx_meta.trt_target(proto, model)
    if recorded is None:
        return DEFAULT_TRT, ""
    try:
        trt_version(recorded)
    except SnnDeployError as exc:
        raise SnnDeployError(f"{model}: the TensorRT target in its metadata: {exc}; give --trt") from None
    return recorded, ", from the graph's metadata"


@one_line_errors
def check_command(
    model: Path = typer.Argument(..., help="any ONNX file (an snndeploy export has its metadata checked too)."),
    trt: str | None = typer.Option(None, "--trt", help="TensorRT version: 8.5, 8.6, 10.3 (Jetson), 10 (= 10.15) or "
                                   "11.", show_default="the graph's own (its export's --trt), else 10"),
    dla: bool = typer.Option(False, "--dla", help="also check what a DLA build needs: static shapes (a fixed "
                             "batch) and an fp16 or int8 graph."),
) -> None:
    """Check any ONNX graph with ONNX's checker and against TensorRT's ONNX operator support (random ops TensorRT
    freezes at build time included); an snndeploy export's metadata also against its graph."""
    proto, facts = onnx_meta.load_any(model)
    trt, source = _target(trt, proto, model)
    validate(proto)
    findings = trt_check(proto, trt) + frozen_random(proto, trt)
    if dla:
        findings += dla_findings(proto, None if facts is None else facts.precision)
    functions = ", ".join(f"{f.domain}.{f.name}" for f in proto.functions)
    if facts is None:
        console.print(f"{model}: note: no snndeploy metadata, so only the graph is checked (no T, noise or "
                      f"precision checks); local functions: {functions or 'none'}", highlight=False)
    else:
        console.print(f"{model}: T={facts.T} stage={facts.stage} noise={facts.noise} "
                      f"precision={facts.precision}; local functions: {functions or 'none (inlined)'}",
                      highlight=False)
    if not findings:
        console.print(f"ONNX checker: ok; TensorRT {trt}{source}: no unsupported nodes found"
                      + ("; DLA: static shapes and precision ok" if dla else ""), highlight=False)
        return
    console.print(table(f"TensorRT {trt}{source}: {len(findings)} finding(s)", ["node", "op", "reason"],
                        [[f.node, f.op_type, f.reason] for f in findings]))
    raise typer.Exit(1)
