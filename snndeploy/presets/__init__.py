"""Presets shipped with the package, found by name from any folder: `snndeploy export --config jetson-fp16`,
`snndeploy train --config paper-mnist`.

A --config value is a preset name (a file name here without .yaml) or the path of the user's own YAML file. Each
preset holds the options of one command (TRAIN names the train presets; every other one is an export preset), and
each command accepts only its own."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import SnnDeployError, short

FOLDER = Path(__file__).resolve().parent
SUFFIXES = (".yaml", ".yml")
COMMANDS = ("export", "train")
# the paper's training settings (section 3, Table 1), one preset per run it reports
TRAIN = ("paper-mnist", "paper-fmnist", "paper-cifar10", "paper-cifar10-resnet18")


def command_of(name: str) -> str:
    """The command a shipped preset is for."""
    return "train" if name in TRAIN else "export"


def names(command: str = "export") -> list[str]:
    """The names of ``command``'s presets, sorted."""
    if command not in COMMANDS:
        raise ValueError(f"no presets for command {command!r}")
    return sorted(p.stem for p in FOLDER.glob("*.yaml") if command_of(p.stem) == command)


def resolve(value: str | Path, command: str = "export") -> Path:
    """The YAML file a --config value of ``command`` means: its packaged preset of that name, else the file at
    that path.

    A bare word (no folder, no .yaml/.yml suffix) that is neither one of the command's presets nor an existing file
    is an error that lists them (and says so when it names another command's preset); a path is returned as given
    (a missing file is reported when it is read)."""
    text, own = str(value), names(command)
    if text in own:
        return FOLDER / f"{text}.yaml"
    path = Path(text).expanduser()
    looks_like_path = len(path.parts) != 1 or path.suffix.lower() in SUFFIXES or text.startswith(".")
    if looks_like_path or path.is_file():
        return path
    listed = f"presets: {', '.join(own)} (or give a YAML file path)"
    other = next((c for c in COMMANDS if c != command and text in names(c)), None)
    if other is not None:
        raise SnnDeployError(f"{text} is a preset of snndeploy {other}, not of {command}; {command} {listed}")
    raise SnnDeployError(f"unknown preset {short(text)}; {listed}")


def where(value: str | Path, path: Path) -> str:
    """How messages name a --config value resolved to ``path``: a preset by its name, a file by its path."""
    return str(value) if path.parent == FOLDER else str(path)
