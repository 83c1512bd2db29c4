"""ONNX Runtime runner for our exported graphs (CPU; CUDA / TensorRT providers when installed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts
from ..export import metadata
from .base import Runner

PROVIDERS = {"cpu": ["CPUExecutionProvider"],
             "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
             "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]}


class OnnxRuntimeRunner(Runner):
    """An InferenceSession over one snndeploy ONNX file."""

    def __init__(self, path: str | Path, device: str = "cpu", threads: int | None = None,
                 seed: int | None = None) -> None:
        super().__init__()
        self.path = Path(path)
        self.model, self._facts = metadata.load(self.path)
        if device not in PROVIDERS:
            raise SnnDeployError(f"unknown ONNX Runtime device '{device}'; choose one of: {', '.join(PROVIDERS)}")
        self.device, self.threads, self.seed = device, threads, seed
        self.backend = f"onnxruntime-{device}"
        self.session: Any = None

    @property
    def facts(self) -> ArtifactFacts:
        return self._facts

    def _activate_impl(self) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise SnnDeployError("ONNX Runtime is not installed: pip install 'snndeploy[cpu]' "
                                 "(or 'snndeploy[gpu]' for onnxruntime-gpu)") from None

        missing = [p for p in PROVIDERS[self.device] if p not in ort.get_available_providers()]
        if missing and self.device != "cpu":
            raise SnnDeployError(f"ONNX Runtime lacks {missing[0]}; install onnxruntime-gpu (pip install "
                                 "'snndeploy[gpu]') in place of onnxruntime")
        if self.seed is not None:
            # Random ops take their generators' seeds from this global when the session is built.
            ort.set_seed(self.seed)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        if self.threads:
            options.intra_op_num_threads = self.threads
        try:
            self.session = ort.InferenceSession(self.model.SerializeToString(), options,
                                                providers=PROVIDERS[self.device])
        except Exception as exc:  # ORT raises its own exception types for invalid graphs
            raise SnnDeployError(f"ONNX Runtime cannot load {self.path}: {str(exc).splitlines()[0]}") from None

    def _deactivate_impl(self) -> None:
        self.session = None

    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["logits"], feeds)[0].astype(np.float32, copy=False)
