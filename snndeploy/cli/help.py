"""`--help` as a newcomer reads it: readable metavars, every default shown, one-line usage errors."""

from __future__ import annotations

import inspect
import re
import types
import typing
from pathlib import Path
from typing import Any

from rich.markup import escape
from typer.core import TyperArgument, TyperGroup, TyperOption

try:  # Typer 0.2x vendors Click (its commands run on typer._click); older Typer depends on the click package
    from typer._click import ClickException, Command, Context
    from typer._click.core import ParameterSource
    from typer._click.exceptions import NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older Typer
    from click import ClickException, Command, Context
    from click.core import ParameterSource
    from click.exceptions import NoArgsIsHelpError, UsageError

from .. import presets
from .common import _fail, usage_error_line

# Typer's rich help shows a value's Python type (<int>, <list[str]>, <bool> for flags) and Click's usage wraps
# arguments in braces ({artifact}): both look like something to type. Defaults written into a help string as
# "[default: x]" were taken for rich markup and vanished. Group (the root command's class) rewrites every
# parameter of the command tree once, when Typer builds it, so no command declares any of this itself.

# what to type, by parameter name, where the type alone says too little (an explicit metavar= wins)
METAVARS = {"T": "T", "out": "PATH", "json_path": "FILE", "csv_path": "FILE", "md_path": "FILE", "plot": "FILE",
            "timing_cache": "FILE", "data_dir": "DIR", "work": "DIR", "config": "NAME|FILE", "device": "DEVICE",
            "trt": "VERSION", "alpha": "ALPHA", "noise_range": "LO,HI", "batch": "N"}
# what to type, by value type: int -> N, float -> FLOAT, a path -> PATH, any other text -> NAME
TYPE_METAVARS = {int: "N", float: "FLOAT", Path: "PATH", str: "NAME"}
# The one-line summary of each command in its group's listing, by command path: Click cuts a longer first
# sentence with "..." and Typer's rich help lists the whole first paragraph; each fits in 60 characters.
SHORT_HELP = {
    "train": "Train an SNN (default: noisy T=1 on the MNIST sample).",
    "eval": "Test accuracy of a trained network at several T.",
    "export": "Export a trained network to ONNX or Triton, at any T.",
    "check": "Check an ONNX graph for ONNX and for TensorRT.",
    "quantize": "Quantize an ONNX graph to INT8 (NVIDIA ModelOpt).",
    "build": "Build a TensorRT engine from an ONNX graph.",
    "infer": "Classify images, folders (not sub-folders) or arrays.",
    "stats": "Firing rates, synaptic operations and energy at each T.",
    "serve": "Serve artifacts on a Triton Inference Server.",
    "bench": "Benchmark artifacts, training cost or serving load.",
    "bench run": "Accuracy, latency and throughput of artifacts.",
    "bench train": "Training cost: noisy T=1 against BPTT and the ANN.",
    "bench serve": "Load one artifact served by Triton over HTTP and gRPC.",
}
_LINE_BREAK = re.compile(r"(?<!\n)\n(?!\n)")  # a break inside a paragraph: where the source line ended
_DEFAULT_IN_HELP = re.compile(r"\s*\[default: ([^\]]*)\]\s*$")


def _value_type(param: Any) -> tuple[Any, bool]:
    """(the type of one value, whether the option takes a list) of a Typer parameter."""
    hint = getattr(getattr(param, "type_descriptor", None), "annotation", None)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next((a for a in typing.get_args(hint) if a is not type(None)), hint)
    if typing.get_origin(hint) is list:
        return typing.get_args(hint)[0], True
    if hint is None:  # pragma: no cover - older Typer: Click's own parameter types
        kinds = {"integer": int, "float": float, "path": Path}
        return kinds.get(getattr(param.type, "name", ""), str), bool(param.multiple)
    return hint, False


def metavar(param: Any) -> str:
    """What a user types for ``param``: 'N', 'T[,T...]', 'FILE', 'ARTIFACT', 'INPUTS...'; '' for a flag."""
    if param.param_type_name == "argument":
        return param.name.upper() + ("..." if param.nargs != 1 else "")
    if getattr(param, "is_flag", False):
        return ""
    kind, many = _value_type(param)
    name = METAVARS.get(param.name) or TYPE_METAVARS.get(kind, "VALUE")
    return f"{name}[,{name}...]" if many else name  # lists: repeat the option or give a comma list


# what a value must be, by metavar, for the message that refuses an empty one (refuse_empty)
WANTED = {"DIR": "a folder", "FILE": "a file path", "PATH": "a path", "N": "a number", "T": "a number",
          "FLOAT": "a number", "NAME": "a name"}


def wanted(param: Any, ctx: Context) -> str:
    """What ``param`` takes, for a message: 'a folder', 'a preset of snndeploy train (...) or a YAML file'."""
    if param.param_type_name == "argument":  # ARTIFACT, MODEL, INPUTS...: files and folders
        return "a path"
    if param.name == "config" and ctx.info_name in presets.COMMANDS:
        return f"a preset of snndeploy {ctx.info_name} ({', '.join(presets.names(ctx.info_name))}) or a YAML file"
    return WANTED.get(str(param.metavar).split("[")[0], "a value")


def refuse_empty(param: Any, ctx: Context, value: Any) -> None:
    """Refuse an empty value given to ``param`` (`--config ""`, `-o ""`, an empty ARTIFACT): the commands would
    take it for "not given" or, as a path, for the current folder. Checked on the raw text, before a path type
    turns '' into '.'."""
    if ctx.get_parameter_source(param.name) in (ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP):
        return
    values = value if isinstance(value, (list, tuple)) else [value]
    if any(isinstance(v, str) and not v for v in values):
        label = param.name.upper() if param.param_type_name == "argument" else \
            next((o for o in param.opts if o.startswith("--")), param.opts[0])
        raise UsageError(f"{label} is empty: give {wanted(param, ctx)}", ctx)


class HelpOption(TyperOption):
    """A Typer option that shows its metavar as given and a show_default string as written (Typer and Click
    put it in parentheses: '[default: (all cores)]'); a plain flag's default reads 'off' or 'on'. An empty value
    is refused (refuse_empty)."""

    def process_value(self, ctx: Context, value: Any) -> Any:
        refuse_empty(self, ctx, value)
        return super().process_value(ctx, value)

    def display_type_rich(self, ctx: Context) -> str | None:
        return self.metavar or None

    def _get_default_string(self, *, ctx: Context, show_default_is_str: bool, default_value: Any) -> str:
        if show_default_is_str:
            return str(self.show_default)
        if self.is_bool_flag and not self.secondary_opts and self.expose_value:
            return "on" if default_value else "off"
        return super()._get_default_string(ctx=ctx, show_default_is_str=show_default_is_str,
                                           default_value=default_value)


class HelpArgument(TyperArgument):
    """A Typer argument shown as Click writes arguments: ARTIFACT, [NAME], INPUTS... (not {artifact}). An empty
    value is refused (refuse_empty)."""

    def process_value(self, ctx: Context, value: Any) -> Any:
        refuse_empty(self, ctx, value)
        return super().process_value(ctx, value)

    def display_type_rich(self, ctx: Context) -> str | None:
        return None  # the name says it (ARTIFACT); its help says what it may be

    def _usage_display_name(self) -> str:
        return self.display_name_raw if self.required else f"[{self.display_name_raw}]"


def paragraphs(text: str) -> str:
    """``text`` (a docstring) with each paragraph on one line: Typer's rich help keeps the source's line breaks,
    which cut sentences in the middle ("(random ops TensorRT" / "freezes at build time")."""
    return "\n\n".join(_LINE_BREAK.sub(" ", part.strip()) for part in inspect.cleandoc(text).split("\n\n"))


def tidy_help(command: Command, path: str = "") -> None:
    """Rewrite the parameters and help texts of ``command`` and every subcommand for --help: readable metavars,
    a "[default: x]" written into a help string moved to show_default (shown by Typer, never eaten as markup),
    every other help text escaped so that its [brackets] show as written, paragraphs on one line each, and the
    one-line summary of SHORT_HELP (``path``: the words after `snndeploy`)."""
    command.help = escape(paragraphs(command.help)) if command.help else command.help
    if path in SHORT_HELP:
        command.short_help = SHORT_HELP[path]
    help_option = command.get_help_option(Context(command))  # made on first use: make it now, and tidy it
    for param in [*command.params, *([help_option] if help_option is not None else [])]:
        if type(param) is TyperOption:
            param.__class__ = HelpOption  # same fields, only the display methods differ
        elif type(param) is TyperArgument:
            param.__class__ = HelpArgument
        if param.metavar is None:
            param.metavar = metavar(param)
        text = getattr(param, "help", None)
        if text:
            found = _DEFAULT_IN_HELP.search(text)
            if found and not isinstance(param.show_default, str):
                param.show_default = found.group(1)
                text = text[: found.start()]
            param.help = escape(text)
    for name, sub in getattr(command, "commands", {}).items():
        tidy_help(sub, f"{path} {name}".strip())


class Group(TyperGroup):
    """The root command: tidies the help of the whole command tree (tidy_help) when Typer builds it, and prints
    Click's usage errors (a bad value, a missing argument, an unknown option) as one line `error: ...`, exit 2,
    instead of Typer's error box."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        tidy_help(self)

    def make_context(self, *args: Any, **kwargs: Any) -> Context:
        try:
            return super().make_context(*args, **kwargs)
        except NoArgsIsHelpError:  # `snndeploy` alone prints the help
            raise
        except ClickException as exc:
            raise _fail(usage_error_line(exc), exc.exit_code) from None

    def invoke(self, ctx: Context) -> Any:
        path = _command_path(ctx)  # before Click consumes the arguments
        try:
            return super().invoke(ctx)
        except NoArgsIsHelpError:  # `snndeploy bench` alone prints bench's help
            raise
        except ClickException as exc:
            raise _fail(usage_error_line(exc, path), exc.exit_code) from None


def _command_path(ctx: Context) -> str:
    """'snndeploy bench train': the root command and the subcommand names that lead the arguments."""
    command, path = ctx.command, [ctx.command_path]
    for word in [*getattr(ctx, "_protected_args", []), *ctx.args]:
        command = getattr(command, "commands", {}).get(word)
        if command is None:
            break
        path.append(word)
    return " ".join(path)
