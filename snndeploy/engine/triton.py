"""TensorRT engines in a Triton model repository: a `tensorrt_plan` model beside the ONNX models that
``snndeploy.export.triton`` writes, one plan per GPU compute capability."""

from __future__ import annotations

from pathlib import Path

from ..export.triton import DEFAULT_MAX_BATCH, model_name, read_config, write_model
from . import sidecar


def write_engine(repo: str | Path, engine: str | Path, max_batch: int | None = None) -> Path:
    """Add a TensorRT engine (with its sidecar JSON) as a `tensorrt_plan` model, one plan per compute capability."""
    engine = Path(engine)
    facts, side = sidecar.read(engine)
    cc = str(side["compute_capability"])
    plan = f"model_sm{cc.replace('.', '')}.plan"
    config = Path(repo) / model_name(facts, "tensorrt_plan") / "config.pbtxt"
    # keep the plans already there for other GPUs
    cc_files = dict(read_config(config).cc_model_filenames) if config.is_file() else {}
    cc_files[cc] = plan
    batch = max_batch or int(side.get("max_batch", DEFAULT_MAX_BATCH))
    return write_model(repo, facts, "tensorrt_plan", {plan: engine}, max_batch=batch, cc_files=cc_files)
