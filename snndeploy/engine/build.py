"""ONNX -> TensorRT engine with Polygraphy's loaders (TensorRT 10 and 11: strongly typed networks,
precision taken from the graph), plus the sidecar JSON."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import atomic
from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts
from ..core.hashing import sha256
from ..export import metadata
from . import sidecar

PRECISIONS = ("fp32", "fp16", "int8")


@dataclass(frozen=True)
class BuildConfig:
    """Options of `snndeploy build`."""

    precision: str = "fp32"
    batch: tuple[int, int, int] | None = None  # min, opt, max; None: 1, 1, 64 (or the graph's fixed batch)
    workspace_gb: float = 2.0
    timing_cache: str | None = None
    out: str | None = None

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise SnnDeployError(f"precision must be one of {', '.join(PRECISIONS)}, got '{self.precision}'")
        if self.batch is not None:
            lo, opt, hi = self.batch
            if not 1 <= lo <= opt <= hi:
                raise SnnDeployError(f"--batch must be MIN,OPT,MAX with 1 <= MIN <= OPT <= MAX, got {self.batch}")
        if not self.workspace_gb > 0:
            raise SnnDeployError(f"--workspace must be > 0 GB, got {self.workspace_gb}")


def parse_batch(text: str | None) -> tuple[int, int, int] | None:
    """'1,8,64' -> (1, 8, 64)."""
    if text is None:
        return None
    try:
        lo, opt, hi = (int(p) for p in text.split(","))
    except ValueError:
        raise SnnDeployError(f"--batch must be MIN,OPT,MAX, got '{text}'") from None
    return lo, opt, hi


def plan_shapes(facts: ArtifactFacts, cfg: BuildConfig) -> dict[str, dict[str, list[int]]]:
    """Optimization-profile shapes of every input, from the graph's facts."""
    fixed = None if facts.batch == "dynamic" else int(facts.batch)
    if fixed is not None and cfg.batch is not None and cfg.batch != (fixed, fixed, fixed):
        raise SnnDeployError(f"the graph has a fixed batch of {fixed}; export with --batch dynamic for a range")
    lo, opt, hi = (fixed,) * 3 if fixed is not None else (cfg.batch or (1, 1, 64))
    per_sample = {"images": list(facts.data.input_shape)}
    per_sample.update({k: list(v) for k, v in facts.noise_inputs.items()})
    return {k: {"min": [lo, *s], "opt": [opt, *s], "max": [hi, *s]} for k, s in per_sample.items()}


def check_precision(facts: ArtifactFacts, precision: str, path: Path) -> None:
    """Strongly typed networks take their precision from the graph, so the two must agree."""
    have = facts.precision
    if have != precision:
        hint = {"fp16": "export with --fp16", "int8": "run `snndeploy quantize` on an --inline export",
                "fp32": "export without --fp16"}[precision]
        raise SnnDeployError(f"{path.name} is an {have} graph; for a {precision} engine {hint}")


def _tensorrt() -> Any:
    try:
        import tensorrt as trt
    except ImportError:
        raise SnnDeployError("TensorRT is not installed: pip install 'snndeploy[gpu]' (TensorRT 10 or 11 "
                             "and Polygraphy) on a machine with an NVIDIA GPU") from None
    return trt


def gpu_info() -> tuple[str, str]:
    """Name and compute capability of GPU 0, or a clear error without one."""
    import torch

    if not torch.cuda.is_available():
        raise SnnDeployError("no NVIDIA GPU visible (torch.cuda.is_available() is False); TensorRT engines are "
                             "built on the GPU they will run on")
    major, minor = torch.cuda.get_device_capability(0)
    return torch.cuda.get_device_name(0), f"{major}.{minor}"


def build_engine(onnx_path: str | Path, cfg: BuildConfig) -> tuple[Path, dict[str, Any]]:
    """Build, then write the plan and its sidecar atomically; returns the plan's path and the sidecar's
    engine-only keys."""
    onnx_path = Path(onnx_path)
    _, facts = metadata.load(onnx_path)
    check_precision(facts, cfg.precision, onnx_path)
    shapes = plan_shapes(facts, cfg)
    trt = _tensorrt()
    gpu, cc = gpu_info()
    from polygraphy.backend.trt import CreateConfig, EngineBytesFromNetwork, NetworkFromOnnxPath, Profile

    profile = Profile()
    for name, s in shapes.items():
        profile.add(name, min=s["min"], opt=s["opt"], max=s["max"])
    config = CreateConfig(profiles=[profile], load_timing_cache=cfg.timing_cache,
                          memory_pool_limits={trt.MemoryPoolType.WORKSPACE: int(cfg.workspace_gb * 2**30)})
    network = NetworkFromOnnxPath(str(onnx_path), strongly_typed=True)
    t0 = time.perf_counter()
    try:
        plan = EngineBytesFromNetwork(network, config, save_timing_cache=cfg.timing_cache)()
    except Exception as exc:  # Polygraphy raises PolygraphyException with TensorRT's log
        raise SnnDeployError(f"TensorRT could not build {onnx_path.name}: {str(exc).splitlines()[0]}") from None
    seconds = time.perf_counter() - t0
    engine = Path(cfg.out) if cfg.out else onnx_path.with_suffix(".plan")
    atomic.write_bytes(engine, bytes(plan))
    info = {"tensorrt": trt.__version__, "gpu": gpu, "compute_capability": cc, "shapes": shapes,
            "max_batch": shapes["images"]["max"][0], "onnx": onnx_path.name, "onnx_sha256": sha256(onnx_path),
            "plan_sha256": sha256(engine), "build_s": seconds}
    sidecar.write(engine, facts, info)  # the engine's precision is the graph's (check_precision)
    return engine, info
