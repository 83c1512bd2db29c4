"""The one table of artifact kinds (after Ultralytics' ``export_formats()``, which drives export, validation and
benchmark from one table): each row says which files are of the kind, which runner opens them, what the backend
runs (precisions, devices), what to install for it, the libraries ``snndeploy --version`` reports, and how the
kind is made from another kind (a chain of producers, snndeploy.runners.produce).

What is per backend (opening a runner with the options it takes, why it cannot run here, the file that sizes
and identifies an artifact) lives on the runner class (snndeploy.runners.base.Runner's classmethods); the table
names runner, producers and evaluator by "module:Class" paths, imported on first use, so that the rows of
graphs and engines never load PyTorch.

Adding a backend is one runner file plus one row: ``register(ArtifactKind(...))`` (a plugin or a test may add
rows at run time; ``unregister(name)`` removes one). A backend for files of a kind that exists (a second ONNX
runtime) is a row without suffixes, made from that kind by ``snndeploy.runners.produce:SameFile``: bench runs it
with ``--backend NAME``; eval, infer and the rest open a file with the first row that matches it.

Every dispatcher (open_runner, bench, eval, infer, export, the --version line, the bench environment, the install
hints of one-line errors) reads the table through ``kinds()``."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.errors import SnnDeployError
from ..core.install import Hint, hint, onnxruntime_hint, tensorrt_hint
from .base import Runner
from .onnxruntime import PROVIDERS

GRAPH_EVALUATOR = "snndeploy.evaluation.evaluate:evaluate_graph"


def load(path: str | Any) -> Any:
    """The object a "module:name" path names (anything else is returned as it is)."""
    if not isinstance(path, str):
        return path
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


@dataclass(frozen=True)
class Recipe:
    """How a kind is made from another kind: the source kind's name and the producer class ("module:Class" of a
    snndeploy.runners.produce.Producer whose ``planned(source, request)`` makes the chain step)."""

    source: str
    producer: str | type


@dataclass(frozen=True)
class ArtifactKind:
    """One kind of artifact and the backend that runs it."""

    name: str  # checkpoint, onnx, engine
    what: str  # for messages: "a checkpoint (run folder, .json or .safetensors)"
    noun: str  # short, for messages: "checkpoint", "graph", "engine"
    suffixes: tuple[str, ...]
    backend: str  # the names `snndeploy bench --backend` takes
    runner_path: str | type[Runner]  # "module:Class", imported on first use (or the class itself)
    precisions: tuple[str, ...]
    devices: tuple[str, ...]  # the --device values it runs on
    install: str | Hint  # the command that installs its backend (snndeploy.core.install: from where it came)
    # (module, distribution names) of the libraries `snndeploy --version` and the bench environment report
    libraries: tuple[tuple[str, tuple[str, ...]], ...] = ()
    folders: bool = False  # a folder can be an artifact of this kind (a run folder): named by the folder
    # the trained network itself: T, stage and alpha are chosen when it runs, its spikes can be counted, and
    # other kinds are made from it; any other kind is fixed when made (its own T, precision and noise)
    network: bool = False
    made_from: tuple[Recipe, ...] = ()
    evaluator: str = GRAPH_EVALUATOR  # "module:function" giving the accuracy rows of `snndeploy eval`
    # "module:Class" of the producer of a Triton model from this kind (`export`): (source, repository, max batch,
    # overwrite=)
    to_triton: str | None = None

    def __post_init__(self) -> None:
        if not (self.suffixes or self.folders or self.made_from):
            # a kind without files of its own is a backend for another kind's files (made_from SameFile)
            raise SnnDeployError(f"artifact kind '{self.name}' matches no file and is made from none: give "
                                 "suffixes, folders=True or made_from")

    @property
    def runner(self) -> type[Runner]:
        """The runner class of this kind (imported here: raises ModuleNotFoundError without its backend)."""
        return load(self.runner_path)

    @property
    def gpu_only(self) -> bool:
        return "cpu" not in self.devices

    def matches(self, path: Path) -> bool:
        return path.suffix in self.suffixes or (self.folders and path.is_dir())

    def label(self, device: str) -> str:
        """The backend as rows name it before a runner exists: with the device where it runs on several."""
        return self.backend if len(self.devices) == 1 else f"{self.backend}-{device}"

    def device_for(self, device: str) -> str:
        """The device this kind runs on when ``device`` is asked: its only one, else the one asked."""
        return self.devices[0] if len(self.devices) == 1 else device

    def open(self, path: str | Path, **options: Any) -> Runner:
        """A runner of ``path`` with the options its runner takes (Runner.options; the others are ignored)."""
        self.require(path)
        return self.runner.open(Path(path), **options)

    def missing(self) -> str | None:
        """Why this kind's runner cannot be loaded here, its module importing a backend that is not installed (one
        line with the install line: a bench row's status), or None."""
        try:
            load(self.runner_path)
        except ModuleNotFoundError as exc:  # the runner's module imports its backend (PyTorch)
            return not_installed(exc, self.install)
        return None

    def require(self, path: str | Path) -> None:
        """Refuse, in one line, an artifact of this kind where its runner cannot be loaded; a network says how to
        run it without its backend (a kind made from it, exported where the backend is installed)."""
        if (why := self.missing()) is None:
            return
        name = Path(path).name
        text = f"{name if len(name) <= 100 else name[:100] + '...'} is a {self.noun}: {why}"
        made = [k for k in _TABLE if k.recipe_from(self) is not None and k.suffixes]
        if self.network and made:
            text += f"; export it to {made[0].suffixes[0]} where it runs (snndeploy export) and run that here"
        raise SnnDeployError(text)

    def unavailable(self, device: str) -> str | None:
        """Why this backend cannot run on ``device`` here (one line), or None when it can be tried."""
        if device not in self.devices:
            return f"{self.backend} runs on {', '.join(self.devices)}, not {device}"
        return self.missing() or self.runner.unavailable(device)

    def precision_problem(self, precision: str) -> str | None:
        """Why this backend cannot run ``precision`` (one line naming the backends that can), or None."""
        if precision in self.precisions:
            return None
        others = [k.backend for k in kinds() if precision in k.precisions]
        where = f"; {precision} runs on --backend {' or '.join(others)}" if others else ""
        return f"{self.backend} runs {', '.join(self.precisions)} only{where}"

    def size_file(self, path: Path) -> Path:
        """The file whose size is the artifact's (a checkpoint's weights)."""
        return self.runner.size_file(path)

    def identity_file(self, path: Path) -> Path:
        """The file whose sha256 identifies the artifact; the path itself where the backend is not installed."""
        try:
            runner = self.runner
        except ModuleNotFoundError:
            return path
        return runner.identity_file(path)

    def recipe_from(self, source: ArtifactKind) -> Recipe | None:
        """How this kind is made from ``source`` in one step, or None."""
        return next((r for r in self.made_from if r.source == source.name), None)


_BUILTIN: tuple[ArtifactKind, ...] = (
    ArtifactKind("checkpoint", "a checkpoint (run folder, .json or .safetensors)", "checkpoint",
                 (".json", ".safetensors"), "pytorch", "snndeploy.runners.torch_runner:TorchRunner", ("fp32",),
                 ("cpu", "cuda"), hint("train", "PyTorch"), (("torch", ("torch",)),), folders=True,
                 network=True, evaluator="snndeploy.evaluation.checkpoint_eval:evaluate_checkpoint"),
    ArtifactKind("onnx", "an ONNX graph (.onnx)", "graph", (".onnx",), "onnxruntime",
                 "snndeploy.runners.onnxruntime:OnnxRuntimeRunner", ("fp32", "fp16", "int8"),
                 tuple(PROVIDERS), onnxruntime_hint(),
                 (("onnxruntime", ("onnxruntime", "onnxruntime-gpu")),),
                 # at int8 the export is inlined and then quantized (GraphFromCheckpoint.planned chains Int8Graph)
                 made_from=(Recipe("checkpoint", "snndeploy.runners.produce_graph:GraphFromCheckpoint"),)),
    ArtifactKind("engine", "a TensorRT engine (.plan or .engine)", "engine", (".plan", ".engine"), "tensorrt",
                 "snndeploy.runners.tensorrt:TensorRTRunner", ("fp32", "fp16", "int8"), ("cuda",),
                 tensorrt_hint(),
                 (("tensorrt", ("tensorrt", "tensorrt-cu12", "tensorrt-cu13", "tensorrt-cu11")),),
                 made_from=(Recipe("onnx", "snndeploy.runners.produce:EngineFromGraph"),),
                 to_triton="snndeploy.runners.produce:TritonFromEngine"),
)
_TABLE: list[ArtifactKind] = list(_BUILTIN)


def kinds() -> tuple[ArtifactKind, ...]:
    """Every registered kind, the built-in ones first, in the order files are matched against them."""
    return tuple(_TABLE)


def backends() -> tuple[str, ...]:
    """The backend names `snndeploy bench --backend` takes."""
    return tuple(k.backend for k in _TABLE)


def register(kind: ArtifactKind) -> ArtifactKind:
    """Add a row to the table (a new backend: its runner file plus this row); its name and backend must be new,
    and so must its suffixes. Returns the kind; ``unregister(kind.name)`` removes it again."""
    for k in _TABLE:
        if k.name == kind.name or k.backend == kind.backend:
            raise SnnDeployError(f"artifact kind '{kind.name}' (backend {kind.backend}) clashes with '{k.name}'")
        if clash := set(k.suffixes) & set(kind.suffixes):
            raise SnnDeployError(f"artifact kind '{kind.name}': suffix {sorted(clash)[0]} is already '{k.name}''s")
    _TABLE.append(kind)
    return kind


def unregister(name: str) -> None:
    """Remove a kind added by ``register`` (the built-in rows stay)."""
    if any(k.name == name for k in _BUILTIN):
        raise SnnDeployError(f"artifact kind '{name}' is built in")
    _TABLE[:] = [k for k in _TABLE if k.name != name]


def find_kind(path: str | Path) -> ArtifactKind | None:
    """The kind of an artifact path, or None when no row matches it."""
    p = Path(path)
    return next((k for k in _TABLE if k.matches(p)), None)


def kind_of(path: str | Path) -> ArtifactKind:
    """The kind of an artifact path; a one-line error for a missing file or an unknown suffix."""
    p = Path(path)
    if (kind := find_kind(p)) is not None:
        return kind
    if not p.exists():
        raise SnnDeployError(f"artifact not found: {p}")
    names = "; ".join(k.what for k in _TABLE)
    raise SnnDeployError(f"unknown artifact type: {p} (expected {names})")


def kind_named(name: str) -> ArtifactKind:
    """The kind of this name."""
    for kind in _TABLE:
        if kind.name == name:
            return kind
    raise SnnDeployError(f"unknown artifact kind '{name}'; choose from {', '.join(k.name for k in _TABLE)}")


def kind_for_backend(backend: str) -> ArtifactKind:
    """The kind a backend name runs."""
    for kind in _TABLE:
        if kind.backend == backend:
            return kind
    raise SnnDeployError(f"unknown backend '{backend}'; choose from {', '.join(backends())}")


def route(source: ArtifactKind, target: ArtifactKind) -> list[Recipe] | None:
    """The recipes that make ``target`` from ``source`` (shortest chain; [] when they are the same kind), or None
    when the table has no way."""
    paths: dict[str, list[Recipe]] = {source.name: []}
    frontier = [source]
    while frontier:
        nxt = []
        for kind in frontier:
            for k in _TABLE:
                recipe = k.recipe_from(kind)
                if recipe is not None and k.name not in paths:
                    paths[k.name] = [*paths[kind.name], recipe]
                    nxt.append(k)
        frontier = nxt
    return paths.get(target.name)


def not_installed(exc: ModuleNotFoundError, install: object = None) -> str:
    """One line for a library that is not installed: its name and how to install it (``install``, else the table's
    install line for it). A module of snndeploy itself missing is a bug: re-raised."""
    module = (exc.name or "").split(".")[0]
    if not module or module == "snndeploy":
        raise exc
    hint = install or getattr(exc, "install", None) or install_hints().get(module)  # NotInstalled carries its own
    return f"{module} is not installed" + (f" ({hint})" if hint else "")


def install_hints() -> dict[str, str]:
    """Module name -> how to install it, for every backend library of the table."""
    return {module: str(kind.install) for kind in _TABLE for module, _ in kind.libraries}


def libraries() -> dict[str, tuple[str, ...]]:
    """Module name -> distribution names of every backend library of the table, in table order."""
    out: dict[str, tuple[str, ...]] = {}
    for kind in _TABLE:
        for module, dists in kind.libraries:
            out.setdefault(module, dists)
    return out
