"""One Runner interface for every backend: load, infer, metadata (after Polygraphy's runners)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import numpy as np

from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts
from ..core.spec import DataSpec


@dataclass(frozen=True)
class TensorInfo:
    """Name, shape (None for a dynamic axis) and numpy dtype of one input or output."""

    name: str
    shape: tuple[int | None, ...]
    dtype: str


class Runner(ABC):
    """Runs one artifact: images [B, C, H, W] float32 (normalised) -> logits [B, classes]."""

    backend: str = "?"

    def __init__(self) -> None:
        self.loaded = False

    @property
    @abstractmethod
    def facts(self) -> ArtifactFacts:
        """The facts of what runs: model, data spec, neuron, T, stage, noise mode, precision."""

    @property
    def spec(self) -> DataSpec:
        return self.facts.data

    @property
    def T(self) -> int:
        T = self.facts.T
        if T is None:  # only a checkpoint's record lacks T; readers refuse such graphs and TorchRunner sets one
            raise SnnDeployError(f"{self.backend} runner of '{self.facts.model}' has no T")
        return T

    @property
    def precision(self) -> str:
        return self.facts.precision

    @abstractmethod
    def load(self) -> Runner:
        """Prepare the backend (sessions, engines, device memory)."""

    @abstractmethod
    def _infer(self, images: np.ndarray, noise: dict[str, np.ndarray] | None) -> np.ndarray:
        """Backend-specific inference on checked inputs."""

    def inputs(self) -> list[TensorInfo]:
        """The artifact's inputs: images, plus raw noise draws for ``--noise input`` graphs."""
        noise = [TensorInfo(k, (None, *s), "float32") for k, s in self.noise_inputs().items()]
        return [TensorInfo("images", (None, *self.spec.input_shape), "float32"), *noise]

    def noise_inputs(self) -> dict[str, tuple[int, ...]]:
        """Per-sample shapes of the raw-draw inputs, if the artifact takes noise as input."""
        return dict(self.facts.noise_inputs)

    def check_input(self, images: np.ndarray) -> np.ndarray:
        """Shape, dtype and finiteness against the artifact's metadata."""
        expected = self.spec.input_shape
        if not isinstance(images, np.ndarray):
            raise SnnDeployError(f"images must be a numpy array, got {type(images).__name__}")
        if images.ndim != 4 or tuple(images.shape[1:]) != tuple(expected):
            want = ", ".join(map(str, expected))
            raise SnnDeployError(f"images must have shape [B, {want}], got {list(images.shape)}")
        if images.dtype != np.float32:
            raise SnnDeployError(f"images must be float32, got {images.dtype}")
        if not np.isfinite(images).all():
            raise SnnDeployError("images contain NaN or infinite values")
        return np.ascontiguousarray(images)

    def infer(self, images: np.ndarray, noise: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Logits [B, classes] for a checked batch of normalised images."""
        if not self.loaded:
            self.load()
        return self._infer(self.check_input(images), noise)

    def draw_noise(self, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray] | None:
        """Fresh raw draws for every noise input (None when the graph draws its own)."""
        shapes = self.noise_inputs()
        if not shapes:
            return None
        kind = self.facts.neuron.noise
        gen = rng.standard_normal if kind == "gaussian" else rng.random
        return {k: gen((batch, *s), dtype=np.float32) for k, s in shapes.items()}
