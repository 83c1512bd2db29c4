"""The raw noise draws of each noise kind, defined once: the NumPy form (what runners feed a ``--noise input``
graph, with no PyTorch) and the PyTorch form (training's fresh draws, noise banks, an export's frozen noise)
side by side, so both always draw the same distribution for a kind.

The PyTorch form fills a tensor its caller made (in place, from that tensor's device generator or the one
given), so this module imports no PyTorch at all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch

# Each noise kind's raw draw, as (numpy.random.Generator method, torch.Tensor in-place method):
# gaussian: standard normal N(0, 1); uniform: U[0, 1). Unit draws and the noise ops are affine maps of these.
RAW: dict[str, tuple[str, str]] = {"gaussian": ("standard_normal", "normal_"), "uniform": ("random", "uniform_")}


def numpy_draws(kind: str, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Raw float32 draws of noise ``kind`` shaped ``shape``, from ``rng``."""
    return getattr(rng, RAW[kind][0])(shape, dtype=np.float32)


def torch_draws(kind: str, out: torch.Tensor, generator: Any = None) -> torch.Tensor:
    """Fill ``out`` with raw draws of noise ``kind`` (from ``generator``, or the global generator of its device)
    and return it. ``torch.randn``/``torch.rand`` with the same generator give the same numbers."""
    return getattr(out, RAW[kind][1])(generator=generator)
