"""The training step of stage 1, fused: spikes of (input + noise) with the surrogate gradient, in one pass
each way.

Written as ``Fire(Noise(i, w))`` with the ops' own PyTorch forms (``snndeploy.neuron.ops``) and compiled with
``torch.compile`` into one element-wise kernel forward (read I and the unit draws, write spikes) and one
backward (recompute H, apply the surrogate): a ReLU's traffic plus one read. Nothing but the input current
is saved, as a ReLU saves its output. Where compilation is unavailable (no C compiler, or
``SNNDEPLOY_COMPILE=0``) the same functions run eagerly; the result is the same either way.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import Callable
from typing import Any

import torch

from ..core.neuron_config import NeuronConfig
from .ops import Noise, surrogate_grad

_KERNELS: dict[tuple[NeuronConfig, str], tuple[Callable[..., Any], Callable[..., Any]]] = {}
_FAILED: set[str] = set()


def compile_enabled() -> bool:
    """Whether fused kernels are compiled (``SNNDEPLOY_COMPILE=0`` turns it off)."""
    return os.environ.get("SNNDEPLOY_COMPILE", "1") != "0"


def _spikes(cfg: NeuronConfig, i: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    return (Noise.from_unit(cfg, w, i) > cfg.v_th).to(i.dtype)


def _eager(cfg: NeuronConfig) -> tuple[Callable[..., Any], Callable[..., Any]]:
    def forward(i: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return _spikes(cfg, i, w)

    def backward(g: torch.Tensor, i: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return g * surrogate_grad(Noise.from_unit(cfg, w, i), cfg.v_th, cfg.surrogate_a)

    return forward, backward


def compile_available(device: str) -> bool:
    """Whether to compile for ``device`` (enabled, and no earlier compilation failed there)."""
    return compile_enabled() and device not in _FAILED


def compile_failed(device: str, exc: Exception) -> None:
    """Record that compiling for ``device`` failed: say so once, then run the plain ops there."""
    if not compile_available(device):
        raise exc
    warnings.warn(f"torch.compile is unavailable here ({type(exc).__name__}: {exc}); the neuron runs its plain "
                  f"PyTorch ops", RuntimeWarning, stacklevel=3)
    _FAILED.add(device)
    for key in [k for k in _KERNELS if k[1] == device]:
        del _KERNELS[key]


def allow_compiled_variants() -> None:
    """Static shapes give each layer's shapes their own vectorised kernel, so a deep network needs more compiled
    variants of one function than dynamo's default limit of 8 (beyond it, calls would run uncompiled)."""
    dynamo_config = torch._dynamo.config
    dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, 256)
    # the C++ backend's first build on a machine without CUDA logs "No CUDA runtime is found": true and
    # irrelevant to CPU kernels, and it lands in the middle of a command's table
    logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)


def _kernels(cfg: NeuronConfig, device: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
    key = (cfg, device)
    if key not in _KERNELS:
        forward, backward = _eager(cfg)
        if compile_available(device):
            allow_compiled_variants()
            forward, backward = (torch.compile(f, dynamic=False) for f in (forward, backward))
        _KERNELS[key] = (forward, backward)
    return _KERNELS[key]


def _run(which: int, cfg: NeuronConfig, *args: torch.Tensor) -> torch.Tensor:
    device = args[0].device.type
    fn = _kernels(cfg, device)[which]
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - a compiler that cannot run here: fall back, once, loudly
        compile_failed(device, exc)
        return _kernels(cfg, device)[which](*args)


class _NoisyFire(torch.autograd.Function):
    @staticmethod
    def forward(ctx: Any, i: torch.Tensor, w: torch.Tensor, cfg: NeuronConfig) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(i, w)
        ctx.cfg = cfg
        return _run(0, cfg, i, w)

    @staticmethod
    def backward(ctx: Any, g: torch.Tensor) -> tuple[torch.Tensor, None, None]:  # type: ignore[override]
        i, w = ctx.saved_tensors
        return _run(1, ctx.cfg, g.contiguous(), i, w), None, None


def noisy_fire(cfg: NeuronConfig, i: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """Spikes of ``i + N_noise(w)`` (unit draws ``w``, which must not change before backward), differentiable
    in ``i`` through the surrogate of eq. 4; fused when gradients are on, plain ops otherwise."""
    if i.requires_grad and torch.is_grad_enabled():
        return _NoisyFire.apply(i.contiguous(), w, cfg)
    return _spikes(cfg, i, w)
