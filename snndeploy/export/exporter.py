"""Export: checkpoint -> ONNX (one file per T), orchestrated from a frozen config of options."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import onnx
import onnx.inliner

from ..artifacts import metadata
from ..artifacts.naming import DEFAULT_OPSET, graph_name
from ..artifacts.triton import python_model_file, write_model, write_python_model
from ..core import atomic
from ..core import validate as v
from ..core.config import from_mapping
from ..core.errors import SnnDeployError, short
from ..core.facts import DEFAULT_MAX_BATCH, ArtifactFacts
from ..core.neuron_config import NeuronConfig, check_alpha, check_noise_mode, check_stage, check_T
from ..core.validate import option_name
from ..engine.check import Finding, trt_check, trt_version, validate
from ..training import checkpoint as ckpt
from ..ui.progress import Bar
from .graph import GraphSpec, build_model_proto


@dataclass(frozen=True)
class ExportConfig:
    """Options of `snndeploy export` (and of the YAML presets in snndeploy/presets/)."""

    T: tuple[int, ...] = (5,)
    stage: int = 3
    alpha: float | None = None
    beta: float | None = None
    # Frozen noise measured within 0.2 points of fresh noise on the paper CNN (benchmarks/frozen_noise.py)
    # and removes the random-number cost, so it is the default.
    noise: str = "frozen"
    inline: bool = False
    opset: int = DEFAULT_OPSET
    batch: str = "dynamic"
    fp16: bool = False
    seed: int = 0
    trt: str = "10"
    format: str = "onnx"
    # the largest batch of a dynamic-batch graph: Triton's max_batch_size, and what a --noise graph bank holds
    max_batch: int = DEFAULT_MAX_BATCH
    out: str = "exports"

    def __post_init__(self) -> None:
        if not self.T:
            raise SnnDeployError("give at least one T")
        for T in self.T:
            check_T(T, "--T")
        check_stage(self.stage, "--stage")
        check_noise_mode(self.noise)
        if self.format not in FORMATS:
            raise SnnDeployError(f"--format must be one of: {', '.join(FORMATS)}; got {short(self.format)}")
        max_opset = onnx.defs.onnx_opset_version()
        if not 17 <= self.opset <= max_opset:
            raise SnnDeployError(f"--opset must be between 17 and {max_opset}, got {self.opset}")
        v.integer(self.max_batch, option_name("max_batch"), 1, v.DIM_MAX)
        v.seed(self.seed, "--seed")
        v.optional(self.alpha, v.number, "--alpha", inf=True)
        v.optional(self.beta, v.number, "--beta")
        trt_version(self.trt)  # before any file is written
        if self.batch != "dynamic":
            digits = self.batch.lstrip("0")  # of a whole number in ASCII: int() takes other digits, and '²' not
            if not (self.batch.isascii() and self.batch.isdigit() and digits):
                raise SnnDeployError(f"--batch must be 'dynamic' or a positive integer, got {short(self.batch)}")
            if len(digits) > 10 or int(digits) > v.DIM_MAX:
                v.fail("--batch", f"<= {v.DIM_MAX}", self.batch)

    @property
    def static_batch(self) -> int | None:
        return None if self.batch == "dynamic" else int(self.batch)

    @classmethod
    def from_dict(cls, data: dict[str, Any], where: str = "") -> ExportConfig:
        """From a preset mapping; T may be a number or a list."""
        data = dict(data)
        if "T" in data:
            data["T"] = tuple(data["T"]) if isinstance(data["T"], list) else (data["T"],)
        if "batch" in data:
            data["batch"] = str(data["batch"])
        return from_mapping(cls, data, "export", where)


@dataclass
class Exported:
    """One written artifact."""

    path: Path
    T: int
    seconds: float
    findings: list[Finding]


def neuron_for(cfg: ExportConfig, base: NeuronConfig) -> NeuronConfig:
    """The checkpoint's neuron with the export's alpha / beta."""
    neuron = dataclasses.replace(base, alpha=base.alpha if cfg.alpha is None else cfg.alpha,
                                 beta=base.beta if cfg.beta is None else cfg.beta)
    check_alpha(neuron.alpha, neuron.noise_lo, neuron.noise_hi)
    return neuron


def onnx_model(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int) -> onnx.ModelProto:
    """Checkpoint -> validated ONNX model for one T, facts attached."""
    neuron = neuron_for(cfg, checkpoint.neuron)
    spec = GraphSpec(T=T, stage=cfg.stage, neuron=neuron, noise=cfg.noise, fp16=cfg.fp16,
                     batch=cfg.static_batch, opset=cfg.opset, seed=cfg.seed, max_batch=cfg.max_batch)
    model = build_model_proto(checkpoint.model, spec)
    if cfg.inline:
        model = onnx.inliner.inline_local_functions(model)
    # Per-sample shapes: every graph input's first axis is the batch.
    noise_inputs = {i.name: tuple(d.dim_value for d in i.type.tensor_type.shape.dim[1:])
                    for i in model.graph.input if i.name != "images"}
    metadata.attach(model, graph_facts(checkpoint, cfg, T, neuron, noise_inputs))
    validate(model)
    return model


def graph_facts(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int, neuron: NeuronConfig,
                noise_inputs: dict[str, tuple[int, ...]]) -> ArtifactFacts:
    """The checkpoint's facts as one exported graph has them."""
    return dataclasses.replace(checkpoint.facts, neuron=neuron, T=T, stage=cfg.stage, noise=cfg.noise,
                               noise_inputs=noise_inputs, precision="fp16" if cfg.fp16 else "fp32",
                               batch=cfg.static_batch or "dynamic", opset=cfg.opset, inline=cfg.inline,
                               seed=cfg.seed if cfg.noise in ("frozen", "graph") else None,
                               max_batch=cfg.max_batch if cfg.noise == "graph" and cfg.static_batch is None else None)


def export_onnx(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int) -> Exported:
    """Write one ONNX file atomically and run the TensorRT static check on it."""
    t0 = time.perf_counter()
    model = onnx_model(checkpoint, cfg, T)
    path = Path(cfg.out) / f"{graph_name(metadata.read(model))}.onnx"
    atomic.write_bytes(path, model.SerializeToString())
    return Exported(path, T, time.perf_counter() - t0, trt_check(model, cfg.trt))


def export_triton(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int) -> Exported:
    """Write a Triton model (ONNX Runtime platform) into the repository ``cfg.out``."""
    t0 = time.perf_counter()
    model = onnx_model(checkpoint, cfg, T)
    folder = write_model(cfg.out, metadata.read(model), "onnxruntime_onnx", {"model.onnx": model.SerializeToString()},
                         max_batch=cfg.max_batch)
    return Exported(folder / "1" / "model.onnx", T, time.perf_counter() - t0, trt_check(model, cfg.trt))


def export_triton_python(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int) -> Exported:
    """Write a Triton model served by Triton's Python backend through snndeploy's ONNX Runtime runner
    (``<graph name>_py``: runs on a server without the ONNX Runtime backend, e.g. the one `snndeploy serve`
    starts; the server's Python needs snndeploy and onnxruntime)."""
    t0 = time.perf_counter()
    model = onnx_model(checkpoint, cfg, T)
    facts = metadata.read(model)
    files = {"model.py": python_model_file(), "model.onnx": model.SerializeToString()}
    params = {"artifact": "model.onnx", "device": "cpu", "seed": str(cfg.seed)}
    folder = write_python_model(cfg.out, graph_name(facts) + "_py", facts, dict(facts.noise_inputs), files,
                                max_batch=cfg.max_batch, parameters=params)
    return Exported(folder / "1" / "model.onnx", T, time.perf_counter() - t0, trt_check(model, cfg.trt))


FORMATS: dict[str, Callable[[ckpt.Checkpoint, ExportConfig, int], Exported]] = {
    "onnx": export_onnx,
    "triton": export_triton,
    "triton-python": export_triton_python,
}


def export(checkpoint_path: str | Path, cfg: ExportConfig, bar: Bar | None = None) -> list[Exported]:
    """Export a checkpoint for every T in the config (a task per file on ``bar``)."""
    checkpoint = ckpt.load(checkpoint_path)
    bar = bar or Bar(enabled=False)
    return [bar.step(f"export T={T} ({cfg.format}, noise {cfg.noise})",
                     lambda T=T: FORMATS[cfg.format](checkpoint, cfg, T), lambda e: f"{e.seconds:.1f} s")
            for T in cfg.T]
