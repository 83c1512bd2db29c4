"""The `snndeploy` command."""

from __future__ import annotations

import typer

from . import common
from .bench_cmd import bench_app
from .deploy_cmd import build_command, infer_command, quantize_command
from .eval_cmd import eval_command
from .export_cmd import check_command, export_command
from .stats_cmd import stats_command
from .train_cmd import train_command

app = typer.Typer(name="snndeploy", add_completion=False, no_args_is_help=True,
                  help="Train spiking neural networks fast (noisy T=1), convert to any T, deploy.")


@app.callback()
def root(debug: bool = typer.Option(False, "--debug", help="show the traceback of an error (bad input, a full "
                                    "disk, a missing package) instead of the one line `error: ...`.")) -> None:
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
app.add_typer(bench_app, name="bench")


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
