"""An ONNX file's artifact facts in its metadata_props, and reading them back."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import onnx

from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts, Container, envelope, read_facts

KEY = "snndeploy"
FORMAT = "snndeploy-onnx"
CONTAINER = Container(FORMAT, "an snndeploy ONNX export", optional=("calibration",),
                      redo="re-export it from its checkpoint with `snndeploy export CHECKPOINT`")


def attach(model: onnx.ModelProto, facts: ArtifactFacts, extra: dict[str, Any] | None = None) -> None:
    """Store the facts as JSON under one key, plus a few plain keys for people browsing in Netron."""
    obj = envelope(CONTAINER, facts, extra or {})
    plain = {KEY: json.dumps(obj, allow_nan=False), "T": str(facts.T), "stage": str(facts.stage),
             "classes": ",".join(facts.data.class_names)}
    del model.metadata_props[:]
    for k, v in plain.items():
        model.metadata_props.add(key=k, value=v)


def read(model: onnx.ModelProto, where: str | Path = "model") -> ArtifactFacts:
    """The facts of one of our graphs, or a one-line error for a foreign or outdated one."""
    props = {p.key: p.value for p in model.metadata_props}
    if KEY not in props:
        raise SnnDeployError(f"{where} is not an snndeploy ONNX export (no '{KEY}' metadata)")
    try:
        obj = json.loads(props[KEY])
    except json.JSONDecodeError:
        raise SnnDeployError(f"{where}: its '{KEY}' metadata is not valid JSON") from None
    return read_facts(obj, str(where), CONTAINER)[0]


def load(path: str | Path) -> tuple[onnx.ModelProto, ArtifactFacts]:
    """Load an ONNX file and its facts, with one-line errors for missing or corrupt files."""
    path = Path(path)
    if not path.is_file():
        raise SnnDeployError(f"ONNX file not found: {path}")
    try:
        model = onnx.load(str(path))
    except Exception as exc:  # protobuf raises its own DecodeError; any failure means "not ONNX"
        raise SnnDeployError(f"{path} is not a readable ONNX file ({type(exc).__name__})") from None
    return model, read(model, path)
