"""Names the exporter writes and the readers parse back, each defined once.

The name of an exported graph, shared by ONNX file names and Triton model names: the model, T and every export
option that changes the graph, so that two different graphs never share a file or a folder. And the names of
the per-layer noise tensors inside a graph (``NOISE_INPUT``, ``FROZEN_NOISE``, ``NOISE_BANK``): the exporter
writes them (``snndeploy.export.graph``), the metadata check reads T and the noise mode back from them
(``snndeploy.artifacts.metadata``), and runners feed noise inputs by them.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field

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


@dataclass(frozen=True)
class TensorName:
    """One family of tensor names, written and parsed from the same template: ``{layer}`` (the spiking layer's
    index, in ``SpikingNet.lif_nodes`` order) and ``{t}`` (the step) are integers, any other field is text."""

    template: str
    _pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        parts = []
        for literal, name, _, _ in string.Formatter().parse(self.template):
            parts.append(re.escape(literal))
            if name is not None:
                parts.append(f"(?P<{name}>{r'[0-9]+' if name in ('layer', 't') else '.+'})")
        object.__setattr__(self, "_pattern", re.compile("".join(parts)))

    def format(self, **fields: object) -> str:
        """The name of one tensor of the family."""
        return self.template.format(**fields)

    def parse(self, name: str) -> dict[str, str] | None:
        """The fields of a name of this family, or None for any other name."""
        m = self._pattern.fullmatch(name)
        return m.groupdict() if m else None

    def matches(self, name: str) -> bool:
        return self.parse(name) is not None

    def step(self, name: str) -> int | None:
        """The step ``t`` a name of this family holds (None: another name)."""
        fields = self.parse(name)
        return int(fields["t"]) if fields is not None else None


NOISE_INPUT = TensorName("noise.{layer}.{t}")  # --noise input: the raw draws of one layer at one step, a graph input
FROZEN_NOISE = TensorName("frozen{layer}.{t}")  # --noise frozen: one layer's noise at one step, an initializer
NOISE_BANK = TensorName("bank{layer}.{op}")  # --noise graph: one layer's bank of one op's noise, an initializer


def noise_input_name(layer: int, t: int) -> str:
    """Graph input holding the raw draws of one layer at one step (``--noise input``)."""
    return NOISE_INPUT.format(layer=layer, t=t)
