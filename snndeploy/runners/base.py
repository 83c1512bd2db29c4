"""One Runner interface for every backend, with a lifecycle (after Polygraphy's BaseRunner,
NVIDIA/TensorRT tools/Polygraphy/polygraphy/backend/base/runner.py).

The API every backend builds on:

* Lifecycle: ``activate()`` (returns the runner) / ``deactivate()``, or ``with runner: ...``. Subclasses
  implement ``_activate_impl`` (sessions, engines, device memory) and may implement ``_deactivate_impl``
  (free them); ``is_active`` says where the runner stands. Activating an active runner and deactivating an
  inactive one do nothing. ``infer`` on an inactive runner is refused.
* Inference: ``infer(images, noise=None) -> logits [B, classes]``. Every feed (``images`` and each raw-draw
  noise input) is checked against ONE description, ``inputs()`` (a list of TensorInfo built from
  ``self.facts``): names, per-sample shape, dtype, finiteness, one batch size for all feeds, and the batch
  limits ``min_batch`` <= B <= ``max_batch``. Subclasses implement ``_infer_impl(feeds)`` on checked,
  contiguous arrays keyed by input name (``"images"`` plus the noise names).
* Batch limits: ``max_batch`` is None (unbounded) for a dynamic-batch graph; a fixed-batch graph gives its
  batch for both limits, an engine its profile's range. ``infer_batches(images, rng)`` runs any number of
  images in chunks of at most ``max_batch``; a short last chunk below ``min_batch`` is padded with zero images
  whose logits are dropped (every layer is per-sample at inference, so padding changes no real row).
* Per-image noise: ``infer_seeded(images, seed)`` gives each image logits that depend on the seed and its
  index only, never on the other images of the call (what ``snndeploy infer`` reports).
* ``synchronize()`` waits for queued device work (no-op by default); timers call it.
* A backend that cannot run on this machine (no GPU, a missing provider, no TensorRT) raises
  ``BackendUnavailable`` (a SnnDeployError), which ``snndeploy bench`` turns into a status row.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..core import validate
from ..core.draws import numpy_draws
from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts
from ..core.spec import DataSpec


class BackendUnavailable(SnnDeployError):
    """The backend cannot run here (hardware or package missing); not a defect of the artifact or the code."""


@dataclass(frozen=True)
class TensorInfo:
    """One input: name, shape with the batch axis first (None where dynamic), numpy dtype name.

    ``optional`` inputs are fed all together or not at all (a PyTorch runner draws its own noise unless fed).
    """

    name: str
    shape: tuple[int | None, ...]
    dtype: str = "float32"
    optional: bool = False


class Runner(ABC):
    """Runs one artifact: images [B, C, H, W] float32 (normalised) -> logits [B, classes]."""

    backend: str = "?"
    # the keyword options ``open`` passes on (of T, stage, alpha, device, seed): what this backend lets a user choose
    options: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.is_active = False

    # -- the backend (the kinds table calls these; snndeploy.runners.table) --------------------------------
    @classmethod
    def open(cls, path: Path, **options: Any) -> Runner:
        """A runner of ``path`` with the options this backend takes (``options``); the others are ignored (a
        graph or an engine has its own T)."""
        return cls(path, **{k: v for k, v in options.items() if k in cls.options})  # type: ignore[call-arg]

    @classmethod
    def unavailable(cls, device: str) -> str | None:
        """Why this backend cannot run on ``device`` here (one line), or None when it can be tried."""
        return None

    @classmethod
    def size_file(cls, path: Path) -> Path:
        """The file whose size bench reports for the artifact at ``path``."""
        return path

    @classmethod
    def identity_file(cls, path: Path) -> Path:
        """The file whose sha256 identifies the artifact at ``path`` (the bench environment's record)."""
        return path

    # -- what runs ---------------------------------------------------------------------------------------
    @property
    @abstractmethod
    def facts(self) -> ArtifactFacts:
        """The facts of what runs: model, data spec, neuron, T, stage, noise mode, precision, batch."""

    @property
    def name(self) -> str:
        """The artifact's file name (the model name for runners without a file)."""
        path = getattr(self, "path", None)
        return Path(path).name if path is not None else self.facts.model

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

    @property
    def fixed_batch(self) -> int | None:
        """The one batch size a fixed-batch graph takes (None: dynamic)."""
        return None if self.facts.batch == "dynamic" else int(self.facts.batch)

    @property
    def min_batch(self) -> int:
        """Smallest batch ``infer`` takes."""
        return self.fixed_batch or 1

    @property
    def max_batch(self) -> int | None:
        """Largest batch ``infer`` takes (None: unbounded): a fixed batch, or a graph-noise bank's capacity."""
        return self.fixed_batch or self.facts.max_batch

    # -- lifecycle ---------------------------------------------------------------------------------------
    def activate(self) -> Runner:
        """Prepare the backend; returns the runner, so ``Runner(...).activate()`` chains."""
        if not self.is_active:
            self._activate_impl()
            self.is_active = True
        return self

    def deactivate(self) -> None:
        """Release what ``activate`` took; the runner can be activated again."""
        if self.is_active:
            try:
                self._deactivate_impl()
            finally:
                self.is_active = False

    def __enter__(self) -> Runner:
        return self.activate()

    def __exit__(self, *exc: object) -> None:
        self.deactivate()

    @abstractmethod
    def _activate_impl(self) -> None:
        """Create sessions, deserialize engines, take device memory."""

    def _deactivate_impl(self) -> None:
        """Free what ``_activate_impl`` created."""
        return None

    def share_cores(self) -> None:
        """Tune for a stream of small requests on cores shared with other processes (a server beside its
        clients): called before ``activate``; a no-op for backends with nothing to tune."""
        return None

    def synchronize(self) -> None:
        """Wait for work queued on a device, so that timings measure the work and not its launch."""
        return None

    # -- inputs ------------------------------------------------------------------------------------------
    def inputs(self) -> list[TensorInfo]:
        """The artifact's inputs: images, plus raw noise draws for ``--noise input`` graphs."""
        batch = self.fixed_batch
        noise = [TensorInfo(k, (batch, *s)) for k, s in self.noise_inputs().items()]
        return [TensorInfo("images", (batch, *self.spec.input_shape)), *noise]

    def noise_inputs(self) -> dict[str, tuple[int, ...]]:
        """Per-sample shapes of the raw draws the artifact must be fed (``--noise input`` graphs)."""
        return dict(self.facts.noise_inputs)

    def check_feeds(self, feeds: dict[str, Any]) -> dict[str, np.ndarray]:
        """Every feed against ``inputs()``: names, per-sample shape, dtype, finiteness, batch agreement, limits."""
        infos = {i.name: i for i in self.inputs()}
        if unknown := sorted(set(feeds) - set(infos)):
            raise SnnDeployError(f"{self.name} has no input(s) {', '.join(unknown)}")
        noise = [i for i in infos.values() if i.name != "images" and not i.optional]
        if noise and any(i.name not in feeds for i in noise):
            missing = [i.name for i in noise if i.name not in feeds]
            raise SnnDeployError(f"{self.name} takes its noise as inputs ({len(noise)} tensors; missing "
                                 f"{missing[0]}); feed them (Runner.draw_noise) or export with --noise graph")
        optional = [i.name for i in infos.values() if i.optional]
        fed = [n for n in optional if n in feeds]
        if fed and len(fed) != len(optional):
            lacking = next(n for n in optional if n not in feeds)
            raise SnnDeployError(f"fed noise lacks '{lacking}': feed all {len(optional)} noise tensors or none")
        if "images" not in feeds:
            raise SnnDeployError(f"{self.name} needs an 'images' input")
        checked = {name: self._check_one(infos[name], value) for name, value in feeds.items()}
        batch = len(checked["images"])
        for name, value in checked.items():
            if len(value) != batch:
                raise SnnDeployError(f"input '{name}' has batch {len(value)}, images have {batch}")
        if (problem := self.batch_problem(batch)) is not None:
            raise SnnDeployError(problem)
        return checked

    def _check_one(self, info: TensorInfo, value: Any) -> np.ndarray:
        what = "images" if info.name == "images" else f"noise input '{info.name}'"
        if not isinstance(value, np.ndarray):
            raise SnnDeployError(f"{what} must be a numpy array, got {type(value).__name__}")
        per_sample = tuple(info.shape[1:])
        if value.ndim != len(info.shape) or tuple(value.shape[1:]) != per_sample:
            want = ", ".join(map(str, per_sample))
            raise SnnDeployError(f"{what} must have shape [B, {want}], got {list(value.shape)}")
        if value.dtype != np.dtype(info.dtype):
            raise SnnDeployError(f"{what} must be {info.dtype}, got {value.dtype}")
        if not np.isfinite(value).all():
            raise SnnDeployError(f"{what} {'contain' if info.name == 'images' else 'contains'} NaN or infinite values")
        return np.ascontiguousarray(value)

    def batch_problem(self, batch: int) -> str | None:
        """Why ``infer`` would refuse a batch of this size (one line), or None when it takes it."""
        lo, hi = self.min_batch, self.max_batch
        if batch < 1:
            return f"{self.name}: batch must be >= 1, got {batch}"
        if lo == hi and batch != lo:
            return f"{self.name} takes batch {lo} only, got {batch}"
        if hi is not None and batch > hi:
            return f"batch {batch} exceeds {self.name}'s maximum of {hi}"
        if batch < lo:
            return f"batch {batch} is below {self.name}'s minimum of {lo}"
        return None

    # -- inference ---------------------------------------------------------------------------------------
    @abstractmethod
    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        """Logits for checked feeds keyed by input name ("images" and any noise inputs)."""

    def infer(self, images: np.ndarray, noise: dict[str, np.ndarray] | None = None) -> np.ndarray:
        """Logits [B, classes] for a checked batch of normalised images (and raw draws, where fed)."""
        if not self.is_active:
            raise SnnDeployError(f"{self.backend} runner of {self.name} is not active: use `with runner:` "
                                 "or runner.activate() first")
        feeds = self.check_feeds({"images": images, **(noise or {})})
        return self._infer_impl(feeds)

    def infer_batches(self, images: np.ndarray, rng: np.random.Generator, chunk: int = 256) -> np.ndarray:
        """Logits for any number of images: chunks of at most ``chunk`` and ``max_batch``, each with fresh
        draws where the artifact takes noise as input; a last chunk below ``min_batch`` is zero-padded."""
        out = [self.infer(x, self.draw_noise(len(x), rng))[:n] for _, n, x in self.chunks(images, chunk)]
        return np.concatenate(out) if out else np.zeros((0, self.spec.num_classes), np.float32)

    def chunks(self, images: np.ndarray, chunk: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """(start, n, batch) per run: at most ``chunk`` and ``max_batch`` images, at least ``min_batch`` rows (a
        short last batch zero-padded)."""
        size = min(chunk, self.max_batch) if self.max_batch is not None else chunk
        size = max(size, self.min_batch)
        for start in range(0, len(images), size):
            x = images[start:start + size]
            n = len(x)
            if n < self.min_batch:
                x = np.concatenate([x, np.zeros((self.min_batch - n, *x.shape[1:]), x.dtype)])
            yield start, n, x

    def draw_noise(self, batch: int, rng: np.random.Generator) -> dict[str, np.ndarray] | None:
        """Fresh raw draws for every noise input the artifact must be fed (None when it draws its own)."""
        shapes = self.noise_inputs()
        if not shapes:
            return None
        return {k: raw_draws(self.facts.neuron.noise, rng, (batch, *s)) for k, s in shapes.items()}

    def reseed(self, seed: int) -> None:
        """Restart the noise the artifact draws itself from ``seed`` (nothing where the backend cannot)."""
        return None

    def infer_seeded(self, images: np.ndarray, seed: int, chunk: int = 256,
                     on_chunk: Callable[[int], None] | None = None) -> np.ndarray:
        """Logits for any number of images, image i's from its pixels, ``seed`` and i alone (up to float
        rounding), whatever the other images are:

        * artifacts that take raw draws (``--noise input`` graphs and engines; checkpoints, which take the same
          draws as their ``--noise input`` graph): image i is fed draws from ``np.random.default_rng([seed, i])``,
          so a checkpoint and its ``--noise input`` graph give the same logits;
        * ``--noise frozen`` artifacts draw nothing: every run gives the same logits;
        * artifacts that draw their own noise (``--noise graph``): the backend's generator restarts from
          ``seed`` (``reseed``) and runs one image per run, in index order, so image i gets its i-th draws:
          repeatable on ONNX Runtime, not on TensorRT engines, whose random layers are unseeded.

        ``on_chunk(n)`` is called after each run with the number of images it answered (progress)."""
        validate.seed(seed)
        shapes = {i.name: tuple(i.shape[1:]) for i in self.inputs() if i.name != "images"}
        if not shapes and self.facts.noise == "graph":
            self.reseed(seed)
            chunk = 1
        out = []
        for start, n, x in self.chunks(images, chunk):
            noise = seeded_draws(self.facts.neuron.noise, shapes, seed, range(start, start + n), len(x)) if shapes \
                else None
            out.append(self.infer(x, noise)[:n])
            if on_chunk is not None:
                on_chunk(n)
        return np.concatenate(out) if out else np.zeros((0, self.spec.num_classes), np.float32)


def seeded_draws(kind: str, shapes: dict[str, tuple[int, ...]], seed: int, indices: range,
                 rows: int | None = None) -> dict[str, np.ndarray]:
    """Raw draws (per-sample ``shapes``) for the images at ``indices``: row k from
    ``np.random.default_rng([seed, indices[k]])``, so that an image's draws depend on the seed and its index
    only; ``rows`` > len(indices) pads with zero rows (for images that pad a fixed batch)."""
    out = {k: np.zeros((rows or len(indices), *s), np.float32) for k, s in shapes.items()}
    for row, index in enumerate(indices):
        rng = np.random.default_rng([seed, index])
        for k in sorted(shapes):  # a fixed order: a row's draws do not depend on the order of the dict
            out[k][row] = raw_draws(kind, rng, shapes[k])
    return out


def raw_draws(kind: str, rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Raw draws of a neuron's noise kind, as a ``--noise input`` graph takes them: standard normal for
    gaussian noise, uniform in [0, 1) otherwise."""
    return numpy_draws(kind, rng, shape)
