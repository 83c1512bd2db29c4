"""Producers of ONNX graphs: exported from a checkpoint (PyTorch) and quantized to INT8 (NVIDIA ModelOpt).
Reached through the kinds table's recipes by "module:Class" path, so that the runtime (graphs, engines) never
imports this module; see snndeploy.runners.produce for the producer chain."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from ..export import exporter, quantize
from ..export.exporter import ExportConfig
from ..ui.progress import Bar
from .produce import Producer, Request

# noise mode of the graphs bench exports for checkpoints (ExportConfig's default)
EXPORT_NOISE = "frozen"


class GraphFromCheckpoint(Producer):
    """One ONNX file (or Triton model, ``cfg.format``) of a checkpoint at the one T of ``cfg``; ``result`` is the
    exporter's Exported (seconds, TensorRT findings)."""

    def __init__(self, source: Path | str | Producer, cfg: ExportConfig) -> None:
        super().__init__(source)
        if len(cfg.T) != 1:
            raise ValueError(f"a graph producer makes one T, got {list(cfg.T)}")  # callers split T themselves
        self.cfg = cfg

    @classmethod
    def each_T(cls, source: Path | str | Producer, cfg: ExportConfig) -> list[GraphFromCheckpoint]:
        """One producer per T of ``cfg`` (`snndeploy export --T 1,5,10`)."""
        return [cls(source, dataclasses.replace(cfg, T=(T,))) for T in cfg.T]

    def make(self, source: Path, bar: Bar) -> Path:
        cfg = self.cfg
        folder = source.resolve() if source.is_dir() else source.resolve().parent
        precision = "fp16" if cfg.fp16 else "fp32"
        what = f"export {folder.name} T={cfg.T[0]} ({cfg.format}, {precision}, noise {cfg.noise})"
        (self.result,) = bar.step(what, lambda: exporter.export(source, cfg),
                                  lambda r: f"{r[0].path.name}, {r[0].seconds:.1f} s")
        return self.result.path

    @classmethod
    def planned(cls, source: Path | Producer, request: Request) -> Producer:
        """The graph bench runs at the request's T and precision (int8: an inlined fp32 export, quantized; without
        ModelOpt: NotInstalled, a ModuleNotFoundError, so the plan is a status row). Bench owns its work folder
        (the CLI refuses a used one without --overwrite), so its exports replace the graphs snndeploy wrote
        there, and never a foreign file."""
        p = request.precision
        if p == "int8":
            quantize.require_modelopt()  # NotInstalled: the plan's status row, nothing exported
        graph = cls(source, ExportConfig(T=(request.T,), fp16=p == "fp16", inline=p == "int8", noise=EXPORT_NOISE,
                                         out=str(request.work / p), overwrite=True))
        return Int8Graph(graph, overwrite=True) if p == "int8" else graph


class Int8Graph(Producer):
    """An INT8 Q/DQ graph of an fp32 graph (snndeploy.export.quantize); ``result`` is its Quantized record.
    Without ``out``: beside the fp32 graph, under the graph's int8 name."""

    def __init__(self, source: Path | str | Producer, calib: int = 256, out: str | Path | None = None, *,
                 method: str = "entropy", data_dir: str | None = None, overwrite: bool = False) -> None:
        super().__init__(source)
        self.calib, self.out, self.method, self.data_dir = calib, out, method, data_dir
        self.overwrite = overwrite

    def make(self, source: Path, bar: Bar) -> Path:
        self.result = bar.step(f"quantize {source.name} ({self.method} calibration on {self.calib} images)",
                               lambda: quantize.quantize_onnx(source, self.calib, self.out, method=self.method,
                                                              data_dir=self.data_dir, overwrite=self.overwrite),
                               lambda q: f"{q.path.name}, {q.qdq_nodes} Q/DQ nodes")
        return self.result.path
