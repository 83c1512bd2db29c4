"""`--help` as a newcomer reads it: every option that has a default shows it, no option shows a Python type
(<int>, <list[str]>, <bool>) or a braced argument ({artifact}) as what to type; `--version`; messages keep their
[brackets] (install hints like 'snndeploy[peers]')."""

from __future__ import annotations

import importlib.metadata
import re

import pytest
import typer.main
from typer.testing import CliRunner

from snndeploy.cli import common
from snndeploy.cli.main import app
from snndeploy.core.config import TrainConfig

runner = CliRunner()
WIDE = {"COLUMNS": "250", "TERMINAL_WIDTH": "250"}  # one row per option wherever the help text fits
PYTHON_TYPE = re.compile(r"<[\w\[\], |]+>")  # <int>, <list[str]>, <path>
BRACED = re.compile(r"\{\w+\}")  # Click's {artifact}


def commands() -> list[tuple[tuple[str, ...], object]]:
    """(words after `snndeploy`, click command) of every command and group of the app."""
    found = []

    def walk(cmd, path):
        found.append((path, cmd))
        for name, sub in getattr(cmd, "commands", {}).items():
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return found


def help_rows(words: tuple[str, ...]) -> tuple[str, dict[str, str]]:
    """The whole `--help` text and its rows: first flag -> the row's text (a row continues over wrapped lines)."""
    r = runner.invoke(app, [*words, "--help"], env=WIDE)
    assert r.exit_code == 0, r.output
    rows: dict[str, str] = {}
    current = None
    for line in r.output.splitlines():
        body = line.strip().strip("│").strip()
        if not body or body[0] in "╭╰":
            current = None
            continue
        first = body.lstrip("* ").split(maxsplit=1)[0] if body.lstrip("* ") else ""
        if body.startswith(("-", "*")) and first:
            current = first
            rows[current] = body
        elif current is not None:
            rows[current] += " " + body
    return r.output, rows


def expected_default(param) -> str | None:
    """What `[default: ...]` must say for a parameter, '' where any value will do, None where none is shown."""
    if not param.expose_value or param.param_type_name != "option":
        return None  # --help, --version
    if isinstance(param.show_default, str):
        return param.show_default
    if param.is_flag:
        if param.secondary_opts:
            return (param.opts if param.default else param.secondary_opts)[0].lstrip("-")
        return ""  # a plain flag: off or on
    return None if param.default is None else str(param.default)


ALL = commands()


@pytest.mark.parametrize("words, cmd", ALL, ids=[" ".join(w) or "snndeploy" for w, _ in ALL])
def test_help_shows_every_default_and_readable_metavars(words, cmd):
    text, rows = help_rows(words)
    assert not PYTHON_TYPE.search(text), f"a Python type as metavar: {PYTHON_TYPE.search(text).group()}\n{text}"
    assert not BRACED.search(text), f"a braced argument: {BRACED.search(text).group()}\n{text}"
    for param in cmd.params:
        label = param.opts[0] if param.param_type_name == "option" else param.metavar
        row = rows.get(label)
        assert row is not None, f"no help row for {label}:\n{text}"
        want = expected_default(param)
        if want is not None:
            assert f"[default: {want}" in row, f"{' '.join(words)} {label}: no [default: {want}...] in: {row}"
        if param.param_type_name == "option" and not param.is_flag:
            flag_columns = any(o.startswith("--") for o in param.opts) + any(not o.startswith("--") for o in param.opts)
            assert row.split()[flag_columns] == param.metavar, f"{label}: metavar not shown: {row}"
        if param.param_type_name == "option" and param.is_flag:
            assert param.metavar == "", f"{label} is a flag: no metavar"


@pytest.mark.parametrize("words, flag, default", [
    # defaults that were written into help strings and vanished as rich markup
    (("eval",), "--T", "1,5,10"),
    (("bench", "run"), "--batch", "1,64"),
    (("build",), "--batch", "1,64,64"),
    (("build",), "--out", "MODEL.plan"),
    (("export",), "--out", "exports"),
    (("export",), "--T", "5"),
    (("quantize",), "--out", "beside MODEL"),
    (("train",), "--epochs", "20"),
    (("train",), "--out", "runs/train"),
    (("infer",), "--device", "cpu"),
    (("eval",), "--device", "cpu"),
    (("eval",), "--stage", "3; a graph's own"),
])
def test_reported_defaults_are_shown(words, flag, default):
    _, rows = help_rows(words)
    assert f"[default: {default}" in rows[flag], rows[flag]


def test_train_help_shows_trainconfig_defaults():
    """train's options default to None (a --config file may fill them): --help shows TrainConfig's defaults."""
    _, rows = help_rows(("train",))
    cmd = dict(ALL)[("train",)]
    shown = 0
    for param in cmd.params:
        if param.name in TrainConfig.__dataclass_fields__:
            flags = (param.opts[0][2:], param.secondary_opts[0][2:]) if param.secondary_opts else None
            want = common.config_default(TrainConfig, param.name, flags)
            if want is not False:
                assert f"[default: {want}]" in rows[param.opts[0]], rows[param.opts[0]]
                shown += 1
    assert shown >= 15
    assert "[default: 0,1]" in rows["--noise-range"] and "[default: 0.0001]" in rows["--lr"]


def test_export_help_defaults_are_exportconfig_defaults():
    """export cannot import ExportConfig for its help (that imports PyTorch): its shown defaults are checked here."""
    from snndeploy.export.exporter import ExportConfig

    cmd = dict(ALL)[("export",)]
    fields = ExportConfig.__dataclass_fields__
    checked = 0
    for param in cmd.params:
        name = "format" if param.name == "fmt" else param.name
        if name not in fields or fields[name].default is None or name == "overwrite":  # a plain flag, off
            continue
        flags = (param.opts[0][2:], param.secondary_opts[0][2:]) if param.secondary_opts else None
        want = common.config_default(ExportConfig, name, flags)
        assert str(param.show_default).split(";")[0] == want, f"--{name}: help says {param.show_default}, is {want}"
        checked += 1
    assert checked == 12


def test_arguments_and_lists_read_as_what_to_type():
    text, rows = help_rows(("infer",))
    assert "Usage: snndeploy infer [OPTIONS] ARTIFACT INPUTS..." in text
    assert "INPUTS..." in rows
    _, rows = help_rows(("eval",))
    assert rows["--T"].split()[1] == "T[,T...]"
    assert rows["--threads"].split()[1] == "N" and "[default: all cores]" in rows["--threads"]
    _, rows = help_rows(("export",))
    assert "jetson-fp16" in rows["--config"] and rows["--config"].split()[1] == "NAME|FILE"


def test_infer_device_says_what_it_takes():
    _, rows = help_rows(("infer",))
    assert all(word in rows["--device"] for word in ("cpu", "cuda:N", "tensorrt")), rows["--device"]


def test_every_option_says_what_it_does():
    missing = [(" ".join(words), param.opts[0]) for words, cmd in ALL for param in cmd.params
               if param.param_type_name == "option" and param.expose_value and not (param.help or "").strip()]
    assert not missing, missing


def test_eval_device_reads_as_infer_device():
    """The same artifacts take the same devices: eval and infer describe --device in the same words."""
    device = {name: next(p for p in dict(ALL)[(name,)].params if p.name == "device") for name in ("eval", "infer")}
    assert device["eval"].help == device["infer"].help
    assert all(word in device["eval"].help for word in ("cpu", "cuda:N", "tensorrt", ".plan")), device["eval"].help


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0, r.output
    first, second = r.output.strip().splitlines()
    assert first == f"snndeploy {importlib.metadata.version('snndeploy')}"
    assert second.startswith("python ") and "torch " in second and "onnxruntime " in second
    assert "tensorrt" in second


def test_messages_keep_their_brackets(capsys):
    """Install hints name extras in brackets; rich must not take them for markup."""
    common.console.print("peer skipped: spikingjelly is not installed (pip install snndeploy[peers])")
    common._fail(str(common.EXTRAS["torch"]))
    out, err = capsys.readouterr()
    assert "pip install snndeploy[peers]" in out
    assert err.strip() == f"error: {common.EXTRAS['torch']}" and "[train]" in err
    common.console.print(common.table("t [x]", ["a [b]"], [["[bold]c[/bold]"]]))
    out, _ = capsys.readouterr()
    assert "t [x]" in out and "a [b]" in out and "[bold]c[/bold]" in out


@pytest.mark.parametrize(("words", "cmd"), [(w, c) for w, c in ALL if w], ids=lambda v: " ".join(v) if
                         isinstance(v, tuple) else "")
def test_every_command_summary_fits_without_a_cut(words, cmd):
    # Click cuts a summary longer than its limit with "..." (plain help); Typer's rich help lists the whole first
    # paragraph, broken where the source line broke: each command needs a one-line summary that fits
    summary = cmd.get_short_help_str(limit=60)
    assert not summary.endswith("...") and "\n" not in summary and summary.endswith("."), summary


@pytest.mark.parametrize("group", [(), ("bench",)])
def test_command_listing_gives_each_command_one_line(group):
    r = runner.invoke(app, [*group, "--help"], env={"COLUMNS": "100", "TERMINAL_WIDTH": "100"})
    listing = r.output[r.output.index("Commands"):]
    rows = [line.strip("│ ") for line in listing.splitlines()[1:] if line.strip().startswith("│")]
    names = set(dict(ALL)[group].commands)
    assert rows and all(row.split()[0] in names for row in rows), rows  # no row continues a cut description
    assert "..." not in "".join(rows)


def test_bench_help_shows_how_to_bench_artifacts():
    r = runner.invoke(app, ["bench", "--help"], env=WIDE)
    text = " ".join(r.output.split())
    assert "snndeploy bench ARTIFACTS..." in text and "snndeploy bench " in text.split("ARTIFACTS...", 1)[1]


def test_infer_says_it_does_not_search_sub_folders():
    r = runner.invoke(app, ["infer", "--help"], env=WIDE)
    assert "sub-folders" in " ".join(r.output.split())


def test_every_pip_install_hint_quotes_its_brackets():
    # a shell expands an unquoted snndeploy[gpu] as a glob (zsh: "no matches found")
    import pathlib

    import snndeploy

    unquoted = re.compile(r"pip install (?:-e )?[^'\"\s]+\[")
    found = [f"{p.name}: {m.group(0)}" for p in pathlib.Path(snndeploy.__file__).parent.rglob("*.py")
             for m in unquoted.finditer(p.read_text())]
    assert not found, found
