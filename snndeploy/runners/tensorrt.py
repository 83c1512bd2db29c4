"""TensorRT runner: a plan plus its sidecar, run through Polygraphy's TrtRunner."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core.facts import ArtifactFacts
from ..engine import sidecar
from ..engine.build import _tensorrt, gpu_info
from .base import Runner


class TensorRTRunner(Runner):
    """Runs an engine built by `snndeploy build` on this machine's GPU."""

    backend = "tensorrt"

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._facts, self.info = sidecar.read(self.path)  # checked before anything needs TensorRT
        self._runner: Any = None

    @property
    def facts(self) -> ArtifactFacts:
        return self._facts

    @property
    def min_batch(self) -> int:
        return int(self.info["shapes"]["images"]["min"][0])

    @property
    def max_batch(self) -> int:
        return int(self.info["shapes"]["images"]["max"][0])

    def _activate_impl(self) -> None:
        trt = _tensorrt()
        _, cc = gpu_info()
        sidecar.check_compatible(self.info, trt.__version__, cc, str(self.path))
        from polygraphy.backend.trt import EngineFromBytes, TrtRunner

        self._runner = TrtRunner(EngineFromBytes(self.path.read_bytes()))
        self._runner.activate()

    def _deactivate_impl(self) -> None:
        self._runner.deactivate()
        self._runner = None

    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return np.asarray(self._runner.infer(feeds)["logits"], dtype=np.float32)

    def synchronize(self) -> None:
        """TrtRunner.infer copies outputs to the host, which waits for the stream; nothing more to do."""
