"""The hostile-input and fault-injection suite (issue 20): the `snndeploy` command run in a subprocess against
planted links, FIFOs, foreign files, YAML/JSON bombs, hostile manifests and kills inside third-party writes.

Every refusal must be one ``error:`` line on stderr with exit 2, no traceback, within the subprocess timeout (a
hang fails instead of blocking the suite), and must change no file outside the run's own folder. Select the
suite with ``-m hostile``; ``scripts/count_cases.py`` counts it by kind (the marker's argument)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hostile_helpers import KINDS


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "hostile(kind): the hostile-input / fault-injection suite (tests/hostile); "
                            f"kind is one of {', '.join(KINDS)}")


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
