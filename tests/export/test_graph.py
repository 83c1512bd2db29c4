"""The exporter writes whatever network its modules emit: a block it has never heard of exports through its own
``emit``, and a residual block in any place is wired as PyTorch runs it."""

import numpy as np
import onnxruntime as ort
import pytest
import torch
from torch import nn

from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.export.graph import GraphSpec, build_model_proto, fed_noise
from snndeploy.models import LIFNode, SpikingNet, TimeFold
from snndeploy.models.emit import Flow, GraphContext
from snndeploy.models.resnet import BasicBlock


class Gain(nn.Module):
    """A block the exporter does not know: doubles its input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 2

    def emit(self, g: GraphContext, x: Flow) -> Flow:
        return Flow(g.b.op("Mul", [x.name, g.b.const(2.0, "two")], "gain"), x.folded)


def exported_and_torch(model: SpikingNet, T: int, stage: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """PyTorch's and ONNX Runtime's logits of a --noise input export on the same images and raw draws."""
    torch.manual_seed(0)
    model.eval()
    proto = build_model_proto(model, GraphSpec(T=T, stage=stage, neuron=NeuronConfig(), noise="input"))
    rng = np.random.default_rng(0)
    feeds = {"images": rng.standard_normal((8, *model.input_shape)).astype(np.float32) * 2}
    for i in proto.graph.input[1:]:
        feeds[i.name] = rng.standard_normal((8, *(d.dim_value for d in i.type.tensor_type.shape.dim[1:]))).astype(
            np.float32)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    got = ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    with torch.no_grad(), fed_noise(model, feeds), model.using(f"stage{stage}"):
        ref = model(torch.from_numpy(feeds["images"]), T).numpy()
    return ref, got


@pytest.mark.parametrize("T", [1, 3])
def test_a_new_block_exports_through_its_own_emit(T):
    cfg = NeuronConfig()
    body = nn.Sequential(LIFNode(cfg), Gain(), TimeFold(nn.Conv2d(4, 4, 3, padding=1)), LIFNode(cfg),
                         TimeFold(nn.Flatten()))
    model = SpikingNet(nn.Conv2d(1, 4, 3, padding=1), body, nn.Linear(4 * 6 * 6, 10), (1, 6, 6))
    ref, got = exported_and_torch(model, T)
    assert np.abs(ref - got).max() <= 1e-4


@pytest.mark.parametrize("stage", [2, 3])
def test_a_residual_block_right_after_the_stem(stage):
    # The block's input is the stem's output, the same at every step; its shortcut (identity) meets the folded
    # steps of its second convolution.
    cfg = NeuronConfig()
    body = nn.Sequential(BasicBlock(4, 4, 1, cfg), TimeFold(nn.AdaptiveAvgPool2d(1), nn.Flatten()))
    model = SpikingNet(nn.Conv2d(1, 4, 3, padding=1), body, nn.Linear(4, 10), (1, 6, 6))
    ref, got = exported_and_torch(model, 3, stage)
    assert np.abs(ref - got).max() <= 1e-4
