"""The engine's sidecar JSON: the plan stays a plain serialized engine for trtexec; its facts and the
TensorRT version, GPU and shapes it was built for live beside it."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Any

from ..core import atomic, files
from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts, Container, envelope, read_facts
from ..core.hashing import SHA256_HEX, sha256_bytes
from ..core.validate import show
from .triton import COMPUTE_CAPABILITY

FORMAT = "snndeploy-engine"
CONTAINER = Container(FORMAT, "an snndeploy engine sidecar",
                      required=("tensorrt", "gpu", "compute_capability", "shapes", "onnx_sha256", "plan_sha256"),
                      optional=("max_batch", "onnx", "build_s", "workspace_bytes", "timing_cache", "dla_core",
                                "trtexec"),
                      redo="rebuild the engine from a current export: `snndeploy export CHECKPOINT`, then "
                           "`snndeploy build MODEL.onnx`")
# TensorRT's __version__: "10.3.0", "10.3.0.26", an early-access "10.0.0b6", a wheel's "8.6.1.post1"
TENSORRT_VERSION = re.compile(r"[0-9]{1,4}(?:\.[0-9]{1,6}){1,3}(?:[a-z]+[0-9]*)?(?:[.+-][0-9A-Za-z]{1,16}){0,3}")


def path_for(engine: str | Path) -> Path:
    """`model.plan` -> `model.plan.json`."""
    engine = Path(engine)
    return engine.with_suffix(engine.suffix + ".json")


def write(engine: str | Path, facts: ArtifactFacts, info: dict[str, Any]) -> Path:
    """Write the sidecar next to the engine, atomically: the engine's facts beside ``info`` (TensorRT
    version, GPU, compute capability, profile shapes, hashes)."""
    return atomic.write_json(path_for(engine), envelope(CONTAINER, facts, info))


def read(engine: str | Path) -> tuple[ArtifactFacts, dict[str, Any]]:
    """The facts and the engine-only keys of an engine file's sidecar, validated."""
    engine = Path(engine)
    files.check_regular(engine, "engine", "engine")  # not a FIFO, a device or a folder: it is read later
    side = path_for(engine)
    if not os.path.lexists(side):
        raise SnnDeployError(f"engine {engine} has no sidecar {side.name}; build it with `snndeploy build`")
    obj = files.read_json(side, "engine sidecar")  # bounded, regular, at most 64 levels deep
    facts, info = read_facts(obj, str(side), CONTAINER)
    shapes = info["shapes"]
    if not isinstance(shapes, dict) or "images" not in shapes or not all(
            isinstance(s, dict) and {"min", "opt", "max"} <= set(s) for s in shapes.values()):
        raise SnnDeployError(f"{side}: 'shapes' must map every input (images first) to its min/opt/max shape")
    core = info.get("dla_core")
    if core is not None and (isinstance(core, bool) or not isinstance(core, int) or core < 0):
        raise SnnDeployError(f"{side}: 'dla_core' must be null or a DLA core number, got {core!r}")
    _check_info(info, facts, side)
    return facts, info


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_info(info: dict[str, Any], facts: ArtifactFacts, side: Path) -> None:
    """The engine-only keys, which name files in a Triton repository and appear in messages: each one's type and
    form, and profile shapes that are the facts' inputs (every file snndeploy writes passes)."""
    def bad(key: str, what: str) -> SnnDeployError:
        return SnnDeployError(f"{side}: '{key}' must be {what}, got {show(info[key])}; rebuild the engine with "
                              "`snndeploy build`")

    text_rules = {"tensorrt": (TENSORRT_VERSION, 'a TensorRT version like "10.3.0"'),
                  "compute_capability": (COMPUTE_CAPABILITY, 'a compute capability like "8.7" (major.minor digits)'),
                  "onnx_sha256": (SHA256_HEX, "64 lowercase hex digits"),
                  "plan_sha256": (SHA256_HEX, "64 lowercase hex digits")}
    for key, (pattern, what) in text_rules.items():
        if not isinstance(info[key], str) or not pattern.fullmatch(info[key]):
            raise bad(key, what)
    gpu = info["gpu"]
    if not isinstance(gpu, str) or not gpu.strip() or len(gpu) > 200 or not gpu.isprintable():
        raise bad("gpu", "a GPU name on one line (printable characters, at most 200)")
    for key in ("onnx", "timing_cache", "trtexec"):
        value = info.get(key)
        if value is not None and not isinstance(value, str):
            raise bad(key, "a string or null")
    seconds = info.get("build_s")
    if seconds is not None and (isinstance(seconds, bool) or not isinstance(seconds, (int, float))
                                or not math.isfinite(seconds) or seconds < 0):
        raise bad("build_s", "a number of seconds or null")
    workspace = info.get("workspace_bytes")
    if workspace is not None and (not _is_int(workspace) or workspace < 0):
        raise bad("workspace_bytes", "a number of bytes or null")
    _check_shapes(info, facts, side)


def _check_shapes(info: dict[str, Any], facts: ArtifactFacts, side: Path) -> None:
    """Profile shapes: one per input of the facts, each min/opt/max a positive batch then the per-sample shape."""
    shapes = info["shapes"]
    per_sample = {"images": list(facts.data.input_shape), **{k: list(v) for k, v in facts.noise_inputs.items()}}
    if set(shapes) != set(per_sample):
        raise SnnDeployError(f"{side}: 'shapes' has inputs {show(sorted(map(str, shapes)))}, the engine's facts have "
                             f"{sorted(per_sample)}; rebuild the engine with `snndeploy build`")
    for name, sample in per_sample.items():
        profile = shapes[name]
        if set(profile) != {"min", "opt", "max"}:
            raise SnnDeployError(f"{side}: the shapes of '{name}' must have exactly min, opt and max")
        for key in ("min", "opt", "max"):
            shape = profile[key]
            if not (isinstance(shape, list) and len(shape) == 1 + len(sample) and all(map(_is_int, shape))
                    and shape[0] >= 1 and shape[1:] == sample):
                want = ", ".join(["batch", *map(str, sample)])
                raise SnnDeployError(f"{side}: the {key} shape of '{name}' must be [{want}] with a batch >= 1, got "
                                     f"{show(shape)}")
        if not profile["min"][0] <= profile["opt"][0] <= profile["max"][0]:
            raise SnnDeployError(f"{side}: the batches of '{name}' must be min <= opt <= max, got "
                                 f"{profile['min'][0]}, {profile['opt'][0]}, {profile['max'][0]}")
    top = shapes["images"]["max"][0]
    if "max_batch" in info and info["max_batch"] != top:
        raise SnnDeployError(f"{side}: 'max_batch' is {show(info['max_batch'])}, the profile's largest batch is "
                             f"{top}; rebuild the engine with `snndeploy build`")


def check_plan(engine: str | Path, info: dict[str, Any], plan: bytes | None = None) -> bytes:
    """The plan's bytes (read from ``engine`` unless given), after checking them against the sidecar's
    ``plan_sha256``: a plan rebuilt or replaced beside an old sidecar would be served under the wrong facts."""
    engine = Path(engine)
    if plan is None:
        plan = files.read_bytes(engine, "engine", "engine")
    if sha256_bytes(plan) != info["plan_sha256"]:
        raise SnnDeployError(f"the plan {engine} does not match its sidecar {path_for(engine).name} (rebuilt or "
                             "replaced?): its SHA-256 is not the sidecar's plan_sha256; rebuild it with "
                             "`snndeploy build`")
    return plan


def check_compatible(info: dict[str, Any], trt_version: str, compute_capability: str, where: str = "engine") -> None:
    """An engine runs only with the exact TensorRT version (every component, build number included) and the GPU
    architecture it was built for: TensorRT refuses plans from any other version unless they were built
    version-compatible, which `snndeploy build` does not do."""
    built, here = str(info["tensorrt"]), str(trt_version)
    if built != here:
        raise SnnDeployError(f"{where} was built with TensorRT {built}, this machine has {here}; engines load only on "
                             "the exact TensorRT version that built them: rebuild it here with `snndeploy build`")
    if str(info["compute_capability"]) != str(compute_capability):
        raise SnnDeployError(f"{where} was built for {info['gpu']} (compute capability {info['compute_capability']}), "
                             f"this GPU has compute capability {compute_capability}; rebuild it here")
