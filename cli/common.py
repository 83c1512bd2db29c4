"""Shared CLI plumbing: one-line errors, tables, JSON output."""

from __future__ import annotations

import functools
import math
import sys
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from snndeploy.core.errors import SnnDeployError

# Wide enough for the benchmark table when output is piped or captured (rich defaults to 80).
console = Console(width=None if sys.stdout.isatty() else 140)
err_console = Console(stderr=True)
F = TypeVar("F", bound=Callable[..., Any])


# optional dependency -> how to install it (the runtime itself needs none of them)
EXTRAS = {
    "torch": "pip install 'snndeploy[train]' (PyTorch: training, export, checkpoints)",
    "torchvision": "pip install 'snndeploy[train]'",
    "safetensors": "pip install 'snndeploy[train]'",
    "onnxruntime": "pip install 'snndeploy[cpu]' (or 'snndeploy[gpu]')",
    "polygraphy": "pip install polygraphy (builds TensorRT engines; part of 'snndeploy[gpu]')",
    "tensorrt": "pip install 'snndeploy[gpu]' (on a Jetson, TensorRT comes with JetPack)",
    "modelopt": "pip install 'snndeploy[int8]'",
    "tritonclient": "pip install 'snndeploy[triton]'",
}


def one_line_errors(fn: F) -> F:
    """Turn SnnDeployError, a missing optional package (and interrupted runs) into one line on stderr and exit
    code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except SnnDeployError as exc:
            err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except ModuleNotFoundError as exc:
            # an optional dependency of this command is not installed: say which extra provides it
            top = (exc.name or "").split(".")[0]
            if top not in EXTRAS:
                raise
            err_console.print(f"[red]error:[/red] {escape(f'{top} is not installed: {EXTRAS[top]}')}",
                              highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err_console.print("interrupted", highlight=False)
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def json_safe(value: Any) -> Any:
    """Replace infinities (alpha = inf) by the string 'inf' so the JSON stays standard."""
    if isinstance(value, float) and math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_safe(v) for v in value]
    return value


def table(title: str, columns: list[str], rows: list[list[Any]]) -> Table:
    """A rich table with right-aligned columns after the first."""
    t = Table(title=title)
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*[escape(str(c)) for c in row])
    return t


def parse_values(values: Iterable[str] | None, kind: type, what: str) -> list[Any]:
    """Repeated options and comma lists alike: ['1,5', '10'] -> [1, 5, 10]."""
    out: list[Any] = []
    for item in values or []:
        for part in str(item).split(","):
            part = part.strip()
            if not part:
                continue
            try:
                out.append(kind(part))
            except ValueError:
                raise SnnDeployError(f"{what} must be {kind.__name__} values, got '{part}'") from None
    return out
