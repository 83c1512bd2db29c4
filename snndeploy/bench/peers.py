"""The same architecture in SpikingJelly (multi-step LIF), the reference a user would otherwise run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.errors import SnnDeployError
from ..models import LIFNode, SpikingNet, TimeFold
from ..runners.torch_runner import TorchRunner


def spikingjelly_available() -> bool:
    """Whether spikingjelly imports."""
    try:
        import spikingjelly.activation_based  # noqa: F401
    except ImportError:
        return False
    return True


def spikingjelly_net(model: SpikingNet) -> nn.Module:
    """Our feed-forward CNN rebuilt with SpikingJelly layers (multi-step mode), sharing weights."""
    from spikingjelly.activation_based import functional, layer, neuron

    def lif() -> nn.Module:
        # tau = 2 gives decay 1 - 1/tau = 0.5; decay_input=False charges H = 0.5 V + I as ours.
        return neuron.LIFNode(tau=2.0, decay_input=False, v_threshold=1.0, v_reset=0.0, step_mode="m")

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
    """SpikingJelly's multi-step LIF inference of one of our feed-forward checkpoints."""

    backend = "spikingjelly-cpu"

    def __init__(self, path: str | Path, T: int = 5) -> None:
        super().__init__(path, T=T, stage=3)
        if not spikingjelly_available():
            raise SnnDeployError("spikingjelly is not installed (pip install spikingjelly)")
        self.net = spikingjelly_net(self.checkpoint.model).eval()
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
