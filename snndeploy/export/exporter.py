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
from ..core import atomic, budget
from ..core import validate as v
from ..core.config import from_mapping
from ..core.errors import SnnDeployError, short
from ..core.facts import DEFAULT_MAX_BATCH, ArtifactFacts
from ..core.neuron_config import NeuronConfig, check_alpha, check_noise_mode, check_stage, check_T
from ..core.outputs import refuse_existing
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
    # replace an existing file (or Triton model folder) of the same name that snndeploy wrote; off: refuse it
    overwrite: bool = False

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
    def from_dict(cls, data: dict[str, Any], where: str = "", over: dict[str, Any] | None = None) -> ExportConfig:
        """From a preset mapping (T may be a number or a list) read from ``where``, with the flags ``over`` over it
        (an error names the file and key, or the flag, that gave the value: core.config.from_mapping)."""
        data = dict(data)
        if "T" in data:
            data["T"] = tuple(data["T"]) if isinstance(data["T"], list) else (data["T"],)
        if "batch" in data:
            data["batch"] = str(data["batch"])
        return from_mapping(cls, data, "export", where, over)


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


def unchecked_model(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int) -> onnx.ModelProto:
    """Checkpoint -> ONNX model for one T, inlined where asked; no facts, not validated."""
    spec = GraphSpec(T=T, stage=cfg.stage, neuron=neuron_for(cfg, checkpoint.neuron), noise=cfg.noise, fp16=cfg.fp16,
                     batch=cfg.static_batch, opset=cfg.opset, seed=cfg.seed, max_batch=cfg.max_batch)
    model = build_model_proto(checkpoint.model, spec)
    return onnx.inliner.inline_local_functions(model) if cfg.inline else model


def onnx_model(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int) -> onnx.ModelProto:
    """Checkpoint -> validated ONNX model for one T, facts attached."""
    neuron = neuron_for(cfg, checkpoint.neuron)
    model = unchecked_model(checkpoint, cfg, T)
    # Per-sample shapes: every graph input's first axis is the batch.
    noise_inputs = {i.name: tuple(d.dim_value for d in i.type.tensor_type.shape.dim[1:])
                    for i in model.graph.input if i.name != "images"}
    # the TensorRT version it was checked for: `snndeploy check` checks the same one unless told otherwise
    metadata.attach(model, graph_facts(checkpoint, cfg, T, neuron, noise_inputs), {"trt": cfg.trt.strip()})
    validate(model)
    return model


# The memory an export takes per byte and per node of its graph (building it, the checker's full check and strict
# shape inference, serializing it, TensorRT's support check). Measured on one CPU as the peak RSS growth of
# export_onnx for small-cnn: frozen noise at T = 1,000 (153 MB, 29k nodes) 1.42 GB; graph noise at T = 3,000
# (36 MB, of which 32 MB is the fixed bank; 96k nodes) 1.16 GB, 12.1 kB per node, which leaves about 7 bytes per
# byte of the frozen graph. With the margin below the estimates are 1.66 GB and 1.64 GB.
EXPORT_BYTES_PER_BYTE = 8
EXPORT_BYTES_PER_NODE = 14_000


@dataclass(frozen=True)
class GraphCost:
    """How an exported graph grows with T: its serialized bytes and its nodes."""

    size: budget.Linear
    nodes: budget.Linear

    @property
    def memory(self) -> budget.Linear:
        """The memory its export takes (EXPORT_BYTES_PER_BYTE, EXPORT_BYTES_PER_NODE)."""
        a, n = EXPORT_BYTES_PER_BYTE, EXPORT_BYTES_PER_NODE
        return budget.Linear(a * self.size.fixed + n * self.nodes.fixed,
                             a * self.size.per_step + n * self.nodes.per_step)


def graph_cost(checkpoint: ckpt.Checkpoint, cfg: ExportConfig) -> GraphCost:
    """The graph's growth with T, from the graphs at T = 2 and 3 (milliseconds to build): from T = 2 on, every
    step adds the same nodes and initializers (a step's split part, neuron ops and frozen draws)."""
    two, three = (unchecked_model(checkpoint, cfg, T) for T in (2, 3))
    size, nodes = three.ByteSize() - two.ByteSize(), len(three.graph.node) - len(two.graph.node)
    return GraphCost(budget.Linear(two.ByteSize() - 2 * size, size),
                     budget.Linear(len(two.graph.node) - 2 * nodes, nodes))


def check_fits(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, available: int | None = None) -> None:
    """Refuse, in one line and before anything is built or written, a T of ``cfg`` whose graph would exceed
    protobuf's 2 GB (an ONNX file is one message) or whose export would not fit in the memory ``available``
    (default: measured now)."""
    cost, name = graph_cost(checkpoint, cfg), checkpoint.facts.model
    for T in cfg.T:
        budget.refuse_T(T, cost.size, budget.PROTOBUF_LIMIT, f"as an ONNX graph of {name}",
                        f"an ONNX file holds at most {budget.gb(budget.PROTOBUF_LIMIT)}")
        budget.check_memory(T, cost.memory, f"to export {name}", available)


def check_export(checkpoint_path: str | Path, cfg: ExportConfig) -> None:
    """``check_fits`` for the checkpoint at a path (`snndeploy export` checks every T before the first file)."""
    check_fits(ckpt.load(checkpoint_path), cfg)


def graph_facts(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int, neuron: NeuronConfig,
                noise_inputs: dict[str, tuple[int, ...]]) -> ArtifactFacts:
    """The checkpoint's facts as one exported graph has them."""
    return dataclasses.replace(checkpoint.facts, neuron=neuron, T=T, stage=cfg.stage, noise=cfg.noise,
                               noise_inputs=noise_inputs, precision="fp16" if cfg.fp16 else "fp32",
                               batch=cfg.static_batch or "dynamic", opset=cfg.opset, inline=cfg.inline,
                               seed=cfg.seed if cfg.noise in ("frozen", "graph") else None,
                               max_batch=cfg.max_batch if cfg.noise == "graph" and cfg.static_batch is None else None)


def _our_model_folder(path: Path) -> bool:
    """Whether ``path`` is a Triton model folder (its config.pbtxt a regular file): snndeploy replaces only
    the files it writes there and keeps the others (snndeploy.artifacts.triton)."""
    config = path / "config.pbtxt"
    return path.is_dir() and config.is_file() and not config.is_symlink()


def export_onnx(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int) -> Exported:
    """Write one ONNX file atomically and run the TensorRT static check on it."""
    t0 = time.perf_counter()
    model = onnx_model(checkpoint, cfg, T)
    path = Path(cfg.out) / f"{graph_name(metadata.read(model))}.onnx"
    refuse_existing(path, cfg.overwrite, metadata.is_ours)
    atomic.write_bytes(path, model.SerializeToString())
    return Exported(path, T, time.perf_counter() - t0, trt_check(model, cfg.trt))


def export_triton(checkpoint: ckpt.Checkpoint, cfg: ExportConfig, T: int) -> Exported:
    """Write a Triton model (ONNX Runtime platform) into the repository ``cfg.out``."""
    t0 = time.perf_counter()
    model = onnx_model(checkpoint, cfg, T)
    refuse_existing(Path(cfg.out) / graph_name(metadata.read(model)), cfg.overwrite, _our_model_folder)
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
    refuse_existing(Path(cfg.out) / (graph_name(facts) + "_py"), cfg.overwrite, _our_model_folder)
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
    check_fits(checkpoint, cfg)
    bar = bar or Bar(enabled=False)
    return [bar.step(f"export T={T} ({cfg.format}, noise {cfg.noise})",
                     lambda T=T: FORMATS[cfg.format](checkpoint, cfg, T), lambda e: f"{e.seconds:.1f} s")
            for T in cfg.T]
