"""Each module's ONNX emission against its own PyTorch forward (snndeploy.models.emit), without the exporter."""

import numpy as np
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper
from torch import nn

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.neuron_config import NeuronConfig
from snndeploy.models import MODELS, LIFNode, SpikingNet, TimeFold, build_model
from snndeploy.models.emit import GraphContext
from snndeploy.neuron.onnx_builder import Builder

SHAPES = {"small-cnn": (1, 28, 28), "paper-cnn": (1, 28, 28), "vgg16": (3, 32, 32), "resnet18": (3, 32, 32)}


def no_neurons(layer, shape, cfg):
    raise AssertionError("the ann mode emits no neuron ops")


def emitted(model: SpikingNet, T: int, x: np.ndarray) -> np.ndarray:
    """The model's own emission over T steps, run by ONNX Runtime on x."""
    b = Builder(17)
    g = GraphContext(b, T, model.spiking_shapes(), no_neurons)
    logits = model.emit(g, "images")
    b.nodes.append(helper.make_node("Identity", [logits], ["logits"]))
    graph = helper.make_graph(b.nodes, "m", [helper.make_tensor_value_info("images", TensorProto.FLOAT,
                                                                           ["batch", *model.input_shape])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 10])],
                              b.initializers)
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    return ort.InferenceSession(proto.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(
        None, {"images": x})[0]


def with_batch_statistics(model: SpikingNet) -> SpikingNet:
    for m in model.modules():  # BatchNorm folding is only checked by statistics other than the identity
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(0.0, 0.5)
    return model.eval()


@pytest.mark.parametrize("name", list(MODELS))
def test_every_model_emits_its_forward(name):
    # The ANN mode (ReLU neurons) has no noise and no threshold: a wiring, folding or readout error in any
    # block's emission moves the logits, and nothing else can.
    torch.manual_seed(0)
    model = with_batch_statistics(build_model(name, SHAPES[name], 10)).set_mode("ann")
    x = torch.randn(3, *SHAPES[name])
    with torch.no_grad():
        ref = model(x, 3).numpy()
    got = emitted(model, 3, x.numpy())
    assert np.allclose(got, ref, rtol=1e-4, atol=1e-4 * np.abs(ref).max()), np.abs(got - ref).max()


def test_a_block_without_emission_is_one_line():
    cfg = NeuronConfig()
    stem = nn.Conv2d(1, 4, 3, padding=1)
    head = nn.Linear(4 * 8 * 8, 10)
    unknown_block = SpikingNet(stem, nn.Sequential(LIFNode(cfg), nn.ReLU(), TimeFold(nn.Flatten())), head, (1, 8, 8))
    with pytest.raises(SnnDeployError, match="^cannot export block ReLU$"):
        emitted(unknown_block.set_mode("ann"), 2, np.zeros((1, 1, 8, 8), np.float32))
    unknown_layer = SpikingNet(stem, nn.Sequential(LIFNode(cfg), TimeFold(nn.MaxPool2d(1), nn.Flatten())), head,
                               (1, 8, 8))
    with pytest.raises(SnnDeployError, match="^cannot export layer MaxPool2d$"):
        emitted(unknown_layer.set_mode("ann"), 2, np.zeros((1, 1, 8, 8), np.float32))
