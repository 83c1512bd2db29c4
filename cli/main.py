"""The `snndeploy` command."""

from __future__ import annotations

import typer

from .eval_cmd import eval_command
from .export_cmd import check_command, export_command
from .train_cmd import train_command

app = typer.Typer(name="snndeploy", add_completion=False, no_args_is_help=True,
                  help="Train spiking neural networks fast (noisy T=1), convert to any T, deploy.")
app.command("train")(train_command)
app.command("eval")(eval_command)
app.command("export")(export_command)
app.command("check")(check_command)


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
