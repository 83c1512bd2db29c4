"""ONNX -> TensorRT engine with Polygraphy's loaders (TensorRT 10 and 11: strongly typed networks, precision
taken from the graph), the sidecar JSON, and the equivalent trtexec command line."""

from __future__ import annotations

import dataclasses
import os
import re
import shlex
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..artifacts import metadata, sidecar
from ..core import atomic, files
from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH, PRECISIONS, ArtifactFacts
from ..core.hashing import sha256
from ..core.install import tensorrt_hint
from ..core.outputs import refuse_existing
from . import cuda
from .check import random_nodes
from .trt_logger import share_with_polygraphy

# TensorRT releases that build strongly typed networks for DLA on Jetson AGX Orin: 11.4.1 and later (JetPack 7.2.2),
# whose release notes list "Strongly typed networks for DLA" as new. 10.0 to 10.7 (JetPack 6) have DLA, but their
# DLA builds are weakly typed: trtexec of every 10.x release (NVIDIA/TensorRT samples/common/sampleEngines.cpp,
# release/10.3 to release/10.16) sets BuilderFlag kFP16 (unless --int8) and kPREFER_PRECISION_CONSTRAINTS whenever
# --useDLACore is given, flags a strongly typed network does not allow (its own --stronglyTyped turns --fp16 off as
# "not allowed if graph is strongly typed"), and no 10.x document describes a strongly typed DLA build. `build` is
# strongly typed only, so on JetPack 6 a DLA engine is built with the weakly typed trtexec line of JETPACK6_DLA.
DLA_RELEASES = (((11, 4, 1), None),)
JETPACK6_DLA = ("on JetPack 6 (TensorRT 10.x) build it on the device with weakly typed trtexec: trtexec "
                "--onnx=MODEL.onnx --saveEngine=MODEL.plan --fp16 --useDLACore=N --allowGPUFallback --noTF32 (a "
                "fixed-batch graph; --fp16 lets TensorRT pick fp16 for any layer: check the accuracy)")
# `build` parses strongly typed networks (TensorRT >= 10); JetPack 5 ships TensorRT 8.5.
MIN_TENSORRT = (10, 0, 0)
JETPACK5 = ("on JetPack 5 (TensorRT 8.5) export with --inline --trt 8.5 and build on the device with trtexec "
            "--onnx=MODEL.onnx --saveEngine=MODEL.plan --noTF32 (fp32; add --fp16 for half precision, which lets "
            "TensorRT 8.5 pick fp16 for any layer: check the accuracy)")
INSTALL = tensorrt_hint()  # TensorRT 10 or 11, Polygraphy and cuda-bindings; JetPack's own on a Jetson


class Refused(SnnDeployError):
    """What TensorRT cannot build as asked (random ops it would freeze, DLA with dynamic shapes, a TensorRT too
    old for strongly typed networks): known before TensorRT is imported; bench shows it as a row's status."""


@dataclass(frozen=True)
class BuildConfig:
    """Options of `snndeploy build`."""

    precision: str = "fp32"
    batch: tuple[int, int, int] | None = None  # min, opt, max; None: 1, 64, 64 (or the graph's fixed batch)
    workspace_gb: float = 2.0
    timing_cache: str | None = None
    out: str | None = None
    dla_core: int | None = None  # build for this DLA core, unsupported layers on the GPU
    # accept that TensorRT fixes a graph's random draws at build time (a --noise graph export): the engine's facts
    # then say noise "frozen"
    frozen_noise: bool = False
    # replace an existing engine that snndeploy built (its sidecar proves it); off: refuse an existing one
    overwrite: bool = False

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise SnnDeployError(f"--precision must be one of {', '.join(PRECISIONS)}, got '{self.precision}'")
        if self.batch is not None:
            lo, opt, hi = self.batch
            if not 1 <= lo <= opt <= hi:
                raise SnnDeployError(f"--batch must be MIN,OPT,MAX with 1 <= MIN <= OPT <= MAX, got {self.batch}")
        if not self.workspace_gb > 0:
            raise SnnDeployError(f"--workspace must be > 0 GB, got {self.workspace_gb}")
        if self.dla_core is not None and (isinstance(self.dla_core, bool) or self.dla_core < 0):
            raise SnnDeployError(f"--dla-core must be a DLA core number >= 0, got {self.dla_core}")

    @property
    def workspace_bytes(self) -> int:
        """The workspace pool in whole MiB (what trtexec's --memPoolSize takes), at least 1 MiB."""
        return max(1, round(self.workspace_gb * 1024)) << 20


def parse_batch(text: str | None) -> tuple[int, int, int] | None:
    """'1,8,64' -> (1, 8, 64)."""
    if text is None:
        return None
    try:
        lo, opt, hi = (int(p) for p in text.split(","))
    except ValueError:
        raise SnnDeployError(f"--batch must be MIN,OPT,MAX, got '{text}'") from None
    return lo, opt, hi


def default_batch(cap: int | None = None) -> tuple[int, int, int]:
    """The profile of a dynamic-batch graph unless asked otherwise: 1 to 64 (or a noise bank's capacity), tuned for
    the largest batch. TensorRT picks "the kernels that result in the lowest runtime for the optimum input tensor
    dimensions, and are valid for all input tensor sizes in the valid range" (IOptimizationProfile, TensorRT Python
    API); Triton's dynamic batcher and bench's throughput rows run batches up to the maximum, and batch 1 stays
    valid, only not tuned for (ask for it with --batch 1,1,64 where latency at batch 1 matters most)."""
    hi = min(DEFAULT_MAX_BATCH, cap or DEFAULT_MAX_BATCH)
    return 1, hi, hi


def plan_shapes(facts: ArtifactFacts, cfg: BuildConfig) -> dict[str, dict[str, list[int]]]:
    """Optimization-profile shapes of every input, from the graph's facts."""
    fixed = None if facts.batch == "dynamic" else int(facts.batch)
    if fixed is not None and cfg.batch is not None and cfg.batch != (fixed, fixed, fixed):
        raise SnnDeployError(f"the graph has a fixed batch of {fixed}; export with --batch dynamic for a range")
    cap = facts.max_batch  # a --noise graph bank serves batches up to its capacity
    lo, opt, hi = (fixed,) * 3 if fixed is not None else (cfg.batch or default_batch(cap))
    if cap is not None and hi > cap:
        raise SnnDeployError(f"the graph's noise bank serves batches up to {cap}; build with a max batch <= {cap} "
                             f"or export with --max-batch {hi}")
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


def version_tuple(version: str) -> tuple[int, ...]:
    """'10.7.0.23' -> (10, 7, 0): the numeric release components of a TensorRT version."""
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])


def check_dla(facts: ArtifactFacts, core: int, trt_version: str | None = None,
              shapes: dict[str, dict[str, list[int]]] | None = None) -> None:
    """DLA runs fp16 and int8 only, static shapes only (the profile's min = opt = max, checked when ``shapes`` are
    given: snndeploy.engine.check.DLA_STATIC), and only some TensorRT releases build strongly typed networks for it
    (checked when given)."""
    if facts.precision not in ("fp16", "int8"):
        raise Refused(f"DLA runs fp16 and int8 networks only, this graph is {facts.precision}; export with "
                             "--fp16 (or quantize it) to build for --dla-core")
    if shapes is not None:
        lo, opt, hi = (shapes["images"][k][0] for k in ("min", "opt", "max"))
        if not lo == opt == hi:
            raise Refused(f"--dla-core {core} with batch {lo},{opt},{hi}: DLA needs static shapes (min = opt = "
                                 f"max, NVIDIA's DLA restrictions), else every layer falls back to the GPU; build with "
                                 f"--batch N,N,N or export with --batch N")
    if trt_version is None:
        return
    v = version_tuple(trt_version)
    if not any(lo <= v <= (hi or v) for lo, hi in DLA_RELEASES):
        raise Refused(f"TensorRT {trt_version} cannot build a strongly typed network for DLA (core {core}): "
                             f"that takes TensorRT 11.4.1 or later (JetPack 7.2.2) on Jetson AGX Orin; {JETPACK6_DLA}")


def check_tensorrt(trt_version: str) -> None:
    """`build` needs TensorRT >= 10 (strongly typed networks); before that, the trtexec route of JETPACK5."""
    if version_tuple(trt_version) < MIN_TENSORRT:
        raise Refused(f"TensorRT {trt_version} cannot build strongly typed networks (snndeploy build needs "
                             f"TensorRT >= 10); {JETPACK5}")


def check_random(model: Any, cfg: BuildConfig, path: Path) -> bool:
    """Whether the graph has random ops (snndeploy.engine.check.random_nodes), which TensorRT freezes at build time:
    refused unless ``cfg.frozen_noise`` accepts that."""
    found = random_nodes(model)
    if found and not cfg.frozen_noise:
        node, op = found[0]
        raise Refused(f"{path.name} draws noise with {op} ({node}), which TensorRT fixes when it builds the "
                             "engine: every run would read the same noise under a 'graph' label; export with --noise "
                             "frozen or --noise input, or build with --frozen-noise to accept frozen noise")
    return bool(found)


def trtexec_command(onnx_path: Path, engine: Path, shapes: dict[str, dict[str, list[int]]], cfg: BuildConfig,
                    dynamic: bool = True) -> str:
    """The trtexec command line that builds the same engine on a device with only TensorRT (e.g. JetPack):
    the same profile (every input, noise included), workspace, timing cache, strong typing and DLA core. A
    fixed-batch graph takes no shapes (trtexec refuses explicit shapes for a static model)."""
    def spec(which: str) -> str:
        # trtexec splits a shape spec on its last ':' unless the name is wrapped in single quotes
        return ",".join(f"{repr(n) if ':' in n else n}:{'x'.join(map(str, s[which]))}" for n, s in shapes.items())

    args = ["trtexec", f"--onnx={onnx_path}", f"--saveEngine={engine}"]
    if dynamic:
        args += [f"--minShapes={spec('min')}", f"--optShapes={spec('opt')}", f"--maxShapes={spec('max')}"]
    # Polygraphy's CreateConfig clears BuilderFlag TF32 unless tf32=True and sets ProfilingVerbosity DETAILED
    # (polygraphy/backend/trt/config.py); trtexec keeps TF32 unless --noTF32, times each tactic 8 times unless
    # --avgTiming (TensorRT's own default, which the builder keeps here, is 1) and records layer names only
    # (NVIDIA/TensorRT samples/common/sampleOptions.cpp and sampleOptions.h)
    args += [f"--memPoolSize=workspace:{cfg.workspace_bytes >> 20}", "--stronglyTyped", "--noTF32", "--avgTiming=1",
             "--profilingVerbosity=detailed"]
    if cfg.timing_cache:
        args.append(f"--timingCacheFile={cfg.timing_cache}")
    if cfg.dla_core is not None:
        args += [f"--useDLACore={cfg.dla_core}", "--allowGPUFallback"]
    return shlex.join([*args, "--skipInference"])


def _tensorrt() -> Any:
    try:
        import tensorrt as trt
    except ImportError:
        raise SnnDeployError(f"TensorRT is not installed: {INSTALL}") from None
    return trt


def _use_dla(trt: Any, core: int) -> Any:
    """A Polygraphy PostprocessConfig function: run on DLA core ``core``, unsupported layers on the GPU. No
    precision flag is set: the network is strongly typed, so its tensors' types are the precision."""
    def apply(builder: Any, network: Any, config: Any) -> None:
        have = builder.num_DLA_cores
        if core >= have:
            raise SnnDeployError(f"--dla-core {core}: this device has {have} DLA core(s)"
                                 + ("" if have else " (DLA exists on Jetson AGX Orin)"))
        config.default_device_type = trt.DeviceType.DLA
        config.DLA_core = core
        config.set_flag(trt.BuilderFlag.GPU_FALLBACK)
    return apply


def _our_engine(path: Path) -> bool:
    """Whether ``path`` is an engine snndeploy built: its sidecar JSON reads back."""
    try:
        sidecar.read(path)
    except SnnDeployError:
        return False
    return True


def build_engine(onnx_path: str | Path, cfg: BuildConfig) -> tuple[Path, dict[str, Any]]:
    """Build, then write the plan and its sidecar atomically; returns the plan's path and the sidecar's
    engine-only keys (``trtexec`` holds the equivalent trtexec command line)."""
    onnx_path = Path(onnx_path)
    model, facts = metadata.load(onnx_path)
    check_precision(facts, cfg.precision, onnx_path)
    engine = Path(cfg.out) if cfg.out else onnx_path.with_suffix(".plan")
    refuse_existing(engine, cfg.overwrite, _our_engine)  # before minutes of TensorRT
    if cfg.timing_cache and os.path.lexists(cfg.timing_cache):  # Polygraphy reads it by path: a FIFO would block
        files.check_regular(cfg.timing_cache, "timing cache", "engine")
    shapes = plan_shapes(facts, cfg)
    if cfg.dla_core is not None:
        check_dla(facts, cfg.dla_core, shapes=shapes)  # before TensorRT: precision and static shapes need none
    if check_random(model, cfg, onnx_path):
        facts = dataclasses.replace(facts, noise="frozen")  # what the engine runs: one set of build-time draws
    trt = _tensorrt()
    check_tensorrt(trt.__version__)
    if cfg.dla_core is not None:
        check_dla(facts, cfg.dla_core, trt.__version__)
    gpu, cc = cuda.device_info()
    from polygraphy.backend.trt import (
        CreateConfig,
        EngineBytesFromNetwork,
        NetworkFromOnnxPath,
        PostprocessConfig,
        Profile,
    )

    profile = Profile()
    for name, s in shapes.items():
        profile.add(name, min=s["min"], opt=s["opt"], max=s["max"])
    config = CreateConfig(profiles=[profile], load_timing_cache=cfg.timing_cache,
                          memory_pool_limits={trt.MemoryPoolType.WORKSPACE: cfg.workspace_bytes})
    if cfg.dla_core is not None:
        config = PostprocessConfig(config, _use_dla(trt, cfg.dla_core))
    logger = share_with_polygraphy(trt)  # one TensorRT logger per process, the runners' too
    mark = logger.count
    network = NetworkFromOnnxPath(str(onnx_path), strongly_typed=True)
    command = trtexec_command(onnx_path, engine, shapes, cfg, dynamic=facts.batch == "dynamic")
    t0 = time.perf_counter()
    try:
        plan = EngineBytesFromNetwork(network, config, save_timing_cache=cfg.timing_cache)()
    except SnnDeployError:
        raise
    except Exception as exc:  # Polygraphy raises PolygraphyException; TensorRT's own errors are in the logger
        errors = [e.splitlines()[0] for e in logger.since(mark) if e.strip()]
        raise SnnDeployError(f"TensorRT could not build {onnx_path.name}: {(str(exc).splitlines() or [''])[0]}"
                             + (f" ({errors[-1]})" if errors else "")) from None
    seconds = time.perf_counter() - t0
    atomic.write_bytes(engine, bytes(plan))
    info = {"tensorrt": trt.__version__, "gpu": gpu, "compute_capability": cc, "shapes": shapes,
            "max_batch": shapes["images"]["max"][0], "onnx": onnx_path.name, "onnx_sha256": sha256(onnx_path),
            "plan_sha256": sha256(engine), "build_s": seconds, "workspace_bytes": cfg.workspace_bytes,
            "timing_cache": cfg.timing_cache, "dla_core": cfg.dla_core, "trtexec": command}
    sidecar.write(engine, facts, info)  # the engine's precision is the graph's (check_precision)
    return engine, info
