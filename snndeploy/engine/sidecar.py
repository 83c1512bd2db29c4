"""The engine's sidecar JSON (DESIGN.md §2): the plan stays a plain serialized engine for trtexec."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..core import atomic
from ..core.errors import SnnDeployError

FORMAT = "snndeploy-engine"
VERSION = 1
REQUIRED = ("tensorrt", "gpu", "compute_capability", "precision", "T", "shapes", "onnx_sha256", "plan_sha256",
            "facts")


def path_for(engine: str | Path) -> Path:
    """`model.plan` -> `model.plan.json`."""
    engine = Path(engine)
    return engine.with_suffix(engine.suffix + ".json")


def write(engine: str | Path, info: dict[str, Any]) -> Path:
    """Write the sidecar next to the engine, atomically."""
    missing = [k for k in REQUIRED if k not in info]
    if missing:
        raise SnnDeployError(f"sidecar lacks {', '.join(missing)}")
    return atomic.write_json(path_for(engine), {"format": FORMAT, "version": VERSION, **info})


def read(engine: str | Path) -> dict[str, Any]:
    """Read and validate the sidecar of an engine file."""
    engine = Path(engine)
    if not engine.is_file():
        raise SnnDeployError(f"engine not found: {engine}")
    side = path_for(engine)
    if not side.is_file():
        raise SnnDeployError(f"engine {engine} has no sidecar {side.name}; build it with `snndeploy build`")
    try:
        info = json.loads(side.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise SnnDeployError(f"{side} is not valid JSON") from None
    if not isinstance(info, dict) or info.get("format") != FORMAT or info.get("version") != VERSION:
        raise SnnDeployError(f"{side} is not an snndeploy engine sidecar")
    missing = [k for k in REQUIRED if k not in info]
    if missing:
        raise SnnDeployError(f"{side} lacks {', '.join(missing)}")
    return info


def check_compatible(info: dict[str, Any], trt_version: str, compute_capability: str, where: str = "engine") -> None:
    """An engine runs only with the TensorRT version and GPU architecture it was built for."""
    built, here = str(info["tensorrt"]), str(trt_version)
    if built.split(".")[:2] != here.split(".")[:2]:
        raise SnnDeployError(f"{where} was built with TensorRT {built}, this machine has {here}; rebuild it here")
    if str(info["compute_capability"]) != str(compute_capability):
        raise SnnDeployError(f"{where} was built for {info['gpu']} (compute capability {info['compute_capability']}), "
                             f"this GPU has compute capability {compute_capability}; rebuild it here")
