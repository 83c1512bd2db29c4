"""The Typer front end of snndeploy (installed as the `snndeploy.cli` package)."""
