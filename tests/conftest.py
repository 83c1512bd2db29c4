"""Shared fixtures: one tiny trained checkpoint for the whole session."""

import pytest

from snndeploy.config import TrainConfig
from snndeploy.train import train


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A small-cnn trained 2 epochs on the sample at lr 1e-3 (about 95% test accuracy; seconds on 2 cores)."""
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(epochs=2, lr=1e-3, out=str(out))
    return train(cfg, show_progress=False)


def make_checkpoint(folder, name: str, shape=(1, 28, 28), classes: int = 10, seed: int = 0):
    """An untrained checkpoint of any architecture, with non-trivial BatchNorm statistics."""
    import torch

    from snndeploy import checkpoint
    from snndeploy.data import DataSpec
    from snndeploy.models import build_model
    from snndeploy.neuron import NeuronConfig

    torch.manual_seed(seed)
    model = build_model(name, shape, classes)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.2, 0.2)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(0.0, 0.5)
    spec = DataSpec("sample", shape[0], shape[1], shape[2], tuple(str(i) for i in range(classes)),
                    (0.5,) * shape[0], (0.25,) * shape[0])
    checkpoint.save(folder, model, {"model": name, "data": spec.to_dict(), "neuron": NeuronConfig().to_dict()})
    return checkpoint.load(folder)
