"""ONNX Runtime runner for our exported graphs (CPU; CUDA / TensorRT execution providers with onnxruntime-gpu)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnx.inliner

from ..artifacts import metadata
from ..core import threads as cpu_threads
from ..core.errors import SnnDeployError
from ..core.facts import DEFAULT_MAX_BATCH, ArtifactFacts
from ..core.hashing import sha256_bytes
from ..core.install import onnxruntime_gpu_install, onnxruntime_hint
from ..engine.check import random_nodes
from .base import BackendUnavailable, Runner

PROVIDERS = {"cpu": ["CPUExecutionProvider"],
             "cuda": ["CUDAExecutionProvider", "CPUExecutionProvider"],
             "tensorrt": ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]}


def default_cache_dir() -> Path:
    """Where the TensorRT provider keeps its engines and timing cache between sessions."""
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "snndeploy" / "ort-tensorrt"


# ONNX's random generators: each takes an optional float ``seed`` attribute
RANDOM_OPS = ("RandomUniform", "RandomNormal", "RandomUniformLike", "RandomNormalLike")
# A seed attribute is a float32: the integers below 2**24 are exactly representable, so every node keeps the
# seed it was given (ONNX Runtime casts it to an integer: static_cast<uint64_t>(seed) in the CUDA kernels).
SEED_RANGE = 2**24


def _random_nodes(nodes: Iterable[onnx.NodeProto]) -> list[onnx.NodeProto]:
    """The random nodes among ``nodes`` and in the subgraphs they hold (If / Loop bodies), in order."""
    found = []
    for node in nodes:
        if node.op_type in RANDOM_OPS and node.domain in ("", "ai.onnx"):
            found.append(node)
        for attr in node.attribute:
            for sub in (*([attr.g] if attr.HasField("g") else []), *attr.graphs):
                found += _random_nodes(sub.node)
    return found


def seeded_model(model: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    """A copy of ``model`` in which every random node has its own ``seed`` attribute, drawn from ``seed``
    (distinct per node, below SEED_RANGE); ``model`` itself when it has no random node.

    Why per node and not ``onnxruntime.set_seed``: ONNX Runtime's CUDA random kernels
    (onnxruntime/core/providers/cuda/generator/random.h, ``RandomBase``) make their own PhiloxGenerator only
    from a ``seed`` attribute; without one they use ``PhiloxGenerator::Default()``
    (onnxruntime/core/framework/random_generator.cc), a function-local static seeded once per process, which
    a new session does not reset. The CPU kernels (onnxruntime/core/providers/cpu/generator/random.h) likewise
    seed a per-kernel engine from the attribute. With the attribute every provider restarts the same sequence
    in every new session. Local functions are inlined first: a random node inside a function body is one node
    shared by every call, and would give every call the same seed (the same noise-bank offset everywhere).
    """
    if not (_random_nodes(model.graph.node) or any(_random_nodes(f.node) for f in model.functions)):
        return model
    out = onnx.inliner.inline_local_functions(model)
    nodes = _random_nodes(out.graph.node)
    seeds = np.random.default_rng(seed).choice(SEED_RANGE, size=len(nodes), replace=False)
    for node, node_seed in zip(nodes, seeds, strict=True):
        kept = [a for a in node.attribute if a.name != "seed"]
        del node.attribute[:]
        node.attribute.extend([*kept, onnx.helper.make_attribute("seed", float(node_seed))])
    return out


def _shapes(shapes: dict[str, tuple[int, ...]]) -> str:
    """ONNX Runtime's profile syntax: 'input1:d0xd1x...,input2:...' (like trtexec's --minShapes)."""
    return ",".join(f"{name}:{'x'.join(map(str, s))}" for name, s in shapes.items())


def _unavailable(device: str) -> str | None:
    """Why ONNX Runtime cannot run on ``device`` here (one line), or None: the installed wheel must offer the
    device's execution provider (onnxruntime-gpu for CUDA and TensorRT)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return f"ONNX Runtime is not installed ({onnxruntime_hint()})"

    wanted = PROVIDERS[device][0]
    if wanted not in ort.get_available_providers():
        return f"ONNX Runtime lacks {wanted} ({onnxruntime_gpu_install()})"
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
        self._sha256: str | None = None
        self.spin = True  # intra-op threads spin between runs (ONNX Runtime's default)

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

    @property
    def graph_sha256(self) -> str:
        """sha256 of the graph as loaded (weights and all; before ``seeded_model`` adds seeds)."""
        if self._sha256 is None:
            self._sha256 = sha256_bytes(self.model.SerializeToString(deterministic=True))
        return self._sha256

    @property
    def engine_cache_dir(self) -> Path:
        """The TensorRT provider's engine cache for this graph: a folder of ``cache_dir`` named by the graph's
        sha256.

        The provider names a cached engine by ``TRTGenerateId`` (onnxruntime/core/providers/tensorrt/
        tensorrt_execution_provider_utils.h): a MurmurHash of the model's file name (none for a session built
        from bytes), the names of the graph inputs, initializers and node outputs, the OS and the ORT, CUDA and
        TensorRT versions; never the weights. Our exporter's names are fixed, so a retrained checkpoint, another
        frozen-noise seed or another alpha of the same architecture would load the engine of the previous graph
        from a shared folder. The seeds ``seeded_model`` adds stay out of the key: TensorRT ignores the seed of
        its random layers (onnx-tensorrt's docs/operators.md), so they do not change the engine.
        """
        return self.cache_dir / self.graph_sha256

    def share_cores(self) -> None:
        """Intra-op threads wait without spinning: ONNX Runtime's threads otherwise busy-wait for the next run,
        taking the cores a server's clients and its other processes need between small requests (session
        option ``session.intra_op.allow_spinning``, onnxruntime_session_options_config_keys.h)."""
        if self.is_active:
            raise SnnDeployError("share_cores() must come before activate()")
        self.spin = False

    def provider_options(self) -> list[dict[str, str]]:
        """Options for each provider of PROVIDERS[device], in order.

        Names from ONNX Runtime's onnxruntime/core/providers/tensorrt/tensorrt_execution_provider_info.cc:
        an explicit profile keeps the provider from rebuilding its engine for every new batch size, and the
        engine and timing caches keep it from rebuilding in every new session. Engines are cached per graph
        content (``engine_cache_dir``); the timing cache (layer timings, named by the GPU's compute capability)
        is shared by all graphs in ``cache_dir``.
        """
        options: list[dict[str, str]] = [{} for _ in PROVIDERS[self.device]]
        if self.device == "tensorrt":
            p = self.profile()
            options[0] = {"trt_profile_min_shapes": _shapes(p["min"]), "trt_profile_opt_shapes": _shapes(p["opt"]),
                          "trt_profile_max_shapes": _shapes(p["max"]), "trt_engine_cache_enable": "True",
                          "trt_engine_cache_path": str(self.engine_cache_dir), "trt_timing_cache_enable": "True",
                          "trt_timing_cache_path": str(self.cache_dir)}
        return options

    def session_model(self) -> onnx.ModelProto:
        """The model the session is built from: the graph, with per-node seeds where the runner has a seed."""
        return self.model if self.seed is None else seeded_model(self.model, self.seed)

    def _activate_impl(self) -> None:
        why = _unavailable(self.device)
        if why is not None:
            raise BackendUnavailable(why)
        if self.device == "tensorrt" and (random := random_nodes(self.model)):
            # the provider hands the graph to TensorRT's ONNX parser, which turns random ops into fills whose values
            # are fixed when the engine is built (onnx-tensorrt docs/operators.md): the noise would be one window
            node, op = random[0]
            raise BackendUnavailable(f"TensorRT fixes the draws of {op} ({node}) when it builds the engine, so "
                                     f"{self.path.name}'s graph noise would be frozen: run it on --device cpu or "
                                     "cuda, or export with --noise input or --noise frozen")
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # the process's setting (--threads) unless this runner was given its own
        options.intra_op_num_threads = self.threads or cpu_threads.current()
        if not self.spin:
            options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self.device == "tensorrt":
            self.engine_cache_dir.mkdir(parents=True, exist_ok=True)
        try:
            session = ort.InferenceSession(self.session_model().SerializeToString(), options,
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
        """Seed the graph's random ops from ``seed`` (``seeded_model``): an active runner builds a new session,
        since their generators are seeded when a session is built."""
        self.seed = seed
        if self.is_active:
            self._activate_impl()

    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        return self.session.run(["logits"], feeds)[0].astype(np.float32, copy=False)
