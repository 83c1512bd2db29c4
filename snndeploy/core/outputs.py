"""The one rule for outputs that already exist (docs/commands.md, "Existing outputs"): refused in one line naming
the path, --overwrite and another -o; with --overwrite, replaced only where snndeploy's own record proves it wrote
them."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from .errors import SnnDeployError

_PATH_LIMIT = 150


def path_text(path: str | Path) -> str:
    """A path as a message names it: as written, its tail only when it is longer than a line allows."""
    text = str(path)
    return text if len(text) <= _PATH_LIMIT else "..." + text[-_PATH_LIMIT:]


def existing_line(path: str | Path, option: str = "-o") -> str:
    """The one line refusing an output path that already holds something."""
    return f"{path_text(path)} already exists: --overwrite replaces it, or give {option} another path"


def refuse_existing(path: str | Path, overwrite: bool, ours: Callable[[Path], bool], option: str = "-o") -> None:
    """Refuse ``path`` if it already holds something, unless ``overwrite``; even then refuse what ``ours`` (a
    check of snndeploy's own record: an ONNX file's facts, an engine's sidecar) does not prove snndeploy wrote,
    and a link."""
    path = Path(path)
    if not os.path.lexists(path):
        return
    if not overwrite:
        raise SnnDeployError(existing_line(path, option))
    if path.is_symlink() or not ours(path):
        raise SnnDeployError(f"{path_text(path)} was not written by snndeploy and is never replaced: give "
                             f"{option} another path")
