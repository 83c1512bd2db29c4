"""The name of an exported graph, shared by ONNX file names and Triton model names: the model, T and
every export option that changes the graph, so that two different graphs never share a file or a folder."""

from __future__ import annotations

import re

from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH, ArtifactFacts
from ..core.neuron_config import NeuronConfig

DEFAULT_OPSET = 17  # the opset snndeploy exports by default, and the lowest it writes
DEFAULT_ALPHA = NeuronConfig.alpha


def graph_name(facts: ArtifactFacts) -> str:
    """``<model>_T<T>`` plus one suffix per non-default option: ``_stage2``, ``_noise-graph|input``,
    ``_fp16|int8``, ``_inline``, ``_batch<N>``, ``_opset<N>``, ``_alpha<a>`` and ``_beta<b>`` (stage 3),
    ``_seed<N>`` (frozen noise, graph noise's bank), ``_maxbatch<N>`` (a graph-noise bank's capacity).
    Characters other than letters, digits, ``_``, ``.`` and ``-`` become ``_``."""
    if facts.is_checkpoint:
        raise SnnDeployError("a checkpoint has no graph name: it is not unrolled for a T yet")
    parts = [facts.model, f"T{facts.T}"]
    if facts.stage != 3:
        parts.append(f"stage{facts.stage}")
    if facts.noise != "frozen":
        parts.append(f"noise-{facts.noise}")
    if facts.precision != "fp32":
        parts.append(facts.precision)
    if facts.inline:
        parts.append("inline")
    if facts.batch != "dynamic":
        parts.append(f"batch{facts.batch}")
    if facts.opset is not None and facts.opset != DEFAULT_OPSET:
        parts.append(f"opset{facts.opset}")
    if facts.stage == 3:  # a stage-2 graph has no potential to normalise: alpha and beta do not reach it
        if facts.neuron.alpha != DEFAULT_ALPHA:
            parts.append(f"alpha{facts.neuron.alpha:g}")
        if facts.neuron.beta is not None:
            parts.append(f"beta{facts.neuron.beta:g}")
    if facts.noise in ("frozen", "graph") and facts.seed not in (None, 0):
        parts.append(f"seed{facts.seed}")
    if facts.max_batch not in (None, DEFAULT_MAX_BATCH):
        parts.append(f"maxbatch{facts.max_batch}")
    return re.sub(r"[^A-Za-z0-9_.-]", "_", "_".join(parts))
