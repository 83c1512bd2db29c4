"""The one neuron step of every mode, written once over a backend: PyTorch tensors or ONNX nodes.

``step`` holds the recurrence (which noise, when the potential is normalised, when to reset); a backend
(``TorchOps`` here, the exporter's graph backend in ``snndeploy.export.graph``) says how each op of
``snndeploy.neuron.ops`` runs. The model's spiking layers, the ONNX exporter and the ANN-to-SNN conversion
all call this function, so their neurons cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import torch

from ..core.neuron_config import NeuronConfig
from .fused import allow_compiled_variants, compile_available, compile_failed, noisy_fire
from .ops import Charge, Fire, Noise, PotentialNorm, Reset, ResidualNoise

# stage1: noisy single step (training, T = 1); stage2: fresh noise each step, no coupling;
# stage3: LIF recurrence with the potential normalised (eqs. 7-10); lif: plain LIF (BPTT, and with
# lam = 1 and a soft reset the integrate-and-fire neuron of ANN-to-SNN conversion); ann: ReLU.
MODES = ("stage1", "stage2", "stage3", "lif", "ann")


class StepOps(Protocol):
    """What a backend provides to ``step``; tensors are whatever the backend computes with."""

    def add(self, a: Any, b: Any) -> Any: ...
    def noisy(self, t: int, i: Any) -> Any: ...  # i + N_noise
    def noisy_fire(self, t: int, i: Any) -> Any: ...  # fire(noisy(t, i)), where H is not needed afterwards
    def residual(self, t: int, i: Any) -> Any: ...  # N', shaped like i
    def potential_norm(self, v: Any) -> Any: ...  # N(lam V)
    def charge(self, v: Any, i: Any) -> Any: ...  # lam V + I
    def fire(self, h: Any) -> Any: ...  # spikes
    def reset(self, h: Any, s: Any) -> Any: ...  # V after the spikes


def keeps_potential(mode: str, cfg: NeuronConfig) -> bool:
    """Whether the mode carries a membrane potential from step to step.

    Stage 3 with alpha = inf has a constant normalised potential (beta): its H is beta plus a residual
    noise spanning the whole range, the same distribution as stage 2, so it runs as stage 2.
    """
    return mode == "lif" or (mode == "stage3" and not math.isinf(cfg.alpha))


def step(ops: StepOps, mode: str, cfg: NeuronConfig, t: int, i: Any, v: Any | None,
         need_v: bool = True) -> tuple[Any, Any | None]:
    """One time step of one spiking layer: input current ``i``, potential ``v`` (None at the first step).

    Returns the spikes and the potential for the next step (None when the mode keeps none, or when
    ``need_v`` is False because no step follows).
    """
    keep = keeps_potential(mode, cfg)
    if mode == "lif":
        h = i if v is None else ops.charge(v, i)
    elif keep and v is not None:
        h = ops.add(ops.potential_norm(v), i)
        if cfg.residual > 0:
            h = ops.add(h, ops.residual(t, i))
    elif not keep:
        return ops.noisy_fire(t, i), None
    else:
        h = ops.noisy(t, i)
    s = ops.fire(h)
    return s, (ops.reset(h, s) if keep and need_v else None)


# (t, like) -> unit draws shaped like ``like`` (``snndeploy.neuron.ops.unit``: in [-1, 1])
Draw = Callable[[int, torch.Tensor], torch.Tensor]


class TorchOps:
    """``step`` on PyTorch tensors ``[B, ...]``; unit draws come from ``draw``."""

    def __init__(self, cfg: NeuronConfig, draw: Draw | None = None) -> None:
        self.cfg, self.draw = cfg, draw

    def _draws(self, t: int, like: torch.Tensor) -> torch.Tensor:
        if self.draw is None:
            raise RuntimeError("this mode draws noise: give TorchOps a draw function")
        return self.draw(t, like)

    def add(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a + b

    def noisy(self, t: int, i: torch.Tensor) -> torch.Tensor:
        return Noise.from_unit(self.cfg, self._draws(t, i), base=i)

    def noisy_fire(self, t: int, i: torch.Tensor) -> torch.Tensor:
        return noisy_fire(self.cfg, i, self._draws(t, i))

    def residual(self, t: int, i: torch.Tensor) -> torch.Tensor:
        return ResidualNoise.from_unit(self.cfg, self._draws(t, i))

    def potential_norm(self, v: torch.Tensor) -> torch.Tensor:
        return PotentialNorm.torch(self.cfg, v)

    def charge(self, v: torch.Tensor, i: torch.Tensor) -> torch.Tensor:
        return Charge.torch(self.cfg, v, i)

    def fire(self, h: torch.Tensor) -> torch.Tensor:
        return Fire.torch(self.cfg, h)

    def reset(self, h: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        return Reset.torch(self.cfg, h, s)


_COMPILED: dict[tuple[Any, ...], Callable[..., Any]] = {}


def _compiled_step(mode: str, cfg: NeuronConfig, first: bool, need_v: bool) -> Callable[..., Any]:
    """``step`` compiled for inference: (i, v, unit draws) -> (spikes, v), one kernel per reduction and one
    for the element-wise rest. The draws come in as a tensor, so a new noise window does not recompile."""
    key = (mode, cfg, first, need_v)
    if key not in _COMPILED:
        def one(i: torch.Tensor, v: torch.Tensor | None, w: torch.Tensor | None, out: torch.Tensor) -> Any:
            s, v = step(TorchOps(cfg, lambda t, like: w), mode, cfg, 0 if first else 1, i, v, need_v)
            out.copy_(s)  # written in place by the same kernel: no stacking of the steps afterwards
            return v

        allow_compiled_variants()
        _COMPILED[key] = torch.compile(one, dynamic=False)
    return _COMPILED[key]


def run_steps(mode: str, cfg: NeuronConfig, x: torch.Tensor, draw: Draw | None = None,
              v: torch.Tensor | None = None, keep_last: bool = False,
              compiled: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``step`` over every t of ``x`` [T, B, ...] from potential ``v``: spikes [T, B, ...] and, with
    ``keep_last`` (to continue in another call), the potential after the last step.

    ``compiled`` (inference only, gradients off): each step runs as a compiled kernel (``torch.compile``),
    falling back to the plain ops where compilation is unavailable (``snndeploy.neuron.fused``)."""
    if compiled and not torch.is_grad_enabled() and compile_available(x.device.type):
        try:
            return _run_compiled(mode, cfg, x, draw, v, keep_last)
        except Exception as exc:  # noqa: BLE001 - no compiler here: start again with the plain ops
            compile_failed(x.device.type, exc)
    ops = TorchOps(cfg, draw)
    spikes = []
    T = x.shape[0]
    for t in range(T):
        s, v = step(ops, mode, cfg, t, x[t], v, need_v=keep_last or t < T - 1)
        spikes.append(s)
    return spikes[0].unsqueeze(0) if len(spikes) == 1 else torch.stack(spikes), v


def _run_compiled(mode: str, cfg: NeuronConfig, x: torch.Tensor, draw: Draw | None, v: torch.Tensor | None,
                  keep_last: bool) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``run_steps`` through ``_compiled_step``, each step writing its spikes into one output tensor."""
    # Compiled per-sample reductions are fast on contiguous memory and slow across channels-last strides
    # (27x measured). A step is per element or over a whole sample, so it runs on [B, H, W, C], the
    # contiguous view of channels-last memory, and the spikes go back as a channels-last view: no copies.
    cl = x.dim() == 5 and not x[0].is_contiguous() and x[0].is_contiguous(memory_format=torch.channels_last)
    given = x
    if cl:
        x = x.permute(0, 1, 3, 4, 2)
        v = None if v is None else v.permute(0, 2, 3, 1)
    x = x[0].contiguous().unsqueeze(0).expand_as(x) if x.stride(0) == 0 else x.contiguous()
    out = torch.empty(x.shape, dtype=x.dtype, device=x.device)

    def drawn(t: int) -> torch.Tensor | None:  # draws are made (and fed) in the layer's own layout
        if mode == "lif" or draw is None:
            return None
        w = draw(t, given[t])
        return w.permute(0, 2, 3, 1) if cl else w

    T = x.shape[0]
    for t in range(T):
        v = _compiled_step(mode, cfg, v is None, keep_last or t < T - 1)(x[t], v, drawn(t), out[t])
    if cl:
        return out.permute(0, 1, 4, 2, 3), (None if v is None else v.permute(0, 3, 1, 2))
    return out, v
