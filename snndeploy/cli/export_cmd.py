"""`snndeploy export` and `snndeploy check`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from .. import presets
from ..artifacts import metadata as onnx_meta
from ..artifacts.triton_engine import write_engine
from ..core.config import load_yaml
from ..core.errors import SnnDeployError
from ..core.neuron_config import parse_alpha
from ..engine.check import trt_check, validate
from ..runners import kind_for_backend
from ..ui.progress import Bar
from .common import THREADS, console, one_line_errors, parse_values, table


@one_line_errors
def export_command(
    checkpoint: str = typer.Argument(..., help="checkpoint (run folder, .json or .safetensors), or a TensorRT engine "
                                     "(.plan, with its sidecar) to add to a Triton repository."),
    config: str | None = typer.Option(None, "--config", help=f"a preset ({', '.join(presets.names())}) or a YAML "
                                      "file of export options; the flags below override it."),
    # what --help shows as the defaults of options that default to None: ExportConfig's (tests/cli/test_help.py)
    T: list[str] | None = typer.Option(None, "--T", help="time steps to unroll; one file per T.", show_default="5"),
    stage: int | None = typer.Option(None, "--stage", help="3 or 2.", show_default="3"),
    alpha: str | None = typer.Option(None, "--alpha", help="stage-3 alpha; 'inf' allowed.",
                                     show_default="the checkpoint's"),
    beta: float | None = typer.Option(None, "--beta", help="stage-3 beta.", show_default="middle of the noise range"),
    noise: str | None = typer.Option(None, "--noise", metavar="MODE", show_default="frozen",
                                     help="graph (random ops), input (graph inputs) or frozen (fixed draws)."),
    inline: bool | None = typer.Option(None, "--inline/--functions", show_default="functions",
                                       help="standard ops only (TensorRT 8.x) or custom ops as local functions."),
    opset: int | None = typer.Option(None, "--opset", help="ONNX opset.", show_default="17"),
    batch: str | None = typer.Option(None, "--batch", metavar="N|dynamic", show_default="dynamic",
                                     help="a fixed batch size or 'dynamic'."),
    fp16: bool | None = typer.Option(None, "--fp16/--fp32", help="half- or single-precision graph.",
                                     show_default="fp32"),
    seed: int | None = typer.Option(None, "--seed", help="seed of frozen noise.", show_default="0"),
    trt: str | None = typer.Option(None, "--trt", help="TensorRT to check against: 8.5, 8.6, 10.3, 10 (= 10.15) "
                                   "or 11.", show_default="10"),
    fmt: str | None = typer.Option(None, "--format", help="onnx, triton (a Triton model repository, ONNX "
                                   "Runtime backend) or triton-python (Triton's Python backend running snndeploy's "
                                   "runner, as `snndeploy serve` does).",
                                   show_default="onnx"),
    max_batch: int | None = typer.Option(None, "--max-batch", help="largest batch of a dynamic-batch graph: Triton "
                                         "max_batch_size, and what a --noise graph bank holds.",
                                         show_default="64; for an engine, its profile's maximum"),
    out: str | None = typer.Option(None, "--out", "-o", metavar="DIR", help="output folder.",
                                   show_default="exports; with a preset, exports/PRESET"),
    threads: int | None = THREADS,
) -> None:
    """Export a trained network, unrolled over T, to ONNX (custom ops as local functions) or Triton."""
    if kind_for_backend("tensorrt").matches(Path(checkpoint)):  # an engine goes to Triton; anything else exports
        if (fmt or "triton") != "triton":
            raise SnnDeployError("an engine can only be exported with --format triton")
        folder = write_engine(out or "exports", checkpoint, max_batch)
        console.print(f"triton model: {folder}", highlight=False)
        return
    if Path(checkpoint).suffix.lower() == ".onnx":
        raise SnnDeployError(f"export takes a checkpoint (run folder, model.json or .safetensors) or, with --format "
                             f"triton, an engine; {checkpoint} is already an ONNX graph (run, check or build it)")
    # exporting a checkpoint needs PyTorch; `check` and adding engines to Triton do not
    from ..export.exporter import ExportConfig, export

    if config:
        path = presets.resolve(config)
        cfg = ExportConfig.from_dict(load_yaml(path), config if path.parent == presets.FOLDER else str(path))
    else:
        cfg = ExportConfig()
    Ts = parse_values(T, int, "--T")
    changes = {"T": tuple(Ts) if Ts else None, "stage": stage, "alpha": parse_alpha(alpha) if alpha else None,
               "beta": beta, "noise": noise, "inline": inline, "opset": opset, "batch": batch, "fp16": fp16,
               "seed": seed, "trt": trt, "out": out, "format": fmt, "max_batch": max_batch}
    cfg = dataclasses.replace(cfg, **{k: v for k, v in changes.items() if v is not None})
    with Bar(enabled=console.is_terminal) as bar:  # a terminal sees each file being written
        results = export(checkpoint, cfg, bar)
    rows = [[e.path, e.T, f"{e.path.stat().st_size / 1e6:.2f}", f"{e.seconds:.2f}",
             "ok" if not e.findings else f"{len(e.findings)} finding(s)"] for e in results]
    console.print(table("exported", ["file", "T", "MB", "seconds", f"TensorRT {cfg.trt} check"], rows))
    for e in results:
        for f in e.findings[:10]:
            console.print(f"  {e.path.name}: {f}", highlight=False)


@one_line_errors
def check_command(
    model: Path = typer.Argument(..., help="any ONNX file (an snndeploy export has its metadata checked too)."),
    trt: str = typer.Option("10", "--trt", help="TensorRT version: 8.5, 8.6, 10.3 (Jetson), 10 (= 10.15) or 11."),
) -> None:
    """Check any ONNX graph with ONNX's checker and against TensorRT's ONNX operator support; an snndeploy
    export's metadata also against its graph."""
    proto, facts = onnx_meta.load_any(model)
    validate(proto)
    findings = trt_check(proto, trt)
    functions = ", ".join(f"{f.domain}.{f.name}" for f in proto.functions)
    if facts is None:
        console.print(f"{model}: note: no snndeploy metadata, so only the graph is checked (no T, noise or "
                      f"precision checks); local functions: {functions or 'none'}", highlight=False)
    else:
        console.print(f"{model}: T={facts.T} stage={facts.stage} noise={facts.noise} "
                      f"precision={facts.precision}; local functions: {functions or 'none (inlined)'}",
                      highlight=False)
    if not findings:
        console.print(f"ONNX checker: ok; TensorRT {trt}: no unsupported nodes found", highlight=False)
        return
    console.print(table(f"TensorRT {trt}: {len(findings)} finding(s)", ["node", "op", "reason"],
                        [[f.node, f.op_type, f.reason] for f in findings]))
    raise typer.Exit(1)
