"""A bank of pre-drawn unit draws, read at random offsets: fresh-looking noise at the cost of a view.

Drawing Gaussian numbers costs more than the element-wise neuron itself, so a layer draws a bank of
``rows`` samples of unit draws once (``snndeploy.neuron.ops.unit_rows``: each row spans [-1, 1] as one
sample's draws do) and, at every call, takes ``batch * n`` consecutive values starting at a random offset.
A window of independent draws is itself a set of independent draws with the same distribution, so each
element of the noise is distributed exactly as a fresh one and lies in [-1, 1]; the randomness is the
offset (``(rows - batch) * n + 1`` choices per call), and training renews the bank every epoch. Only the
exact per-sample span is lost where a window straddles two rows (docs/design.md 1.2). The exported
``--noise graph`` reads the same kind of bank with ``RandomUniform`` and a dynamic ``Slice``
(``snndeploy.export.graph``).
"""

from __future__ import annotations

import torch

from ..core.neuron_config import NeuronConfig
from .ops import NoiseWindow, unit_rows


def bank_rows(batch: int) -> int:
    """Rows a bank holds for calls of up to ``batch`` samples: the batch plus room for random offsets."""
    return batch + max(32, batch // 2)


class NoiseBank:
    """Unit draws of one layer (``n`` per sample), ``rows`` samples, on one device and float type."""

    def __init__(self, cfg: NeuronConfig, n: int, rows: int, *, device: torch.device | str = "cpu",
                 dtype: torch.dtype = torch.float32, generator: torch.Generator | None = None) -> None:
        self.cfg, self.n, self.rows = cfg, n, rows
        self.data = unit_rows(cfg, rows, n, generator).to(device=device, dtype=dtype).reshape(-1)

    def fits(self, cfg: NeuronConfig, like: torch.Tensor) -> bool:
        """Whether this bank serves unit draws shaped like ``like`` ([B, ...]) for ``cfg``'s noise kind."""
        return (self.cfg.noise == cfg.noise and like[0].numel() == self.n and like.shape[0] <= self.rows
                and self.data.device == like.device and self.data.dtype == like.dtype)

    def window(self, like: torch.Tensor) -> torch.Tensor:
        """Unit draws shaped like ``like``: a contiguous view of the bank at a random offset (global RNG)."""
        return NoiseWindow.torch(self.cfg, self.data, like)


def bank_for(bank: NoiseBank | None, cfg: NeuronConfig, like: torch.Tensor) -> NoiseBank:
    """``bank`` if it serves ``like``, else a new one sized for its batch (drawn from the global RNG)."""
    if bank is not None and bank.fits(cfg, like):
        return bank
    return NoiseBank(cfg, like[0].numel(), bank_rows(like.shape[0]), device=like.device, dtype=like.dtype)
