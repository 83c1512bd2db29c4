"""Atomic file writes (a temporary file in the same folder, fsynced, then renamed over the target), the
cleanup of what killed writes leave, and an advisory lock for folders with one writer."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from .errors import SnnDeployError

TEMP_SUFFIX = ".tmp"  # temporary files are ".<target name>.<random>.tmp" beside their target


def _file_mode() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def fsync_dir(folder: Path) -> None:
    """Make a rename durable (POSIX); a no-op where directories cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(target: str | Path | Callable[[Path], Path], folder: str | Path | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, on failure it vanishes.

    ``target`` may be a function of the written temporary file (a name from its hash), given ``folder``.
    """
    if not callable(target) and Path(target).is_dir():
        raise SnnDeployError(f"cannot write {target}: it is a folder; give a file name")
    where = Path(folder) if callable(target) else Path(target).parent
    label = "file" if callable(target) else Path(target).name
    try:
        where.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{label}.", suffix=TEMP_SUFFIX, dir=where)
    except OSError as exc:
        raise SnnDeployError(f"cannot write in {where}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        # mkstemp makes 0600 and a writer may have made the file anew: artifacts are shared like any other file
        os.chmod(tmp_path, _file_mode())
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, target(tmp_path) if callable(target) else target)
        fsync_dir(where)
    finally:
        tmp_path.unlink(missing_ok=True)


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Delete the temporary files that killed writes left in ``folder`` (call only while no one else writes
    there: the run lock). Returns what was removed."""
    removed = []
    for path in Path(folder).glob(f".*{TEMP_SUFFIX}"):
        if path.is_file():
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


class RunLock:
    """An advisory lock on a folder (``.lock`` inside it, ``flock``): one writer at a time. The lock file holds
    the owner's process id, for the message a second writer gets. Where ``fcntl`` is missing (Windows) it
    does nothing."""

    def __init__(self, folder: str | Path, what: str = "run folder") -> None:
        self.folder, self.what = Path(folder), what
        self._fh: Any = None
        self._created = False

    def __enter__(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks
            return self
        try:
            self._created = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True)
            fh = open(self.folder / ".lock", "a+")  # noqa: SIM115 - held until __exit__
        except OSError as exc:
            if self.folder.exists() and not self.folder.is_dir():  # mkdir's "File exists" hides that
                raise SnnDeployError(f"{self.what} {self.folder} is a file, not a folder") from None
            raise SnnDeployError(f"cannot write in {self.folder}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.seek(0)
            owner = fh.read().strip() or "another process"
            fh.close()
            raise SnnDeployError(f"{self.what} {self.folder} is in use by another snndeploy process (pid {owner}); "
                                 "wait for it or choose another folder") from None
        fh.seek(0)
        fh.truncate()
        fh.write(str(os.getpid()))
        fh.flush()
        self._fh = fh
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fh is not None:
            if self._created and [p.name for p in self.folder.iterdir()] == [".lock"]:
                # a folder made for a run that wrote nothing (it failed first): leave nothing behind
                (self.folder / ".lock").unlink(missing_ok=True)
                self.folder.rmdir()
            self._fh.close()  # closing releases the flock
            self._fh = None


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
