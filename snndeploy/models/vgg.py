"""VGG-16 in its CIFAR-10 form with LIF neurons in place of ReLU."""

from __future__ import annotations

from torch import nn

from ..core.neuron_config import NeuronConfig
from .layers import LIFNode, TimeFold
from .network import SpikingNet

VGG16 = [64, 64, "P", 128, 128, "P", 256, 256, 256, "P", 512, 512, 512, "P", 512, 512, 512, "P"]


def vgg16(input_shape: tuple[int, int, int], num_classes: int, cfg: NeuronConfig) -> SpikingNet:
    """3x3 conv + BatchNorm + LIF blocks, 2x2 average pooling of spikes, global pool, linear readout."""
    in_ch, height, width = input_shape
    if min(height, width) < 2 ** VGG16.count("P"):
        raise ValueError(f"VGG-16 needs inputs of at least 32x32, got {height}x{width}")
    stem = nn.Sequential(nn.Conv2d(in_ch, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64))
    body: list[nn.Module] = [LIFNode(cfg)]
    channels = 64
    for item in VGG16[1:]:
        if item == "P":
            body.append(TimeFold(nn.AvgPool2d(2)))
        else:
            body += [TimeFold(nn.Conv2d(channels, item, 3, padding=1, bias=False), nn.BatchNorm2d(item)), LIFNode(cfg)]
            channels = item
    body.append(TimeFold(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
    return SpikingNet(stem, nn.Sequential(*body), nn.Linear(channels, num_classes), input_shape)
