"""Shared fixtures: one tiny trained checkpoint for the whole session."""

import pytest

from snndeploy.config import TrainConfig
from snndeploy.train import train


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A small-cnn trained 2 epochs on 600 sample images (a few seconds on 2 cores)."""
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(epochs=2, limit_train=600, limit_test=200, lr=1e-3, out=str(out))
    return train(cfg, show_progress=False)
