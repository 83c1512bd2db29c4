"""Shared CLI plumbing: one-line errors (usage errors too), honest --help, tables, JSON output."""

from __future__ import annotations

import dataclasses
import errno
import functools
import math
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TypeVar

import typer

try:  # Typer 0.2x vendors Click (its commands run on typer._click); older Typer depends on the click package
    from typer._click import ClickException
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older Typer
    from click import ClickException, get_current_context
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core import threads as _threads
from ..core import validate
from ..core.atomic import TEMP_SUFFIX
from ..core.errors import SnnDeployError
from ..core.install import Hint, hint, tensorrt_hint
from ..core.outputs import existing_line
from ..runners.table import install_hints

# Wide enough for the benchmark table when output is piped or captured (rich defaults to 80). No markup: messages
# quote paths, install hints ('snndeploy[peers]') and values, whose [brackets] rich would take for styles.
# piped or captured: COLUMNS when set, else 140 (rich would default to 80, too narrow for the bench table)
console = Console(width=None if sys.stdout.isatty() or os.environ.get("COLUMNS") else 140, markup=False)
err_console = Console(stderr=True, markup=False)
F = TypeVar("F", bound=Callable[..., Any])


# optional dependency -> how to install it (the runtime itself needs none of them), beside the backend libraries
# of the kinds table (install_hint)
# (snndeploy.core.install: each command installs from where this snndeploy came from; JetPack's TensorRT on a Jetson)
EXTRAS: dict[str, Hint] = {
    "torch": hint("train", "PyTorch: training, export, checkpoints"),
    "torchvision": hint("train"),
    "safetensors": hint("train"),
    "polygraphy": tensorrt_hint(),
    "tensorrt": tensorrt_hint(),
    "cuda": tensorrt_hint(),
    "modelopt": hint("int8"),
    "tritonclient": hint("triton"),
}


def install_hint(module: str) -> str | None:
    """How to install an optional top-level module: EXTRAS, else the install line of the kind whose backend
    library it is (snndeploy.runners.table), else None."""
    known = EXTRAS.get(module)
    return str(known) if known is not None else install_hints().get(module)


INT_MAX = validate.INT64_MAX  # any integer option: what the libraries below take without overflowing
# OSErrors a user's machine or paths cause (not bugs): one line instead of a traceback
NO_SPACE = (errno.ENOSPC, errno.EDQUOT)
USER_OS_ERRORS = frozenset({*NO_SPACE, errno.EACCES, errno.EPERM, errno.EROFS, errno.EISDIR, errno.ENOTDIR,
                            errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY, errno.ENAMETOOLONG, errno.ELOOP,
                            errno.EFBIG, errno.EBUSY, errno.ETXTBSY, errno.EXDEV})
_debug = False  # `snndeploy --debug`: re-raise instead of one line, with the traceback


def set_debug(on: bool) -> None:
    """Show tracebacks (``--debug``) instead of one-line errors, for this process."""
    global _debug
    _debug = on


def _fail(message: str, code: int = 2) -> typer.Exit:
    err_console.print(Text.assemble(("error:", "red"), " ", message), highlight=False, soft_wrap=True)
    return typer.Exit(code)


def usage_error_line(exc: ClickException, command_path: str | None = None) -> str:
    """Click's message of a usage error (a bad value, a missing argument, an unknown option) as one line, in the
    style of the other errors, with where to read more: "invalid value for '--T': ... (see snndeploy infer
    --help)". ``command_path``: the command, where the error does not say (the option parser's do not)."""
    message = " ".join(line.strip() for line in exc.format_message().splitlines() if line.strip()).rstrip(".")
    first = message.split(" ", 1)[0]
    if first[1:].islower():  # "Invalid value", "Missing argument"; not "TensorRT" or "T"
        message = message[0].lower() + message[1:]
    ctx = getattr(exc, "ctx", None)
    if ctx is not None:
        command_path = ctx.command_path
    return f"{message} (see {command_path} --help)" if command_path else message


def os_error_line(exc: BaseException) -> str | None:
    """The one-line message of an error a user's disk or paths caused, or None for anything else.

    A full disk counts wherever it surfaces (an OSError, or a library error that wraps one or quotes it, like
    safetensors' SafetensorError); other OSErrors only when raised as such with an errno of USER_OS_ERRORS."""
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if (isinstance(e, OSError) and e.errno in NO_SPACE) or "No space left on device" in str(e) or \
                "Disk quota exceeded" in str(e):
            where = f" (writing {e.filename})" if isinstance(e, OSError) and e.filename else ""
            return f"no space left on device{where}; free some space and run again"
        e = e.__cause__ or e.__context__
    if isinstance(exc, OSError) and exc.errno in USER_OS_ERRORS:
        what = (exc.strerror or type(exc).__name__).lower()
        where = f": {exc.filename}" if exc.filename else ""
        where += f" -> {exc.filename2}" if exc.filename2 else ""
        return f"{what}{where}"
    return None


def _option_label(name: str) -> str:
    """'--batch-size' for the parameter batch_size of the running command."""
    ctx = get_current_context(silent=True)
    for p in ctx.command.params if ctx is not None else []:
        if p.name == name:
            return next((o for o in getattr(p, "opts", []) if o.startswith("--")), f"--{name.replace('_', '-')}")
    return f"--{name.replace('_', '-')}"


def check_option_values(values: dict[str, Any]) -> None:
    """Refuse option values no command can use before any work: floats that are NaN or infinite, integers
    beyond 64 bits, seeds outside [0, validate.SEED_MAX]. Config files get the same checks (validate.option_value)."""
    for name, value in values.items():
        validate.option_value(value, _option_label(name), name)


# `--overwrite` on every command that writes an output file: an existing one is refused without it (docs/commands.md,
# "Existing outputs")
OVERWRITE = typer.Option(False, "--overwrite", help="replace output files that already exist; without it they "
                         "are refused.")


def check_output_file(path: str | None, option: str, overwrite: bool = False) -> None:
    """Refuse an output file path that cannot become a file (a folder, a FIFO, a path under a file) or that
    already holds a file (unless ``overwrite``: the user named this file and asked to replace it) before any
    work; '-' (stdout) and None pass."""
    if path is None or path == "-":
        return
    p = Path(path).expanduser()
    if path.endswith(("/", "\\")) or p.is_dir():
        raise SnnDeployError(f"{option} {path} is a folder; give a file path")
    if p.is_symlink() or (p.exists() and not p.is_file()):
        raise SnnDeployError(f"{option} {path} is not a regular file")
    if p.exists() and not overwrite:
        raise SnnDeployError(existing_line(path, option))
    for parent in p.parents:
        if parent.exists():
            if not parent.is_dir():
                raise SnnDeployError(f"cannot write {option} {path}: {parent} is not a folder")
            break


def check_work_folder(folder: str, option: str, overwrite: bool) -> None:
    """Refuse a folder a command fills with its own files (bench's exported graphs and engines) that already
    holds something, unless ``overwrite`` (it then replaces only the files snndeploy wrote there)."""
    p = Path(folder).expanduser()
    if p.is_dir() and not overwrite and any(not e.name.endswith(TEMP_SUFFIX) for e in p.iterdir()):
        raise SnnDeployError(existing_line(folder, option))


# `--threads N` on every command that computes: declare `threads: int | None = THREADS`; one_line_errors applies it
THREADS = typer.Option(None, "--threads", metavar="N", show_default="all cores",
                       help="CPU threads for PyTorch, ONNX Runtime and OpenMP (fewer on a machine shared with "
                            "other jobs: two processes each using every core run many times slower).")


def one_line_errors(fn: F) -> F:
    """Turn SnnDeployError, a missing optional package, a full disk or another OSError a user causes, and
    interrupted runs into one line on stderr and exit code 2 (130 when interrupted); option values are checked
    first (check_option_values). ``snndeploy --debug`` re-raises them with the traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            check_option_values(kwargs)
            if "threads" in kwargs:  # before any library builds its thread pool
                _threads.set_threads(kwargs["threads"])
            return fn(*args, **kwargs)
        except SnnDeployError as exc:
            if _debug:
                raise
            raise _fail(str(exc)) from None
        except ModuleNotFoundError as exc:
            # an optional dependency of this command is not installed: say which extra provides it
            top = (exc.name or "").split(".")[0]
            hint = install_hint(top)
            if hint is None or _debug:
                raise
            raise _fail(f"{top} is not installed: {hint}") from None
        except KeyboardInterrupt:
            if _debug:
                raise
            err_console.print("interrupted", highlight=False)
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort, ClickException):
            raise
        except Exception as exc:
            line = os_error_line(exc)
            if line is None or _debug:
                raise
            raise _fail(line) from None

    return wrapper  # type: ignore[return-value]


def config_default(cls: type, name: str, flags: tuple[str, str] | None = None) -> str | bool:
    """The default of field ``name`` of config dataclass ``cls``, as --help shows it (``show_default=``), for an
    option that defaults to None so that a YAML file or the config fills it: the dataclass stays the one source.
    ``flags``: the (on, off) names of a --x/--no-x pair."""
    value = {f.name: f.default for f in dataclasses.fields(cls)}[name]
    if value is None:
        return False
    if flags is not None:
        return flags[0] if value else flags[1]
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


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
    t = Table(title=title, min_width=len(title) + 2)  # a narrow table would wrap its title
    for i, col in enumerate(columns):
        t.add_column(col, justify="left" if i == 0 else "right")
    for row in rows:
        t.add_row(*[Text(str(c)) for c in row])  # as written: a cell is never markup
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
                value = kind(part)
            except ValueError:
                raise SnnDeployError(f"{what} must be {kind.__name__} values, got '{part}'") from None
            if isinstance(value, int) and not -INT_MAX - 1 <= value <= INT_MAX:
                raise SnnDeployError(f"{what} is out of range: {part}")
            if isinstance(value, float) and not math.isfinite(value):
                raise SnnDeployError(f"{what} must be finite numbers, got '{part}'")
            out.append(value)
    return out
