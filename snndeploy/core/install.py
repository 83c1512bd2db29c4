"""How to install an optional part of snndeploy from where this snndeploy came from: the one source of every
install hint a message gives.

snndeploy is on no package index, so ``pip install 'snndeploy[int8]'`` fails everywhere. pip records where
it installed a package from in the distribution's PEP 610 ``direct_url.json``: a clone (editable or not), a
wheel file, a VCS or archive URL. The hint reinstalls from that same place with the extra added; a Jetson
gets TensorRT from JetPack, never from the ``[gpu]`` extra (whose PyPI ``tensorrt`` is a desktop build).

The file is metadata on disk, read like user input: bounded, parsed with one-line failures, every field's
type checked, paths and URLs free of control characters. Whatever does not fit gives the generic hint.
"""

from __future__ import annotations

import functools
import platform
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlsplit

from . import files
from .errors import SnnDeployError
from .validate import CONTROL

DISTRIBUTION = "snndeploy"
# the extras of pyproject.toml's [project.optional-dependencies]
EXTRAS = ("train", "cpu", "gpu", "tensorrt", "int8", "triton", "serve", "peers", "test")
MAX_DIRECT_URL = 64 << 10  # a direct_url.json is a few hundred bytes; anything near this is not pip's
MAX_LOCATION = 4096  # characters of a path or URL (PATH_MAX)
JETSON_RELEASE = Path("/etc/nv_tegra_release")  # written by L4T, the Linux of every JetPack
VCS = ("git", "hg", "svn", "bzr")
# JetPack's TensorRT Python bindings: the system Python's apt package; a venv sees them only when made with
# --system-site-packages. Polygraphy and cuda-bindings come from pip; cuda-bindings' major version must be the
# driver's CUDA major (a plain `pip install cuda-bindings` takes 13.x, which JetPack 6's CUDA 12.6 driver refuses).
JETSON_TENSORRT = ("TensorRT comes with JetPack (sudo apt install python3-libnvinfer; a venv sees it when made with "
                   "--system-site-packages), plus pip install polygraphy 'cuda-bindings==12.*' (13.* on JetPack 7)")


@dataclass(frozen=True)
class Origin:
    """Where the installed snndeploy came from.

    kind: "editable" (``pip install -e CLONE``), "folder" (``pip install CLONE``), "wheel" (a local wheel
    file), "url" (a VCS or remote archive: ``where`` is a pip requirement URL), "source" (not installed: run
    from a clone on PYTHONPATH), "unknown" (no or unusable record)."""

    kind: str
    where: str = ""


UNKNOWN = Origin("unknown")


def _location(value: object) -> str | None:
    """A path or URL fit to quote in a command: a string, bounded, without control characters."""
    if not isinstance(value, str) or not value or len(value) > MAX_LOCATION or CONTROL.search(value):
        return None
    return value


def _local_path(url: str) -> str | None:
    """The local path of a ``file:`` URL (PEP 610 writes absolute, percent-encoded ones), else None."""
    parts = urlsplit(url)
    if parts.scheme != "file" or parts.netloc not in ("", "localhost") or parts.query or parts.fragment:
        return None
    path = _location(unquote(parts.path))
    return path if path and path.startswith("/") else None


def parse_direct_url(text: str | bytes | None) -> Origin:
    """The origin a PEP 610 ``direct_url.json`` records; UNKNOWN for anything else (never raises)."""
    if text is None or len(text) > MAX_DIRECT_URL:
        return UNKNOWN
    try:
        record = files.loads_json(text, "direct_url.json", max_depth=8)
    except SnnDeployError:
        return UNKNOWN
    if not isinstance(record, dict) or (url := _location(record.get("url"))) is None:
        return UNKNOWN
    infos = [key for key in ("dir_info", "archive_info", "vcs_info") if key in record]
    if len(infos) != 1 or not isinstance(info := record[infos[0]], dict):
        return UNKNOWN
    path = _local_path(url)
    if infos[0] == "dir_info":
        editable = info.get("editable", False)
        if path is None or not isinstance(editable, bool):
            return UNKNOWN
        return Origin("editable" if editable else "folder", path)
    if infos[0] == "archive_info":
        if path is not None:
            return Origin("wheel", path) if path.endswith(".whl") else UNKNOWN
        return Origin("url", url) if urlsplit(url).scheme in ("https", "http") and " " not in url else UNKNOWN
    vcs, commit = info.get("vcs"), info.get("commit_id")
    if vcs not in VCS or " " in url or "://" not in url:
        return UNKNOWN
    pinned = f"@{commit}" if isinstance(commit, str) and commit.isalnum() and len(commit) <= 64 else ""
    return Origin("url", f"{vcs}+{url}{pinned}")


def _source_tree() -> Origin:
    """A clone this snndeploy runs from without being installed (PYTHONPATH), else UNKNOWN."""
    root = Path(__file__).resolve().parents[2]
    if (root / "pyproject.toml").is_file() and (root / "snndeploy" / "__init__.py").is_file():
        where = _location(str(root))
        if where is not None:
            return Origin("source", where)
    return UNKNOWN


@functools.lru_cache(maxsize=1)
def origin() -> Origin:
    """Where the installed snndeploy came from, read once from its ``.dist-info``'s ``direct_url.json``
    (bounded); with no installed record, the clone this copy runs from (or UNKNOWN)."""
    for dist in metadata.distributions(name=DISTRIBUTION):
        folder = getattr(dist, "_path", None)
        # setuptools leaves a snndeploy.egg-info in the clone's root, which sys.path finds first when Python runs
        # there (the folder a user stands in most): it records nothing, so only pip's .dist-info counts
        if not isinstance(folder, Path) or not folder.name.endswith(".dist-info"):
            continue
        try:
            data = files.read_bytes(folder / "direct_url.json", "direct_url.json", "config")
        except SnnDeployError:  # absent (installed from an index), irregular or too big
            return UNKNOWN
        return parse_direct_url(data if len(data) <= MAX_DIRECT_URL else None)
    return _source_tree()


def _near(path: str, cwd: Path | None) -> str:
    """``path`` relative to the working folder when inside it ('.' for the folder itself), else as it is."""
    try:
        here = (cwd or Path.cwd()).resolve()
        rel = Path(path).resolve().relative_to(here)
    except (OSError, ValueError, RuntimeError):  # RuntimeError: a symlink loop (Python < 3.13)
        return path
    return str(rel) if str(rel) != "." else "."


def pip_install(extra: str, *, where: Origin | None = None, cwd: Path | None = None) -> str:
    """The command that adds ``extra`` (a key of pyproject's optional dependencies) to this install."""
    if extra not in EXTRAS:
        raise ValueError(f"no extra {extra!r}")  # a bug in the caller, not the user's doing
    where = origin() if where is None else where
    if where.kind in ("editable", "source"):
        return f"pip install -e {shlex.quote(f'{_near(where.where, cwd)}[{extra}]')}"
    if where.kind in ("folder", "wheel"):
        return f"pip install {shlex.quote(f'{_near(where.where, cwd)}[{extra}]')}"
    if where.kind == "url":
        return f"pip install {shlex.quote(f'{DISTRIBUTION}[{extra}] @ {where.where}')}"
    return (f"pip install -e {shlex.quote(f'.[{extra}]')} in a clone of snndeploy, or pip install "
            f"{shlex.quote(f'snndeploy-VERSION-py3-none-any.whl[{extra}]')} with its wheel (snndeploy is on no "
            "package index)")


def on_jetson(release: Path = JETSON_RELEASE, machine: str | None = None, kernel: str | None = None) -> bool:
    """Whether this is a Jetson (JetPack's L4T): its release file, or an aarch64 machine on a tegra kernel."""
    try:
        if release.is_file():
            return True
    except OSError:
        pass
    machine = platform.machine() if machine is None else machine
    kernel = platform.release() if kernel is None else kernel
    return machine == "aarch64" and "tegra" in kernel.lower()


def tensorrt_install(*, jetson: bool | None = None, where: Origin | None = None) -> str:
    """How to get TensorRT, Polygraphy and cuda-bindings here: JetPack's own TensorRT on a Jetson, else the
    [tensorrt] extra (TensorRT 10 or 11 from PyPI). Not [gpu]: its onnxruntime-gpu must not join an installed
    [cpu] onnxruntime (two wheels of one module)."""
    if on_jetson() if jetson is None else jetson:
        return JETSON_TENSORRT
    return f"{pip_install('tensorrt', where=where)} (TensorRT, Polygraphy, cuda-bindings)"


class Hint:
    """An install hint computed when a message shows it (str() or an f-string), not at import: it reads the
    install's metadata and the working folder of that moment."""

    def __init__(self, make: Callable[[], str], label: str) -> None:
        self._make, self._label = make, label

    def __str__(self) -> str:
        return self._make()

    def __repr__(self) -> str:
        return f"<install hint {self._label}>"


def hint(extra: str, note: str = "", lead: str = "") -> Hint:
    """The install command of ``extra`` from where snndeploy came from, with a note on what it brings (after
    it) or a reason why it is needed (``lead``, before it)."""
    if extra not in EXTRAS:
        raise ValueError(f"no extra {extra!r}")
    return Hint(lambda: (f"{lead}: " if lead else "") + pip_install(extra) + (f" ({note})" if note else ""), extra)


def tensorrt_hint() -> Hint:
    """How to get TensorRT, Polygraphy and cuda-bindings here (JetPack's TensorRT on a Jetson, else [tensorrt])."""
    return Hint(tensorrt_install, "tensorrt")


def onnxruntime_gpu_install(*, jetson: bool | None = None, where: Origin | None = None) -> str:
    """How to get ONNX Runtime's CUDA and TensorRT providers: the [gpu] extra's onnxruntime-gpu, except on a
    Jetson, where that extra would bring PyPI's desktop TensorRT: there the TensorRT engine is the GPU path."""
    if on_jetson() if jetson is None else jetson:
        return ("on a Jetson not from the [gpu] extra, which would install a desktop TensorRT: build a TensorRT "
                "engine instead (snndeploy build)")
    return f"{pip_install('gpu', where=where)} for onnxruntime-gpu"


def onnxruntime_hint() -> Hint:
    """How to get ONNX Runtime: the [cpu] extra, or onnxruntime-gpu for the GPU (not on a Jetson)."""
    return Hint(lambda: f"{pip_install('cpu')}; for the GPU: {onnxruntime_gpu_install()}", "onnxruntime")
