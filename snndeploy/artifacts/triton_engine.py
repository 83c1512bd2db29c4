"""TensorRT engines in a Triton model repository: a `tensorrt_plan` model (``<graph name>_trt``) beside the ONNX
models that ``snndeploy.artifacts.triton`` writes, one plan per GPU compute capability."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..core import files
from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH, ArtifactFacts
from ..core.outputs import refuse_existing
from ..core.validate import show
from . import sidecar
from .triton import COMPUTE_CAPABILITY, model_name, read_config, write_model

PLATFORM = "tensorrt_plan"


def _max_batch(engine: Path, facts: ArtifactFacts, side: dict[str, Any], requested: int | None) -> int:
    """Triton's max_batch_size for this engine: its profile must take every batch from 1 up to it, since the
    dynamic batcher sends any batch in that range. A fixed-batch engine gets whole batches (max_batch_size 0)."""
    images = side["shapes"]["images"]
    lo, hi = int(images["min"][0]), int(images["max"][0])
    if facts.batch != "dynamic":
        if requested is not None:
            raise SnnDeployError(f"{engine.name} takes batch {facts.batch} only; --max-batch applies to engines "
                                 "built from a --batch dynamic export")
        return DEFAULT_MAX_BATCH  # unused: a fixed-batch model config has max_batch_size 0
    if lo != 1:
        raise SnnDeployError(f"{engine.name}'s profile starts at batch {lo}, but Triton sends batches from 1 up: "
                             f"rebuild it with `snndeploy build --batch 1,OPT,{hi}`")
    batch = hi if requested is None else requested
    if not 1 <= batch <= hi:
        raise SnnDeployError(f"--max-batch {batch} is outside {engine.name}'s profile (batch 1 to {hi}); lower "
                             f"--max-batch or rebuild it with `snndeploy build --batch 1,OPT,{batch}`")
    return batch


def _record_of(old: Any, facts: ArtifactFacts, config: Path) -> bool | None:
    """Whether a model config's snndeploy record (its "snndeploy" parameter) is this graph's; None: it has none."""
    if "snndeploy" not in old.parameters:
        return None
    try:
        return files.loads_json(old.parameters["snndeploy"].string_value, str(config)) == facts.to_dict()
    except SnnDeployError:  # not JSON, or nested past any record's depth: not this graph's record
        return False


def _kept_plans(config: Path, facts: ArtifactFacts) -> tuple[dict[str, str], int | None, dict[str, str]]:
    """The plans for other GPUs already in a model folder, the max_batch_size they were added with, and the plans
    snndeploy's record proves it wrote there (listed by a config that carries this graph's record). Refuses a
    folder that holds another kind of model or plans of another graph (weights or options)."""
    if not os.path.lexists(config):
        return {}, None, {}
    old = read_config(config)  # a FIFO, a link to a device or an oversized file is refused, not skipped
    if old.platform and old.platform != PLATFORM:
        raise SnnDeployError(f"{config} is a '{old.platform}' model, not TensorRT engines; move {config.parent.name} "
                             "away or use another repository")
    record = _record_of(old, facts, config)
    if record is False:
        raise SnnDeployError(f"{config.parent} holds engines of another graph (other weights or export options); "
                             "remove that folder or use another repository")
    for cc, file in old.cc_model_filenames.items():  # kept entries are written back: they must be plain
        if not COMPUTE_CAPABILITY.fullmatch(cc) or file in ("", ".", "..") or file != Path(file).name:
            raise SnnDeployError(f"{config} lists plan {show(file)} for compute capability {show(cc)}, which is not "
                                 "a plan file of its version folder; remove that entry or the folder")
    versions = config.parent / "1"  # a plan listed but no longer there would fail the model in Triton: drop it
    kept = {cc: f for cc, f in old.cc_model_filenames.items() if (versions / f).is_file()}
    ours = dict(old.cc_model_filenames) if record else {}
    return kept, (int(old.max_batch_size) or None) if kept else None, ours


def write_engine(repo: str | Path, engine: str | Path, max_batch: int | None = None, *,
                 overwrite: bool = False) -> Path:
    """Add a TensorRT engine (with its sidecar JSON) as a `tensorrt_plan` model, one plan per compute capability;
    ``max_batch`` (default: the profile's maximum) must fit the profile of every plan in the model. The plan must be
    the one its sidecar describes (plan_sha256); the model folder is replaced as a whole. A plan already there for
    this GPU is refused unless ``overwrite``, and even then unless the model's config records writing it (the one
    rule, snndeploy.core.outputs); other GPUs' plans are kept."""
    engine = Path(engine)
    facts, side = sidecar.read(engine)  # validated: the compute capability names a file, the facts the model
    batch = _max_batch(engine, facts, side, max_batch)
    cc = side["compute_capability"]
    plan = f"model_sm{cc.replace('.', '')}.plan"
    config = Path(repo) / model_name(facts, PLATFORM) / "config.pbtxt"
    cc_files, kept_batch, ours = _kept_plans(config, facts)
    cc_files.pop(cc, None)  # this GPU's plan is replaced
    if cc_files and kept_batch is not None and facts.batch == "dynamic":
        if max_batch is not None and max_batch > kept_batch:
            raise SnnDeployError(f"--max-batch {max_batch} exceeds the max_batch_size {kept_batch} that the plans "
                                 f"for compute capability {', '.join(sorted(cc_files))} in {config.parent} take")
        batch = min(batch, kept_batch)
    refuse_existing(config.parent / "1" / plan, overwrite, lambda p: p.is_file() and ours.get(cc) == plan)
    cc_files[cc] = plan
    # the bytes checked are the bytes written: a plan swapped after the check cannot slip in
    data = sidecar.check_plan(engine, side)
    return write_model(repo, facts, PLATFORM, {plan: data}, max_batch=batch, cc_files=cc_files)
