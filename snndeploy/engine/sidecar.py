"""The engine's sidecar JSON: the plan stays a plain serialized engine for trtexec; its facts and the
TensorRT version, GPU and shapes it was built for live beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core import atomic
from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts, Container, envelope, read_facts

FORMAT = "snndeploy-engine"
CONTAINER = Container(FORMAT, "an snndeploy engine sidecar",
                      required=("tensorrt", "gpu", "compute_capability", "shapes", "onnx_sha256", "plan_sha256"),
                      optional=("max_batch", "onnx", "build_s", "workspace_bytes", "timing_cache", "dla_core",
                                "trtexec"),
                      redo="rebuild the engine from a current export: `snndeploy export CHECKPOINT`, then "
                           "`snndeploy build MODEL.onnx`")


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
    if not engine.is_file():
        raise SnnDeployError(f"engine not found: {engine}")
    side = path_for(engine)
    if not side.is_file():
        raise SnnDeployError(f"engine {engine} has no sidecar {side.name}; build it with `snndeploy build`")
    try:
        obj = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SnnDeployError(f"{side} is not valid JSON") from None
    facts, info = read_facts(obj, str(side), CONTAINER)
    shapes = info["shapes"]
    if not isinstance(shapes, dict) or "images" not in shapes or not all(
            isinstance(s, dict) and {"min", "opt", "max"} <= set(s) for s in shapes.values()):
        raise SnnDeployError(f"{side}: 'shapes' must map every input (images first) to its min/opt/max shape")
    core = info.get("dla_core")
    if core is not None and (isinstance(core, bool) or not isinstance(core, int) or core < 0):
        raise SnnDeployError(f"{side}: 'dla_core' must be null or a DLA core number, got {core!r}")
    return facts, info


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
