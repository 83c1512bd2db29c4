"""The multiply-accumulate count of a network as exported, and the GEMM rate that bounds its speed."""

from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from ..models import SpikingNet


def layer_macs(model: SpikingNet) -> dict[str, int]:
    """Multiply-accumulates of one image through each conv and linear layer in one time step (one dense pass:
    the ANN of the same architecture), by module name, in the order the forward pass runs them."""
    names = {m: n for n, m in model.named_modules()}
    counts: dict[str, int] = {}

    def hook(m: nn.Module, inputs: Any, out: torch.Tensor) -> None:
        if isinstance(m, nn.Conv2d):
            per_out = m.in_channels // m.groups * m.kernel_size[0] * m.kernel_size[1]
        else:
            per_out = m.in_features
        counts[names[m]] = counts.get(names[m], 0) + out.numel() * per_out

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.no_grad(), model.using("stage2"):
            model(torch.zeros(1, *model.input_shape, device=next(model.parameters()).device), 1)
    finally:
        for h in handles:
            h.remove()
    return counts


def macs_per_image(model: SpikingNet, T: int) -> int:
    """Multiply-accumulates of one image through the unrolled network as exported.

    The first layer runs once for all steps and the readout once on the mean spike count; every
    other synaptic layer runs T times.
    """
    once = {n for n, _ in model.stem.named_modules(prefix="stem")} | {"head"}
    return sum(macs if name in once else T * macs for name, macs in layer_macs(model).items())


def gemm_rate(n: int = 1024, repeats: int = 5) -> float:
    """The machine's measured fp32 matrix-multiply rate in MAC/s (PyTorch, all threads)."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t0)
    return n**3 / best
