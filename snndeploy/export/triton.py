"""NVIDIA Triton Inference Server model repositories: REPO/<model>/config.pbtxt + REPO/<model>/1/<file>.

ONNX graphs are served by the `onnxruntime_onnx` platform; TensorRT engines by `tensorrt_plan`,
one plan per GPU compute capability (`cc_model_filenames`). Inputs, outputs, types, batching and
the normalisation a client needs come from the artifact's own metadata. config.pbtxt is built and
read with Triton's own model-config protobuf (from the optional `tritonclient` package).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from ..core import atomic
from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH, ArtifactFacts
from ..core.lazy import lazy_import
from .naming import graph_name

PLATFORMS = {"onnxruntime_onnx": "", "tensorrt_plan": "_trt"}  # platform -> model name suffix
_INSTALL = "pip install 'snndeploy[triton]'"
model_config_pb2 = lazy_import("tritonclient.grpc.model_config_pb2", _INSTALL)
text_format = lazy_import("google.protobuf.text_format", _INSTALL)


def model_name(facts: ArtifactFacts, platform: str = "onnxruntime_onnx") -> str:
    """Triton model name: the graph's name (as its ONNX file has it), ``_trt`` for a TensorRT engine, so that a
    graph and the engine built from it can share a repository."""
    if platform not in PLATFORMS:
        raise SnnDeployError(f"unknown Triton platform '{platform}'; choose one of: {', '.join(PLATFORMS)}")
    return graph_name(facts) + PLATFORMS[platform]


def model_config(name: str, platform: str, facts: ArtifactFacts, *, max_batch: int = DEFAULT_MAX_BATCH,
                 cc_files: dict[str, str] | None = None, default_file: str | None = None) -> Any:
    """The ``inference.ModelConfig`` message of one artifact."""
    pb = model_config_pb2.load()
    data = facts.data
    static = facts.batch != "dynamic"
    lead = [int(facts.batch)] if static else []
    cfg = pb.ModelConfig(name=name, platform=platform, max_batch_size=0 if static else max_batch)
    for tensor, shape in [("images", data.input_shape), *facts.noise_inputs.items()]:
        cfg.input.add(name=tensor, data_type=pb.TYPE_FP32, dims=lead + [int(d) for d in shape])
    cfg.output.add(name="logits", data_type=pb.TYPE_FP32, dims=lead + [data.num_classes], label_filename="labels.txt")
    if not static:
        cfg.dynamic_batching.SetInParent()
    if default_file:
        cfg.default_model_filename = default_file
    cfg.cc_model_filenames.update(cc_files or {})
    params = {"mean": ",".join(map(str, data.mean)), "std": ",".join(map(str, data.std)),
              "T": str(facts.T), "stage": str(facts.stage), "snndeploy": json.dumps(facts.to_dict())}
    for key, value in params.items():
        cfg.parameters[key].string_value = value
    return cfg


def config_pbtxt(name: str, platform: str, facts: ArtifactFacts, **options: Any) -> str:
    """The text of config.pbtxt for one artifact (options as for ``model_config``)."""
    return text_format.load().MessageToString(model_config(name, platform, facts, **options))


def read_config(path: Path) -> Any:
    """A config.pbtxt parsed into ``inference.ModelConfig``, or a one-line error."""
    pb, tf = model_config_pb2.load(), text_format.load()
    try:
        return tf.Parse(path.read_text(encoding="utf-8"), pb.ModelConfig())
    except (tf.ParseError, UnicodeDecodeError) as exc:
        why = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SnnDeployError(f"{path} is not a Triton model config ({why}); move it away or use another "
                             "repository") from None


def write_model(repo: str | Path, facts: ArtifactFacts, platform: str, files: dict[str, bytes | Path], *,
                max_batch: int = DEFAULT_MAX_BATCH, cc_files: dict[str, str] | None = None,
                default_file: str | None = None) -> Path:
    """Write one model folder (config, labels, version 1 files), every file atomically."""
    if max_batch < 1:
        raise SnnDeployError(f"max batch must be >= 1, got {max_batch}")
    name = model_name(facts, platform)
    text = config_pbtxt(name, platform, facts, max_batch=max_batch, cc_files=cc_files, default_file=default_file)
    folder = Path(repo) / name
    for file, content in files.items():
        target = folder / "1" / file
        if isinstance(content, Path):
            atomic.write_with(target, lambda tmp, src=content: shutil.copyfile(src, tmp))
        else:
            atomic.write_bytes(target, content)
    atomic.write_text(folder / "labels.txt", "\n".join(facts.data.class_names) + "\n")
    atomic.write_text(folder / "config.pbtxt", text)
    return folder
