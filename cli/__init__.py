"""The Typer front end of snndeploy (installed as the `snndeploy_cli` package)."""
