"""The `snndeploy` command."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import platform

import typer

from ..runners.table import libraries
from . import common
from . import help as help_
from .bench_cmd import bench_app
from .build_cmd import build_command
from .check_cmd import check_command
from .eval_cmd import eval_command
from .export_cmd import export_command
from .infer_cmd import infer_command
from .quantize_cmd import quantize_command
from .serve_cmd import serve_command
from .stats_cmd import stats_command
from .train_cmd import train_command

app = typer.Typer(name="snndeploy", cls=help_.Group, add_completion=False, no_args_is_help=True,
                  help="Train spiking neural networks fast (noisy T=1), convert to any T, deploy.")

# `bench ARTIFACTS...` runs `bench run`: the group's help says so, since its listing shows only the subcommands
BENCH_HELP = """Benchmarks: deployment, training cost, serving load.

Deployment, of checkpoints, .onnx graphs and .plan engines (the same as `snndeploy bench run ARTIFACTS...`):
`snndeploy bench ARTIFACTS... [OPTIONS]`, for example
`snndeploy bench runs/walk exports/small-cnn_T5_fp16.onnx --T 1,5 --batch 1,64 --plot bench.png`
(`snndeploy bench run --help` lists its options).

Training cost: `snndeploy bench train [OPTIONS]`. Serving load: `snndeploy bench serve ARTIFACT [OPTIONS]`."""


def _version(module: str, dists: tuple[str, ...]) -> str | None:
    """The installed version of a library, or None; read from its metadata without importing it (TensorRT from
    JetPack's apt packages has no metadata: imported then)."""
    for dist in dists:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return str(getattr(importlib.import_module(module), "__version__", "unknown version"))
    except Exception:  # a broken install still answers --version
        return "unknown version (fails to import)"


def version_text() -> str:
    """'snndeploy 0.1.0' and, on a second line, Python's and the backends' versions: the libraries of every row
    of the kinds table (snndeploy.runners.table), by their distribution names (the GPU wheels are named apart)."""
    try:
        own = importlib.metadata.version("snndeploy")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree that was never installed
        own = "unknown (not installed)"
    libs = [f"{name} {v}" if (v := _version(name, dists)) else f"{name} not installed"
            for name, dists in libraries().items()]
    return f"snndeploy {own}\npython {platform.python_version()}, {', '.join(libs)}"


def _show_version(value: bool) -> None:
    if value:
        common.console.print(version_text(), highlight=False)
        raise typer.Exit()


@app.callback()
def root(debug: bool = typer.Option(False, "--debug", help="show the traceback of an error (bad input, a full "
                                    "disk, a missing package) instead of the one line `error: ...`."),
         version: bool = typer.Option(False, "--version", is_eager=True, expose_value=False, callback=_show_version,
                                      help="print the versions of snndeploy, Python, PyTorch, ONNX Runtime and "
                                           "TensorRT, and exit.")) -> None:
    """Options for every command."""
    common.set_debug(debug)


app.command("train")(train_command)
app.command("eval")(eval_command)
app.command("export")(export_command)
app.command("check")(check_command)
app.command("quantize")(quantize_command)
app.command("build")(build_command)
app.command("infer")(infer_command)
app.command("stats")(stats_command)
app.command("serve")(serve_command)
app.add_typer(bench_app, name="bench", help=BENCH_HELP)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
