"""Model registry: every architecture by name, one definition for training, inference and export."""

from __future__ import annotations

from collections.abc import Callable

from ..core.errors import SnnDeployError
from ..core.neuron_config import NeuronConfig
from ..neuron import MODES
from .cnn import paper_cnn, small_cnn
from .layers import LIFNode, TimeFold
from .network import SpikingNet
from .resnet import resnet18
from .vgg import vgg16

Builder = Callable[[tuple[int, int, int], int, NeuronConfig], SpikingNet]
MODELS: dict[str, Builder] = {
    "small-cnn": small_cnn,
    "paper-cnn": paper_cnn,
    "vgg16": vgg16,
    "resnet18": resnet18,
}


def build_model(name: str, input_shape: tuple[int, int, int], num_classes: int,
                cfg: NeuronConfig | None = None) -> SpikingNet:
    """Build a registered architecture for the given input shape (C, H, W) and class count."""
    if name not in MODELS:
        raise SnnDeployError(f"unknown model '{name}'; choose one of: {', '.join(MODELS)}")
    try:
        return MODELS[name](tuple(input_shape), num_classes, cfg or NeuronConfig())
    except ValueError as exc:
        raise SnnDeployError(f"model '{name}': {exc}") from None


__all__ = ["MODELS", "MODES", "LIFNode", "SpikingNet", "TimeFold", "build_model"]
