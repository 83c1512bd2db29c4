"""Export presets shipped with the package: `snndeploy export --config jetson-fp16` from any folder.

A --config value is a preset name (a file name here without .yaml) or the path of the user's own YAML file."""

from __future__ import annotations

from pathlib import Path

from ..core.errors import SnnDeployError, short

FOLDER = Path(__file__).resolve().parent
SUFFIXES = (".yaml", ".yml")


def names() -> list[str]:
    """The preset names, sorted."""
    return sorted(p.stem for p in FOLDER.glob("*.yaml"))


def resolve(value: str | Path) -> Path:
    """The YAML file a --config value means: the packaged preset of that name, else the file at that path.

    A bare word (no folder, no .yaml/.yml suffix) that is neither a preset nor an existing file is an error
    that lists the presets; a path is returned as given (a missing file is reported when it is read)."""
    text = str(value)
    if text in names():
        return FOLDER / f"{text}.yaml"
    path = Path(text).expanduser()
    looks_like_path = len(path.parts) != 1 or path.suffix.lower() in SUFFIXES or text.startswith(".")
    if looks_like_path or path.is_file():
        return path
    raise SnnDeployError(f"unknown preset {short(text)}; presets: {', '.join(names())} (or give a YAML file path)")
