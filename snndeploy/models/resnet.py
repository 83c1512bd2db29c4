"""ResNet-18 in its CIFAR-10 form (3x3 stem, no max-pool) with LIF neurons in place of ReLU."""

from __future__ import annotations

import torch
from torch import nn

from ..core.neuron_config import NeuronConfig
from .emit import Flow, GraphContext, emit_block
from .layers import LIFNode, TimeFold
from .network import SpikingNet


def conv_bn(c_in: int, c_out: int, k: int, stride: int) -> TimeFold:
    """Time-folded conv (no bias) + BatchNorm."""
    return TimeFold(nn.Conv2d(c_in, c_out, k, stride, padding=k // 2, bias=False), nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """conv-BN-LIF-conv-BN plus shortcut, then LIF; all over [T, B, C, H, W]."""

    def __init__(self, c_in: int, c_out: int, stride: int, cfg: NeuronConfig) -> None:
        super().__init__()
        self.conv1, self.lif1 = conv_bn(c_in, c_out, 3, stride), LIFNode(cfg)
        self.conv2, self.lif2 = conv_bn(c_out, c_out, 3, 1), LIFNode(cfg)
        self.shortcut = conv_bn(c_in, c_out, 1, stride) if stride != 1 or c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lif2(self.conv2(self.lif1(self.conv1(x))) + self.shortcut(x))

    def emit(self, g: GraphContext, x: Flow) -> Flow:
        """``forward`` as ONNX nodes (each part through its own emission: a swapped-in layer without one is a
        one-line error)."""
        y = emit_block(g, self.conv2, emit_block(g, self.lif1, emit_block(g, self.conv1, x)))
        shortcut = x if isinstance(self.shortcut, nn.Identity) else emit_block(g, self.shortcut, x)
        return emit_block(g, self.lif2, g.add(y, shortcut, "residual_add"))


def resnet18(input_shape: tuple[int, int, int], num_classes: int, cfg: NeuronConfig) -> SpikingNet:
    """[2, 2, 2, 2] basic blocks of 64/128/256/512 channels, global average pool, linear readout."""
    in_ch = input_shape[0]
    stem = nn.Sequential(nn.Conv2d(in_ch, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64))
    body: list[nn.Module] = [LIFNode(cfg)]
    channels = 64
    for width, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
        body += [BasicBlock(channels, width, stride, cfg), BasicBlock(width, width, 1, cfg)]
        channels = width
    body.append(TimeFold(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
    return SpikingNet(stem, nn.Sequential(*body), nn.Linear(channels, num_classes), input_shape)
