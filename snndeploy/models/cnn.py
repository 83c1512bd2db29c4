"""Plain CNNs: the paper's MNIST/Fashion-MNIST network and a small fast default."""

from __future__ import annotations

from torch import nn

from ..core.neuron_config import NeuronConfig
from .layers import LIFNode, TimeFold
from .network import SpikingNet


def conv_stack(widths: list[int], in_ch: int, input_hw: tuple[int, int], cfg: NeuronConfig, fc: list[int],
               num_classes: int) -> SpikingNet:
    """nC3-AP2 blocks (LIF after each conv), then LIF FC layers and a linear readout."""
    stem = nn.Conv2d(in_ch, widths[0], 3, padding=1)
    body: list[nn.Module] = [LIFNode(cfg), TimeFold(nn.AvgPool2d(2))]
    h, w = input_hw[0] // 2, input_hw[1] // 2
    for c_in, c_out in zip(widths, widths[1:], strict=False):
        body += [TimeFold(nn.Conv2d(c_in, c_out, 3, padding=1)), LIFNode(cfg), TimeFold(nn.AvgPool2d(2))]
        h, w = h // 2, w // 2
    if h < 1 or w < 1:
        raise ValueError(f"input {input_hw} is too small for {len(widths)} pooling stages")
    features = widths[-1] * h * w
    body.append(TimeFold(nn.Flatten()))
    for width in fc:
        body += [TimeFold(nn.Linear(features, width)), LIFNode(cfg)]
        features = width
    return SpikingNet(stem, nn.Sequential(*body), nn.Linear(features, num_classes), (in_ch, *input_hw))


def paper_cnn(input_shape: tuple[int, int, int], num_classes: int, cfg: NeuronConfig) -> SpikingNet:
    """64C3-AP2-128C3-AP2-128C3-AP2-512FC-10FC (paper Table 1, MNIST / Fashion-MNIST)."""
    return conv_stack([64, 128, 128], input_shape[0], input_shape[1:], cfg, [512], num_classes)


def small_cnn(input_shape: tuple[int, int, int], num_classes: int, cfg: NeuronConfig) -> SpikingNet:
    """32C3-AP2-64C3-AP2-256FC-10FC: the fast default for the bundled sample."""
    return conv_stack([32, 64], input_shape[0], input_shape[1:], cfg, [256], num_classes)
