"""NVIDIA Triton Inference Server model repositories: REPO/<model>/config.pbtxt + REPO/<model>/1/<file>.

ONNX graphs are served by the `onnxruntime_onnx` platform; TensorRT engines by `tensorrt_plan`,
one plan per GPU compute capability (`cc_model_filenames`). Inputs, outputs, types, batching and
the normalisation a client needs come from the artifact's own metadata.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from ..core import atomic
from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts

DEFAULT_MAX_BATCH = 64


def model_name(facts: ArtifactFacts) -> str:
    """Triton model name: architecture and T, plus the options that change the graph."""
    name = f"{facts.model}_T{facts.T}"
    if facts.precision != "fp32":
        name += f"_{facts.precision}"
    return re.sub(r"[^A-Za-z0-9_.-]", "_", name)


def _dims(values: list[Any]) -> str:
    return "[ " + ", ".join(str(int(v)) for v in values) + " ]"


def _tensor(name: str, dims: list[Any], extra: str = "") -> str:
    return f'  {{\n    name: "{name}"\n    data_type: TYPE_FP32\n    dims: {_dims(dims)}\n{extra}  }}'


def config_pbtxt(name: str, platform: str, facts: ArtifactFacts, *, max_batch: int = DEFAULT_MAX_BATCH,
                 cc_files: dict[str, str] | None = None, default_file: str | None = None) -> str:
    """The text of config.pbtxt for one artifact."""
    data = facts.data
    shape = list(data.input_shape)
    static = facts.batch != "dynamic"
    lead = [int(facts.batch)] if static else []
    inputs = [_tensor("images", lead + shape)]
    inputs += [_tensor(k, lead + list(v)) for k, v in facts.noise_inputs.items()]
    outputs = [_tensor("logits", lead + [data.num_classes], '    label_filename: "labels.txt"\n')]
    lines = [f'name: "{name}"', f'platform: "{platform}"', f"max_batch_size: {0 if static else max_batch}",
             "input [\n" + ",\n".join(inputs) + "\n]", "output [\n" + ",\n".join(outputs) + "\n]"]
    if not static:
        lines.append("dynamic_batching { }")
    if default_file:
        lines.append(f'default_model_filename: "{default_file}"')
    for cc, file in sorted((cc_files or {}).items()):
        lines.append(f'cc_model_filenames {{ key: "{cc}" value: "{file}" }}')
    params = {"mean": ",".join(map(str, data.mean)), "std": ",".join(map(str, data.std)),
              "T": str(facts.T), "stage": str(facts.stage), "snndeploy": json.dumps(facts.to_dict())}
    for key, value in params.items():
        text = json.dumps(value, ensure_ascii=False)  # JSON string escapes are valid protobuf text escapes
        lines.append(f'parameters {{ key: "{key}" value: {{ string_value: {text} }} }}')
    return "\n".join(lines) + "\n"


def write_model(repo: str | Path, facts: ArtifactFacts, platform: str, files: dict[str, bytes | Path], *,
                max_batch: int = DEFAULT_MAX_BATCH, cc_files: dict[str, str] | None = None,
                default_file: str | None = None) -> Path:
    """Write one model folder (config, labels, version 1 files), every file atomically."""
    if max_batch < 1:
        raise SnnDeployError(f"max batch must be >= 1, got {max_batch}")
    folder = Path(repo) / model_name(facts)
    for file, content in files.items():
        target = folder / "1" / file
        if isinstance(content, Path):
            atomic.write_with(target, lambda tmp, src=content: shutil.copyfile(src, tmp))
        else:
            atomic.write_bytes(target, content)
    atomic.write_text(folder / "labels.txt", "\n".join(facts.data.class_names) + "\n")
    atomic.write_text(folder / "config.pbtxt", config_pbtxt(model_name(facts), platform, facts, max_batch=max_batch,
                                                            cc_files=cc_files, default_file=default_file))
    return folder


def write_engine(repo: str | Path, engine: str | Path, max_batch: int | None = None) -> Path:
    """Add a TensorRT engine (with its sidecar JSON) as a `tensorrt_plan` model, one plan per compute capability."""
    from ..engine import sidecar

    engine = Path(engine)
    facts, side = sidecar.read(engine)
    cc = str(side["compute_capability"])
    plan = f"model_sm{cc.replace('.', '')}.plan"
    folder = Path(repo) / model_name(facts)
    cc_files = {}
    if (folder / "config.pbtxt").is_file():  # keep the plans already there for other GPUs
        cc_files = dict(re.findall(r'cc_model_filenames \{ key: "([^"]+)" value: "([^"]+)" \}',
                                   (folder / "config.pbtxt").read_text()))
    cc_files[cc] = plan
    batch = max_batch or int(side.get("max_batch", DEFAULT_MAX_BATCH))
    return write_model(repo, facts, "tensorrt_plan", {plan: engine}, max_batch=batch, cc_files=cc_files)
