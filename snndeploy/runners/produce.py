"""Producers: small composable makers of artifacts, after Polygraphy's lazy loaders (NVIDIA/TensorRT
tools/Polygraphy/polygraphy/backend/trt/loader.py, where ``EngineBytesFromNetwork(NetworkFromOnnxPath(path))``
is a chain that runs when called).

A producer's source is a path or another producer; calling the producer makes its source first, then its own
file, once (a second call returns the same path), each step a task on the progress bar it is given. The CLI's
`export`, `quantize` and `build` and `snndeploy bench` run the same producers: bench composes them from the
kinds table's recipes (``planned(source, request)``), the CLI from its options, e.g.
``EngineFromGraph(Int8Graph(GraphFromCheckpoint(run, cfg)))``.

This module holds the producers that need no PyTorch (engines, Triton models of engines); making graphs from
checkpoints is in snndeploy.runners.produce_graph.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..artifacts import metadata
from ..artifacts.triton_engine import write_engine
from ..engine import build
from ..engine.build import BuildConfig
from ..ui.progress import Bar


@dataclass(frozen=True)
class Request:
    """What a chain of producers is asked for by bench: one T and precision, the batch sizes to be run, and the
    folder its files go to."""

    T: int
    precision: str
    batches: tuple[int, ...]
    work: Path


def made(source: Path | str | Producer, bar: Bar | None = None) -> Path:
    """The path of a source: a path as it is, a producer's file once made."""
    return source(bar) if isinstance(source, Producer) else Path(source)


class Producer(ABC):
    """A file made from a source when first called; ``result`` keeps what the maker returned (for reports)."""

    def __init__(self, source: Path | str | Producer) -> None:
        self.source = source
        self.path: Path | None = None
        self.result: Any = None

    def __call__(self, bar: Bar | None = None) -> Path:
        """Make the source, then this file (once); the path of the file."""
        if self.path is None:
            bar = bar or Bar(enabled=False)
            self.path = self.make(made(self.source, bar), bar)
        return self.path

    @abstractmethod
    def make(self, source: Path, bar: Bar) -> Path:
        """Make this producer's file from the source's, as a task on ``bar``; its path."""

    @classmethod
    def planned(cls, source: Path | Producer, request: Request) -> Producer:
        """The producer (or chain) bench uses to make this kind from ``source`` for ``request``."""
        raise NotImplementedError(f"{cls.__name__} has no bench recipe")


class SameFile(Producer):
    """The source file as it is: the recipe of a backend that runs another kind's files (a second runtime for
    ONNX graphs is a kind without suffixes, made from ``onnx`` by SameFile)."""

    def make(self, source: Path, bar: Bar) -> Path:
        return source

    @classmethod
    def planned(cls, source: Path | Producer, request: Request) -> Producer:
        return cls(source)


class EngineFromGraph(Producer):
    """A TensorRT engine and its sidecar built from an ONNX graph (snndeploy.engine.build); ``result`` is
    ``(engine path, sidecar info)``. Without a config: the graph's precision, a profile over ``batches`` (a
    fixed-batch graph keeps its batch), written into ``folder`` (never over an engine kept beside the graph)."""

    def __init__(self, source: Path | str | Producer, cfg: BuildConfig | None = None, *,
                 batches: tuple[int, ...] | None = None, folder: Path | None = None) -> None:
        super().__init__(source)
        self.cfg, self.batches, self.folder = cfg, batches, folder

    def config(self, graph: Path) -> BuildConfig:
        if self.cfg is not None:
            return self.cfg
        facts = metadata.load(graph)[1]
        batches = self.batches or (1, 64)
        batch = None if facts.batch != "dynamic" else (min(batches), max(batches), max(batches))
        out = (self.folder or graph.parent) / f"{graph.stem}.plan"
        # bench's own work folder (the CLI refuses a used one without --overwrite): its engines are replaced
        return BuildConfig(precision=facts.precision, batch=batch, out=str(out), overwrite=self.folder is not None)

    def make(self, source: Path, bar: Bar) -> Path:
        cfg = self.config(source)
        self.result = bar.step(f"build a TensorRT engine from {source.name}", lambda: build.build_engine(source, cfg),
                               lambda r: r[0].name)
        return self.result[0]

    @classmethod
    def planned(cls, source: Path | Producer, request: Request) -> Producer:
        return cls(source, batches=request.batches, folder=request.work / "engines")


class TritonFromEngine(Producer):
    """A Triton model (TensorRT platform) of an engine and its sidecar, in the repository ``out``; its path is
    the model's folder. ``overwrite``: replace this GPU's plan of the same graph (write_engine)."""

    def __init__(self, source: Path | str | Producer, out: str | Path, max_batch: int | None = None, *,
                 overwrite: bool = False) -> None:
        super().__init__(source)
        self.out, self.max_batch, self.overwrite = out, max_batch, overwrite

    def make(self, source: Path, bar: Bar) -> Path:
        return bar.step(f"add {source.name} to the Triton repository {self.out}",
                        lambda: write_engine(self.out, source, self.max_batch, overwrite=self.overwrite),
                        lambda p: p.name)
