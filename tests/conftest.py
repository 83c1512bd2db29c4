
"""Shared fixtures: one tiny trained checkpoint for the whole session."""

import dataclasses
import os
from pathlib import Path

import pytest
from hypothesis import settings

from snndeploy.core.config import TrainConfig
from snndeploy.training.train import train

# Compiling a kernel per layer shape takes seconds, and most tests build new shapes: the suite runs the plain
# ops, and the tests of the compiled paths turn compilation on themselves (``compiled`` below). Subprocesses
# (the CLI tests) inherit the setting.
os.environ.setdefault("SNNDEPLOY_COMPILE", "0")

# The fuzz suites draw the same examples on every run (a CI verdict must not depend on the day's luck);
# SNNDEPLOY_HYPOTHESIS=explore draws new ones each run, to look for bugs rather than to guard against them.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("SNNDEPLOY_HYPOTHESIS", "ci"))


@pytest.fixture
def compiled(monkeypatch):
    """Compile the neuron kernels in this test (torch.compile with its C++ backend)."""
    monkeypatch.setenv("SNNDEPLOY_COMPILE", "1")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A small-cnn trained 2 epochs on the sample at lr 1e-3 (about 95% test accuracy; seconds on 2 cores)."""
    out = tmp_path_factory.mktemp("run")
    cfg = TrainConfig(epochs=2, lr=1e-3, out=str(out))
    return train(cfg, show_progress=False)


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """A wheel of the source tree, built offline (tests/wheel_runtime.py)."""
    from wheel_runtime import build_wheel

    return build_wheel(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def runtime(tmp_path_factory, wheel):
    """The wheel with its [cpu] extra and without PyTorch in a fresh virtual environment (tests/wheel_runtime.py)."""
    from wheel_runtime import install_runtime

    return install_runtime(tmp_path_factory.mktemp("runtime") / "venv", wheel)


@pytest.fixture
def engine_with_sidecar(tmp_path, tiny_run):
    """A stand-in plan file with a real sidecar (TensorRT 10.3, Orin, sm 8.7) from a real export."""
    import onnx

    from snndeploy.artifacts import metadata, sidecar
    from snndeploy.export.exporter import ExportConfig, export

    (e,) = export(tiny_run.path, ExportConfig(out=str(tmp_path / "onnx")))
    plan = tmp_path / "model.plan"
    plan.write_bytes(b"not a real plan")
    shapes = {"images": {"min": [1, 1, 28, 28], "opt": [1, 1, 28, 28], "max": [64, 1, 28, 28]}}
    sidecar.write(plan, metadata.read(onnx.load(e.path)),
                  {"tensorrt": "10.3.0", "gpu": "Orin", "compute_capability": "8.7", "shapes": shapes,
                   "onnx_sha256": "0" * 64, "plan_sha256": "0" * 64, "max_batch": 64})
    return plan


def make_checkpoint(folder, name: str, shape=(1, 28, 28), classes: int = 10, seed: int = 0):
    """An untrained checkpoint of any architecture, with non-trivial BatchNorm statistics."""
    import torch

    from snndeploy.core.facts import ArtifactFacts
    from snndeploy.core.neuron_config import NeuronConfig
    from snndeploy.core.spec import DataSpec
    from snndeploy.models import build_model
    from snndeploy.training import checkpoint

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
    checkpoint.save(folder, model, ArtifactFacts(model=name, data=spec, neuron=NeuronConfig()))
    return checkpoint.load(folder)


# The hostile suite's (tests/hostile) one trained run: here, because a second conftest.py would shadow this
# module for the tests that import `conftest` by name.
@dataclasses.dataclass
class Tiny:
    """The session's tiny trained run and its exported graph (read-only: tests copy them)."""

    run: Path
    onnx: Path


@pytest.fixture(scope="session")
def tiny(tmp_path_factory) -> Tiny:
    """A small-cnn trained 1 epoch on 128 sample images (in-process: seconds), and its T=2 ONNX graph."""
    from snndeploy.core.config import TrainConfig
    from snndeploy.export.exporter import ExportConfig, export
    from snndeploy.training.train import train

    base = tmp_path_factory.mktemp("hostile-tiny")
    trained = train(TrainConfig(epochs=1, limit_train=128, limit_test=64, lr=1e-3, out=str(base / "run")),
                    show_progress=False)
    (graph,) = export(trained.path, ExportConfig(T=(2,), out=str(base / "onnx")))
    return Tiny(trained.path.parent, Path(graph.path))
