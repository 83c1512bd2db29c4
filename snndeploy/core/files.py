"""Reading files that may be hostile: only regular files, only up to a size limit, JSON only up to a depth.

Every file snndeploy reads (weights, training states, manifests, graphs, sidecars, configs, bench state) goes
through here or through :func:`check_regular` before a third-party reader opens it by path. A FIFO planted
in place of the weights would block a reader forever; a link to ``/dev/zero`` would read without end; a
100,000-deep ``[[[...]]]`` would end in a ``RecursionError``: each is one line instead.

The size limits are generous for what snndeploy writes and can be raised with ``SNNDEPLOY_MAX_FILE_MB``
(megabytes, for every kind of file at once).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

from .errors import SnnDeployError

MAX_FILE_ENV = "SNNDEPLOY_MAX_FILE_MB"
MB = 1 << 20
# the largest file of each kind read: a tensor file holds a network's weights (ResNet-sized ones are ~100 MB),
# an ONNX graph is a protobuf (which cannot exceed 2 GB), the rest is small text
LIMITS = {"tensors": 16 << 30, "graph": 2 << 30, "engine": 16 << 30, "json": 64 * MB, "config": 1 * MB}
MAX_DEPTH = 64  # nesting of JSON/YAML documents: snndeploy writes at most 6 levels


def env_positive_int(name: str, unit: str) -> int | None:
    """The positive integer the environment variable ``name`` holds (in ``unit``), None if unset; one line else."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise SnnDeployError(f"{name} must be a positive integer ({unit}), got {raw[:40]!r}")
    return value


def limit(kind: str) -> int:
    """The size limit in bytes for files of ``kind`` (a key of LIMITS), or SNNDEPLOY_MAX_FILE_MB's if set."""
    megabytes = env_positive_int(MAX_FILE_ENV, "megabytes")
    return LIMITS[kind] if megabytes is None else megabytes * MB


def _too_big(path: Path, what: str, size: int, cap: int) -> SnnDeployError:
    return SnnDeployError(f"{what} {path} is {size / MB:,.1f} MB, over the {cap / MB:,.0f} MB limit for such files "
                          f"(set {MAX_FILE_ENV} to raise it)")


def check_regular(path: str | Path, what: str, kind: str) -> int:
    """Refuse ``path`` unless it is (or links to) a regular file within the size limit of ``kind``; its size.

    For files a library opens by path (ONNX, ONNX Runtime, Pillow): they get nothing else to read."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SnnDeployError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise SnnDeployError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise SnnDeployError(f"{what} {path} is not a regular file")
    cap = limit(kind)
    if st.st_size > cap:
        raise _too_big(path, what, st.st_size, cap)
    return st.st_size


def read_bytes(path: str | Path, what: str, kind: str) -> bytes:
    """The bytes of a regular file of at most ``limit(kind)`` bytes; one line for anything else."""
    path = Path(path)
    try:
        # O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer; the fstat below refuses it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except FileNotFoundError:
        raise SnnDeployError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise SnnDeployError(f"{what} {path} is not a regular file") from None
    except OSError as exc:
        raise SnnDeployError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)  # of what was opened, not of what the name pointed to a moment before
        if not stat.S_ISREG(st.st_mode):
            raise SnnDeployError(f"{what} {path} is not a regular file")
        cap = limit(kind)
        if st.st_size > cap:
            raise _too_big(path, what, st.st_size, cap)
        chunks, total = [], 0
        while True:  # read to the end, not to st_size: a file may grow while it is read, never past the cap
            block = os.read(fd, min(1 << 24, cap + 1 - total))
            if not block:
                break
            chunks.append(block)
            total += len(block)
            if total > cap:
                raise _too_big(path, what, total, cap)
        return b"".join(chunks)
    except OSError as exc:
        raise SnnDeployError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_text(path: str | Path, what: str, kind: str = "config") -> str:
    """A bounded regular file as UTF-8 text."""
    data = read_bytes(path, what, kind)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise SnnDeployError(f"{what} {path} is not UTF-8 text") from None


def check_depth(obj: Any, where: str, max_depth: int = MAX_DEPTH) -> Any:
    """``obj`` unchanged if its lists and mappings nest at most ``max_depth`` deep (walked without recursion)."""
    stack = [(obj, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > max_depth:
            raise SnnDeployError(f"{where} nests more than {max_depth} levels deep; it is not a snndeploy file")
        stack.extend((child, depth + 1) for child in children)
    return obj


def loads_json(text: str | bytes, where: str, max_depth: int = MAX_DEPTH) -> Any:
    """Parse JSON text: one line for invalid JSON, for nesting past ``max_depth`` and for NaN/Infinity words."""
    def no_constants(word: str) -> Any:
        raise ValueError(f"{word} is not JSON")

    try:
        obj = json.loads(text, parse_constant=no_constants)
    except RecursionError:
        raise SnnDeployError(f"{where} nests more than {max_depth} levels deep; it is not a snndeploy file") from None
    except (ValueError, UnicodeDecodeError) as exc:  # JSONDecodeError is a ValueError
        raise SnnDeployError(f"{where} is not valid JSON: {str(exc).splitlines()[0][:100]}") from None
    return check_depth(obj, where, max_depth)


def read_json(path: str | Path, what: str, kind: str = "json") -> Any:
    """A bounded regular JSON file, parsed with :func:`loads_json`."""
    return loads_json(read_bytes(path, what, kind), f"{what} {path}")
