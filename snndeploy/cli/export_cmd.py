"""`snndeploy export`: a checkpoint to ONNX or Triton; an engine (any kind with a Triton producer) to Triton."""

from __future__ import annotations

import dataclasses

import typer

from .. import presets
from ..core.config import load_yaml
from ..core.errors import SnnDeployError
from ..core.neuron_config import parse_alpha
from ..runners import find_kind, kinds
from ..runners.table import load
from ..ui.progress import Bar
from .common import THREADS, console, one_line_errors, parse_values, table


@one_line_errors
def export_command(
    checkpoint: str = typer.Argument(..., help="checkpoint (run folder, .json or .safetensors), or a TensorRT engine "
                                     "(.plan, with its sidecar) to add to a Triton repository."),
    config: str | None = typer.Option(None, "--config", help=f"a preset ({', '.join(presets.names('export'))}) or "
                                      "a YAML file of export options; the flags below override it."),
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
    overwrite: bool = typer.Option(False, "--overwrite", help="replace a file (or Triton model folder) of the "
                                   "same name that snndeploy wrote; without it an existing one is refused."),
    threads: int | None = THREADS,
) -> None:
    """Export a trained network, unrolled over T, to ONNX (custom ops as local functions) or Triton."""
    kind = find_kind(checkpoint)  # None: the exporter says what is wrong with the path
    if kind is not None and kind.to_triton is not None:  # an engine goes to a Triton repository
        if (fmt or "triton") != "triton":
            raise SnnDeployError(f"{kind.what.split(' (')[0]} can only be exported with --format triton")
        with Bar(enabled=console.is_terminal) as bar:
            folder = load(kind.to_triton)(checkpoint, out or "exports", max_batch, overwrite=overwrite)(bar)
        console.print(f"triton model: {folder}", highlight=False)
        return
    if kind is not None and not kind.network:
        triton = [k.what for k in kinds() if k.to_triton is not None]
        takes = " or ".join(k.what for k in kinds() if k.network)
        raise SnnDeployError(f"export takes {takes}" + (f" or, with --format triton, {' or '.join(triton)}" if triton
                                                        else "") + f"; {checkpoint} is already "
                             f"{kind.what.split(' (')[0]} (run, check or build it)")
    # exporting a checkpoint needs PyTorch; `check` and adding engines to Triton do not
    from ..export.exporter import ExportConfig, check_export
    from ..runners.produce_graph import GraphFromCheckpoint

    path = presets.resolve(config, "export") if config else None
    Ts = parse_values(T, int, "--T")
    changes = {"T": tuple(Ts) if Ts else None, "stage": stage, "alpha": parse_alpha(alpha) if alpha else None,
               "beta": beta, "noise": noise, "inline": inline, "opset": opset, "batch": batch, "fp16": fp16,
               "seed": seed, "trt": trt, "out": out, "format": fmt, "max_batch": max_batch,
               "overwrite": overwrite or None}
    given = {k: v for k, v in changes.items() if v is not None}
    # the flags win over the file; an error names the file and key, or the flag, that gave the value
    cfg = ExportConfig.from_dict(load_yaml(path), presets.where(config, path), given) if config and path else \
        dataclasses.replace(ExportConfig(), **given)
    check_export(checkpoint, cfg)  # every T's graph and memory, before the first file is written
    producers = GraphFromCheckpoint.each_T(checkpoint, cfg)  # the producers bench exports with, one per T
    with Bar(enabled=console.is_terminal) as bar:  # a terminal sees each file being written
        for producer in producers:
            producer(bar)
    results = [p.result for p in producers]
    rows = [[e.path, e.T, f"{e.path.stat().st_size / 1e6:.2f}", f"{e.seconds:.2f}",
             "ok" if not e.findings else f"{len(e.findings)} finding(s)"] for e in results]
    console.print(table("exported", ["file", "T", "MB", "seconds", f"TensorRT {cfg.trt} check"], rows))
    for e in results:
        for f in e.findings[:10]:
            console.print(f"  {e.path.name}: {f}", highlight=False)
