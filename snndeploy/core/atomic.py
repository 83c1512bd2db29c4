"""Atomic file writes: a temporary file in the same folder, fsynced, then renamed over the target."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import SnnDeployError


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, on failure it vanishes."""
    target = Path(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    except OSError as exc:
        raise SnnDeployError(f"cannot write {target}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp makes 0600; artifacts are shared like any other file
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_with(target: str | Path, writer: Callable[[Path], None]) -> Path:
    """Call ``writer(tmp_path)`` and atomically move the result to ``target``."""
    with atomic_path(target) as tmp:
        writer(tmp)
    return Path(target)


def write_bytes(target: str | Path, data: bytes) -> Path:
    """Atomically write bytes."""
    return write_with(target, lambda p: p.write_bytes(data))


def write_text(target: str | Path, text: str) -> Path:
    """Atomically write UTF-8 text."""
    return write_bytes(target, text.encode("utf-8"))


def write_json(target: str | Path, obj: object) -> Path:
    """Atomically write pretty JSON."""
    return write_text(target, json.dumps(obj, indent=2, allow_nan=False) + "\n")


def check_writable(folder: Path) -> None:
    """Fail before any work when the output folder cannot be written."""
    with atomic_path(Path(folder) / ".write-test"):
        pass
    (Path(folder) / ".write-test").unlink(missing_ok=True)
