"""Running the CLI in-process with Typer's CliRunner."""

from typer.testing import CliRunner

from snndeploy.cli.main import app

runner = CliRunner()


def invoke(*args):
    """Run `snndeploy ARGS...` and return the result."""
    return runner.invoke(app, [str(a) for a in args])


def bad(*args):
    """Run a command that must fail with a one-line error (exit 2, no traceback); return its output."""
    r = invoke(*args)
    assert r.exit_code == 2, r.output
    assert "Traceback" not in r.output
    return r.output
