"""ANN-to-SNN conversion, the baseline of the paper's Table 2.

A network trained with ``--method ann`` (every LIFNode in mode 'ann', i.e. ReLU) becomes a rate-coded
SNN of integrate-and-fire neurons with reset by subtraction. Each layer's threshold is the 99.9th
percentile of its positive ReLU activations on a few training images (data-based threshold balancing,
Diehl et al. 2015; Rueckauer et al. 2017). A spike carries the layer's threshold as its amplitude, so
the weights stay as trained; this is the same network as Rueckauer's weight normalisation with unit
thresholds. The input current (the image through the first layer) is identical at every step, as in
our direct encoding, and the readout is the head averaged over T.
"""

from __future__ import annotations

import contextlib
import copy
import math
from collections.abc import Iterator

import torch
from torch import nn

from ..core.errors import SnnDeployError
from ..core.neuron_config import NeuronConfig
from ..core.spec import DataSpec
from ..data.datasets import Split, iterate_batches
from ..models import LIFNode, SpikingNet
from ..neuron import run_steps
from ..training.accuracy import accuracy_by_T

CONVERSION_TS = (8, 16, 32, 64, 128, 256, 512)


class IFNode(nn.Module):
    """Integrate-and-fire neurons, reset by subtraction, spikes of amplitude ``threshold``: [T, B, ...] in and out.

    The neuron is ``snndeploy.neuron.step``'s plain LIF with lam = 1, v_th = threshold and a soft reset.
    With ``carry`` set, the membrane potential is kept between calls (for running long T in chunks);
    otherwise every call starts from V = 0, as a fresh network does.
    """

    def __init__(self, threshold: float) -> None:
        super().__init__()
        if not (threshold > 0 and math.isfinite(threshold)):
            raise SnnDeployError(f"IF threshold must be a positive number, got {threshold}")
        self.cfg = NeuronConfig(lam=1.0, v_th=float(threshold), v_reset=None)
        self.carry = False
        self.v: torch.Tensor | None = None

    @property
    def threshold(self) -> float:
        return self.cfg.v_th

    def extra_repr(self) -> str:
        return f"threshold={self.threshold:.4g}"

    def reset_state(self) -> None:
        """Forget the carried membrane potential (SpikingNet.readouts calls it before every sequence)."""
        self.v = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spikes, v = run_steps("lif", self.cfg, x, v=self.v if self.carry else None, keep_last=self.carry)
        if self.carry:
            self.v = v
        return spikes.mul_(self.threshold)


def _percentile(values: torch.Tensor, q: float) -> float:
    """Nearest-rank q-th percentile of a 1-D tensor (no size limit, unlike torch.quantile)."""
    k = max(1, math.ceil(q / 100 * values.numel()))
    return float(values.kthvalue(k).values)


@torch.no_grad()
def calibrate(model: SpikingNet, split: Split, spec: DataSpec, *, images: int = 512, percentile: float = 99.9,
              batch_size: int = 256, device: str | torch.device = "cpu", max_values: int = 1 << 24,
              seed: int = 0) -> list[float]:
    """Per-layer thresholds: the ``percentile`` of each ReLU layer's positive activations on the first ``images``.

    A layer with more than ``max_values`` positive activations in all is subsampled uniformly at
    random (per batch, with a fixed seed); a layer that never fires gets threshold 1.
    """
    nodes = model.lif_nodes()
    if not nodes:
        raise SnnDeployError("the model has no spiking layers to convert")
    if images < 1:
        raise SnnDeployError(f"calibration needs at least 1 image, got {images}")
    if not 0 < percentile <= 100:
        raise SnnDeployError(f"percentile must be in (0, 100], got {percentile}")
    n = min(images, len(split))
    subset = Split(split.images[:n], split.labels[:n])
    per_batch = max(1, max_values // math.ceil(n / batch_size))
    gen = torch.Generator().manual_seed(seed)
    kept: list[list[torch.Tensor]] = [[] for _ in nodes]

    def hook(index: int):
        def record(module: nn.Module, inputs: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
            pos = out[out > 0].float().cpu()
            if pos.numel() > per_batch:
                pos = pos[torch.randperm(pos.numel(), generator=gen)[:per_batch]]
            kept[index].append(pos)
        return record

    handles = [node.register_forward_hook(hook(i)) for i, node in enumerate(nodes)]
    try:
        with model.using("ann", training=False):
            for x, _ in iterate_batches(subset, spec, batch_size, shuffle=False, device=device):
                model(x, 1)
    finally:
        for h in handles:
            h.remove()
    out = []
    for values in kept:
        flat = torch.cat(values)
        out.append(_percentile(flat, percentile) if flat.numel() else 1.0)
    return out


def convert(model: SpikingNet, thresholds: list[float]) -> SpikingNet:
    """A copy of ``model`` with every LIFNode (ResNet blocks included) replaced by an IFNode."""
    nodes = model.lif_nodes()
    if len(thresholds) != len(nodes):
        raise SnnDeployError(f"{len(thresholds)} thresholds for {len(nodes)} spiking layers")
    net = copy.deepcopy(model).eval()
    by_node = {id(node): th for node, th in zip(net.lif_nodes(), thresholds, strict=True)}
    for parent in list(net.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, LIFNode):
                setattr(parent, name, IFNode(by_node[id(child)]))
    return net


@contextlib.contextmanager
def carrying(model: SpikingNet) -> Iterator[SpikingNet]:
    """IF layers keep their potential between calls inside the block (and start from zero)."""
    nodes = [m for m in model.modules() if isinstance(m, IFNode)]
    for node in nodes:
        node.carry = True
        node.reset_state()
    try:
        yield model
    finally:
        for node in nodes:
            node.carry = False
            node.reset_state()


def conversion_accuracy(snn: SpikingNet, split: Split, spec: DataSpec, T_max: int = CONVERSION_TS[-1], *,
                        chunk: int = 16, batch_size: int = 8,
                        device: str | torch.device = "cpu") -> list[float]:
    """Accuracy of a converted network at every T = 1..T_max (index T - 1), from one chunked run."""
    if chunk < 1:
        raise SnnDeployError(f"chunk must be >= 1, got {chunk}")
    with carrying(snn):
        return accuracy_by_T(snn, split, spec, T_max, batch_size=batch_size, device=device, chunk=chunk)


def first_T_reaching(accuracies: list[float], target: float) -> int | None:
    """The smallest T whose accuracy is at least ``target`` (accuracies indexed by T - 1), or None."""
    return next((i + 1 for i, acc in enumerate(accuracies) if acc >= target), None)
