"""The same architecture in SpikingJelly (multi-step LIF), the reference a user would otherwise run."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ...core.errors import SnnDeployError
from ...core.install import hint
from ...models import LIFNode, SpikingNet, TimeFold
from ...runners.base import BackendUnavailable
from ...runners.torch_runner import TorchRunner


def spikingjelly_available() -> bool:
    """Whether spikingjelly imports."""
    try:
        import spikingjelly.activation_based  # noqa: F401
    except ImportError:
        return False
    return True


def _lif_takes_backend() -> bool:
    from spikingjelly.activation_based import neuron

    return "backend" in inspect.signature(neuron.LIFNode.__init__).parameters


def spikingjelly_backends() -> dict[str, str | None]:
    """SpikingJelly's multi-step LIF backends by name, each with why SpikingJellyRunner (CPU) cannot run it, or
    None where it runs; empty where spikingjelly is not installed.

    Up to 0.0.0.0.14 ``LIFNode`` takes ``backend`` ('torch'; 'cupy' on CUDA with CuPy). From 2.0 it takes none:
    the tensor's device picks the implementation, the Torch reference on CPU and, on CUDA, 'cuda', 'triton' or
    'torch' as the environment variable SJ_LIF_CUDA_IMPLEMENTATION says (read once, when spikingjelly is imported).
    """
    if not spikingjelly_available():
        return {}
    from spikingjelly.activation_based import neuron

    names = tuple(neuron.LIFNode(step_mode="m").supported_backends) if _lif_takes_backend() else (
        "torch", "cuda", "triton")
    return {name: None if name == "torch" else f"SpikingJelly's '{name}' LIF backend needs CUDA; this peer runs on CPU"
            for name in names}


def spikingjelly_net(model: SpikingNet, backend: str = "torch") -> nn.Module:
    """Our feed-forward CNN rebuilt with SpikingJelly layers (multi-step mode), sharing weights; ``backend`` is
    the LIF backend of SpikingJelly releases whose ``LIFNode`` takes one (spikingjelly_backends)."""
    from spikingjelly.activation_based import functional, layer, neuron

    choice = {"backend": backend} if _lif_takes_backend() else {}
    if not choice and backend != "torch":
        raise SnnDeployError(f"SpikingJelly's LIFNode takes no backend here (the device picks it), got '{backend}'")

    def lif() -> nn.Module:
        # tau = 2 gives decay 1 - 1/tau = 0.5; decay_input=False charges H = 0.5 V + I as ours.
        return neuron.LIFNode(tau=2.0, decay_input=False, v_threshold=1.0, v_reset=0.0, step_mode="m", **choice)

    def convert(m: nn.Module) -> nn.Module:
        if isinstance(m, LIFNode):
            return lif()
        if isinstance(m, TimeFold):
            return layer.SeqToANNContainer(m.op)
        raise SnnDeployError(f"no SpikingJelly equivalent for {type(m).__name__}")

    layers = [layer.SeqToANNContainer(model.stem)] + [convert(m) for m in model.body]
    net = nn.Sequential(*layers)
    functional.set_step_mode(net, "m")
    return net


class SpikingJellyRunner(TorchRunner):
    """SpikingJelly's multi-step LIF inference of one of our feed-forward checkpoints, with one of its LIF
    backends (spikingjelly_backends); one that cannot run here raises BackendUnavailable."""

    backend = "spikingjelly-cpu"

    def __init__(self, path: str | Path, T: int = 5, lif_backend: str = "torch") -> None:
        backends = spikingjelly_backends()
        if not backends:
            raise BackendUnavailable(f"spikingjelly is not installed ({hint('peers')})")
        if lif_backend not in backends:
            raise SnnDeployError(f"unknown SpikingJelly LIF backend '{lif_backend}'; choose one of: "
                                 f"{', '.join(backends)}")
        if (why := backends[lif_backend]) is not None:
            raise BackendUnavailable(why)
        super().__init__(path, T=T, stage=3, compiled=False)  # SpikingJelly as it runs itself
        self.lif_backend = lif_backend
        self.net = spikingjelly_net(self.checkpoint.model, lif_backend).eval()
        self.head = self.checkpoint.model.head

    def fed_shapes(self) -> dict[str, tuple[int, ...]]:
        """SpikingJelly's plain LIF draws no noise, so none can be fed."""
        return {}

    @torch.no_grad()
    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        from spikingjelly.activation_based import functional

        x = torch.from_numpy(feeds["images"])
        seq = x.unsqueeze(0).repeat(self.T, 1, 1, 1, 1)  # direct encoding: the image at every step
        out = self.net(seq)
        functional.reset_net(self.net)
        return self.head(out.flatten(2)).mean(0).numpy()


def peer_runners() -> dict[str, Any]:
    """Installed peers by name."""
    return {"spikingjelly": SpikingJellyRunner} if spikingjelly_available() else {}
