"""Atomic file writes (a temporary file in a private folder beside the target, fsynced, then renamed over it), the
cleanup of what killed writes leave, and an advisory lock for folders with one writer."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import SnnDeployError

# Every temporary thing a write makes is a folder ".<target name>.<pid>-<random>.snndeploy-tmp" beside the target:
# the writer (ours, or a library's that makes temp files of its own beside the path it is given, as safetensors
# does) writes inside it, then the finished file is renamed out. A killed write leaves one such folder; the
# pid in its name tells a later write, without any lock, that its writer is dead and the folder can go.
TEMP_SUFFIX = ".snndeploy-tmp"
_TEMP = re.compile(r"\.(?P<label>.+)\.(?P<pid>[0-9]+)-[A-Za-z0-9_]+" + re.escape(TEMP_SUFFIX))


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


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True  # another thread of this process may be writing
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, OSError):
        return True  # another user's process, or a pid we cannot judge: leave its files
    return True


def remove_stale_temps(folder: str | Path) -> list[Path]:
    """Remove what killed snndeploy writes left in ``folder``: only folders named by this module's temp pattern,
    made by a process that is gone, and never a symbolic link. Returns what was removed."""
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP.fullmatch(entry.name)
        if not match or not entry.is_dir(follow_symlinks=False) or _alive(int(match["pid"])):
            continue
        shutil.rmtree(entry.path, ignore_errors=True)
        removed.append(Path(entry.path))
    return removed


@contextlib.contextmanager
def temp_dir(where: str | Path, label: str) -> Iterator[Path]:
    """A private folder beside ``where``'s contents, named by the temp pattern; removed with what is left in it."""
    where = Path(where)
    try:
        where.mkdir(parents=True, exist_ok=True)
        remove_stale_temps(where)
        tmp = Path(tempfile.mkdtemp(prefix=f".{label}.{os.getpid()}-", suffix=TEMP_SUFFIX, dir=where))
    except OSError as exc:
        raise SnnDeployError(f"cannot write in {where}: {exc.strerror or exc}") from None
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@contextlib.contextmanager
def atomic_path(target: str | Path | Callable[[Path], str | Path], folder: str | Path | None = None) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``target``, on failure it vanishes.

    ``target`` may be a function of the written temporary file that gives the final name (from its hash, say),
    given ``folder``. The temporary path lies in a private temp folder (see ``TEMP_SUFFIX``), so whatever a
    library writes beside it is removed with it.
    """
    if not callable(target) and Path(target).is_dir():
        raise SnnDeployError(f"cannot write {target}: it is a folder; give a file name")
    where = Path(folder) if callable(target) else Path(target).parent
    label = "file" if callable(target) else Path(target).name
    with temp_dir(where, label) as tmp_dir:
        tmp_path = tmp_dir / (label if label != "file" else "data")
        yield tmp_path
        # mkstemp/mkdtemp make private files and a writer may have made the file anew: artifacts are shared
        os.chmod(tmp_path, _file_mode())
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        final = where / Path(target(tmp_path)).name if callable(target) else Path(target)
        os.replace(tmp_path, final)
        fsync_dir(where)


class RunLock:
    """An advisory lock on a folder (``.lock`` inside it, ``flock``): one writer at a time. The lock file holds
    the owner's process id, for the message a second writer gets. Where ``fcntl`` is missing (Windows) it
    does nothing.

    The lock file is never followed through a link and never truncated unless it is what this class writes (a
    regular file holding at most a process id): a ``.lock`` planted as a link to another file, or a file with
    other contents, is refused."""

    def __init__(self, folder: str | Path, what: str = "run folder") -> None:
        self.folder, self.what = Path(folder), what
        self._fd: int | None = None
        self._created = False

    def _open(self) -> int:
        path = self.folder / ".lock"
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        try:
            fd = os.open(path, flags, 0o666)
        except OSError:
            if os.path.islink(path):
                raise SnnDeployError(f"{path} is a symbolic link, not a snndeploy lock file; remove it or choose "
                                     "another folder") from None
            raise
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_nlink != 1 or st.st_size > 32 \
                or not os.pread(fd, 33, 0).strip().isdigit() and st.st_size:
            os.close(fd)
            raise SnnDeployError(f"{path} is not a snndeploy lock file (snndeploy writes only a process id there); "
                                 "remove it or choose another folder")
        return fd

    def __enter__(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # not POSIX: no advisory locks
            return self
        try:
            self._created = not self.folder.exists()
            self.folder.mkdir(parents=True, exist_ok=True)
            fd = self._open()
        except OSError as exc:
            if self.folder.exists() and not self.folder.is_dir():  # mkdir's "File exists" hides that
                raise SnnDeployError(f"{self.what} {self.folder} is a file, not a folder") from None
            raise SnnDeployError(f"cannot write in {self.folder}: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            owner = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise SnnDeployError(f"{self.what} {self.folder} is in use by another snndeploy process (pid {owner}); "
                                 "wait for it or choose another folder") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode("ascii"), 0)
        self._fd = fd
        remove_stale_temps(self.folder)  # what a killed owner left, even if this run writes nothing
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            if self._created and [p.name for p in self.folder.iterdir()] == [".lock"]:
                # a folder made for a run that wrote nothing (it failed first): leave nothing behind
                (self.folder / ".lock").unlink(missing_ok=True)
                self.folder.rmdir()
            os.close(self._fd)  # closing releases the flock
            self._fd = None


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
    """Fail before any work when the output folder cannot be written (nothing is left there)."""
    with temp_dir(Path(folder), "write-test"):
        pass
