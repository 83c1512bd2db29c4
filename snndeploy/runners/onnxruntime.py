"""ONNX Runtime runner for our exported graphs (CPU; CUDA / TensorRT execution providers with onnxruntime-gpu)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import metadata
from ..core import threads as cpu_threads
from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH, ArtifactFacts
from .base import BackendUnavailable, Runner

PROVIDERS = {"cpu": ["CPUExecutionProvider"],
             "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
             "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]}


def default_cache_dir() -> Path:
    """Where the TensorRT provider keeps its engines and timing cache between sessions."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "snndeploy" / "ort-tensorrt"


def _shapes(shapes: dict[str, tuple[int, ...]]) -> str:
    """ONNX Runtime's profile syntax: 'input1:d0xd1x...,input2:...' (like trtexec's --minShapes)."""
    return ",".join(f"{name}:{'x'.join(map(str, s))}" for name, s in shapes.items())


def _unavailable(device: str) -> str | None:
    """Why ONNX Runtime cannot run on ``device`` here (one line), or None: the installed wheel must offer the
    device's execution provider (onnxruntime-gpu for CUDA and TensorRT)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "ONNX Runtime is not installed (pip install 'snndeploy[cpu]', or 'snndeploy[gpu]' for onnxruntime-gpu)"

    wanted = PROVIDERS[device][0]
    if wanted not in ort.get_available_providers():
        return f"ONNX Runtime lacks {wanted} (pip install 'snndeploy[gpu]' for onnxruntime-gpu)"
    return None


class OnnxRuntimeRunner(Runner):
    """An InferenceSession over one snndeploy ONNX file.

    ``device`` picks the execution providers (PROVIDERS); the session must really run on the first one,
    else activation fails with BackendUnavailable instead of falling back to the CPU under a GPU label.
    """

    options = ("device", "seed")

    @classmethod
    def unavailable(cls, device: str) -> str | None:
        return _unavailable(device)

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None,
                 seed: int | None = None, max_batch: int = DEFAULT_MAX_BATCH,
                 cache_dir: str | Path | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.model, self._facts = metadata.load(self.path)
        if device not in PROVIDERS:
            raise SnnDeployError(f"unknown ONNX Runtime device '{device}'; choose one of: {', '.join(PROVIDERS)}")
        if max_batch < 1:
            raise SnnDeployError(f"max_batch must be >= 1, got {max_batch}")
        self.device, self.threads, self.seed = device, threads, seed
        self.profile_max = max_batch
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self.backend = f"onnxruntime-{device}"
        self.session: Any = None

    @property
    def facts(self) -> ArtifactFacts:
        return self._facts

    @property
    def max_batch(self) -> int | None:
        """The TensorRT provider builds for one profile; the CPU and CUDA providers take any dynamic batch."""
        if self.fixed_batch is None and self.device == "tensorrt":
            return min(self.profile_max, self.facts.max_batch or self.profile_max)
        return super().max_batch

    def profile(self) -> dict[str, dict[str, tuple[int, ...]]]:
        """min / opt / max shape of every input for the TensorRT provider (all inputs, noise included)."""
        lo, opt, hi = (self.fixed_batch,) * 3 if self.fixed_batch is not None else (1, 1, self.profile_max)
        per_sample = {"images": tuple(self.spec.input_shape), **self.noise_inputs()}
        return {which: {k: (b, *s) for k, s in per_sample.items()}
                for which, b in (("min", lo), ("opt", opt), ("max", hi))}

    def provider_options(self) -> list[dict[str, str]]:
        """Options for each provider of PROVIDERS[device], in order.

        Names from ONNX Runtime's onnxruntime/core/providers/tensorrt/tensorrt_execution_provider_info.cc:
        an explicit profile keeps the provider from rebuilding its engine for every new batch size, and the
        engine and timing caches keep it from rebuilding in every new session.
        """
        options: list[dict[str, str]] = [{} for _ in PROVIDERS[self.device]]
        if self.device == "tensorrt":
            p = self.profile()
            cache = str(self.cache_dir)
            options[0] = {"trt_profile_min_shapes": _shapes(p["min"]), "trt_profile_opt_shapes": _shapes(p["opt"]),
                          "trt_profile_max_shapes": _shapes(p["max"]), "trt_engine_cache_enable": "True",
                          "trt_engine_cache_path": cache, "trt_timing_cache_enable": "True",
                          "trt_timing_cache_path": cache}
        return options

    def _activate_impl(self) -> None:
        why = _unavailable(self.device)
        if why is not None:
            raise BackendUnavailable(why)
        import onnxruntime as ort
        if self.seed is not None:
            # Random ops take their generators' seeds from this global when the session is built; it is a
            # signed 64-bit integer, so seeds up to 2**64 - 1 fold into its range.
            ort.set_seed(self.seed % 2**63)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # the process's setting (--threads) unless this runner was given its own
        options.intra_op_num_threads = self.threads or cpu_threads.current()
        if self.device == "tensorrt":
            self.cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            session = ort.InferenceSession(self.model.SerializeToString(), options,
                                           providers=PROVIDERS[self.device], provider_options=self.provider_options())
        except Exception as exc:  # ORT raises its own exception types for invalid graphs
            raise SnnDeployError(f"ONNX Runtime cannot load {self.path}: {str(exc).splitlines()[0]}") from None
        # A provider whose libraries (CUDA, cuDNN, TensorRT) fail to load is dropped from the session with
        # a log line only; what the session really uses is get_providers(), not get_available_providers().
        used, wanted = list(session.get_providers()), PROVIDERS[self.device][0]
        if wanted not in used:
            raise BackendUnavailable(f"ONNX Runtime could not start {wanted} here (the session would run on "
                                     f"{', '.join(used) or 'nothing'}); check the CUDA/TensorRT libraries, or "
                                     "use --device cpu")
        # The session's own view of the inputs and outputs against the metadata, so that a disagreement is
        # one line here rather than an INVALID_ARGUMENT from the first run.
        metadata.check_io(self.facts, {a.name: list(a.shape) for a in session.get_inputs()},
                          {a.name: list(a.shape) for a in session.get_outputs()}, self.path)
        self.session = session

    def _deactivate_impl(self) -> None:
        self.session = None

    def reseed(self, seed: int) -> None:
        """Seed the graph's random ops from ``seed``: an active runner builds a new session, since their
        generators are seeded when a session is built."""
        self.seed = seed
        if self.is_active:
            self._activate_impl()

    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["logits"], feeds)[0].astype(np.float32, copy=False)
