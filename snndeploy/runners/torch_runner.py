"""PyTorch runner: a checkpoint run as the stage-2/3 network at a chosen T, on CUDA through CUDA graphs."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..core import budget
from ..core.device import pick_device
from ..core.facts import ArtifactFacts
from ..core.neuron_config import check_alpha
from ..export.graph import fed_noise, named_draws
from ..models import LIFNode, SpikingNet
from ..neuron import draw, unit
from ..training import checkpoint as ckpt
from .base import Runner, TensorInfo


@dataclasses.dataclass(frozen=True)
class Parity:
    """How closely two fp32 runs of one network fed the same raw draws agree: PyTorch on the CPU, PyTorch on CUDA
    (TorchRunner turns TF32 off) and ONNX Runtime on the CPU. The tolerance of every parity check between them
    (the GPU-vs-CPU one of the device check too).

    A spike is a hard threshold: rounding that moves a potential across it flips the spike and moves that image's
    logits by far more than ``atol``. In IEEE fp32 only the kernels' reduction order differs (about 1e-7
    relative), so flips are rare (tests/export/test_export.py measures them on 1,000 test images); in TF32 every
    convolution's inputs are rounded to 10 mantissa bits (about 1e-3 relative) and flips are common.
    """

    atol: float = 1e-4  # per image: the largest absolute logit difference
    within: float = 0.995  # the fraction of images at most ``atol`` apart
    same_class: float = 0.999  # the fraction of images given the same class

    def problem(self, ref: np.ndarray, got: np.ndarray) -> str | None:
        """Why logits ``got`` [N, classes] do not match ``ref`` (one line), or None when they do."""
        close = float((np.abs(ref - got).max(axis=1) <= self.atol).mean())
        same = float((ref.argmax(axis=1) == got.argmax(axis=1)).mean())
        if close < self.within or same < self.same_class:
            return (f"{100 * close:.1f}% of images within {self.atol:g} (need {100 * self.within:.1f}%), "
                    f"{100 * same:.1f}% with the same class (need {100 * self.same_class:.1f}%)")
        return None


FP32_PARITY = Parity()

# Bytes a PyTorch run of the network costs per image and time step, per byte of the spiking layers' inputs: every
# synaptic layer runs once over all T steps folded into the batch (TimeFold), so a layer's whole [T*B, ...] input
# and output are alive at once and memory grows with T (it does not stream the steps). Measured on the CPU
# (small-cnn, 151.6 kB of spiking-layer inputs per image-step; `TorchRunner.infer_seeded`, fed draws included,
# batch 64): peak RSS grew 0.30 GB at T = 10, 2.47 GB at T = 100 and 9.22 GB at T = 400, 0.36-0.39 MB per
# image-step, 2.4-2.5x; 3 leaves a margin.
RUN_BYTES_PER_INPUT_BYTE = 3


def step_bytes(model: SpikingNet) -> int:
    """Estimated bytes one image costs per time step when ``model`` runs in PyTorch (RUN_BYTES_PER_INPUT_BYTE)."""
    floats = 0

    def count(node: torch.nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        nonlocal floats
        floats += inputs[0].numel()  # [1 step, 1 image, ...]

    device = next(model.parameters()).device
    hooks = [node.register_forward_hook(count) for node in model.lif_nodes()]
    try:  # one image, one step, no noise: on the model's own device (SpikingNet.spiking_shapes runs on the CPU)
        with torch.no_grad(), model.using("stage2"):
            model(torch.zeros(1, *model.input_shape, device=device), 1)
    finally:
        for hook in hooks:
            hook.remove()
    return RUN_BYTES_PER_INPUT_BYTE * 4 * floats


def device_memory(device: torch.device) -> int | None:
    """Bytes still free where a run on ``device`` allocates: the GPU's free memory, or the host's."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    return budget.available_memory()


def check_run_memory(model: SpikingNet, name: str, T: int, batch: int, device: torch.device,
                     available: int | None = None) -> None:
    """Refuse (one line, with the largest T that fits) a PyTorch run of ``batch`` images at ``T`` steps whose
    activations would not fit in the memory of ``device`` (``available``: what to compare with, default measured)."""
    available = device_memory(device) if available is None else available
    cost = budget.Linear(0, step_bytes(model) * batch)
    budget.check_memory(T, cost, f"for {name} at batch {batch}", available)


def check_checkpoint_memory(path: str | Path, Ts: list[int], batch: int, device: str = "cpu") -> None:
    """``check_run_memory`` for the checkpoint at ``path`` at each of ``Ts`` (`snndeploy eval`, before any data is
    read: a batch runs all its steps at once)."""
    dev = pick_device(device)
    checkpoint = ckpt.load(path, dev)
    for T in Ts:
        check_run_memory(checkpoint.model, checkpoint.facts.model, T, batch, dev)

# The flags that let CUDA run fp32 convolutions (cuDNN) and matmuls (cuBLAS) in TF32. PyTorch's defaults
# (docs/source/notes/cuda.rst, "TensorFloat-32 (TF32) on Ampere (and later) devices"): cuDNN's is True,
# matmul's False since 1.12. The legacy flags, not the fp32_precision API of PyTorch >= 2.9: they exist in every
# supported version, and once the new API has set cuDNN's conv and RNN precisions, reading the legacy cuDNN
# flag raises (tried on 2.14), which would break any other code that reads it.
TF32_FLAGS = (("cudnn", "allow_tf32"), ("cuda.matmul", "allow_tf32"))


def _flag_owner(path: str) -> Any:
    owner: Any = torch.backends
    for part in path.split("."):
        owner = getattr(owner, part)
    return owner


@dataclasses.dataclass
class Captured:
    """One CUDA graph and every tensor its kernels read or write: kept together, so that none of them is
    freed (and its memory handed to another tensor) while the graph can still be replayed."""

    graph: Any
    static_in: torch.Tensor
    static_noise: dict[str, torch.Tensor]  # fed raw draws, copied in before each replay
    static_out: torch.Tensor
    buffers: list[torch.Tensor]  # the raw-draw buffers the graph fills on every replay


class TorchRunner(Runner):
    """PyTorch inference of a checkpoint: channels-last convolutions and compiled neuron steps (``compiled``),
    replayed through CUDA graphs on a GPU."""

    options = ("T", "stage", "alpha", "device")

    @classmethod
    def unavailable(cls, device: str) -> str | None:
        if device == "cuda" and not torch.cuda.is_available():
            return "no CUDA GPU visible to PyTorch"
        return None

    @classmethod
    def size_file(cls, path: Path) -> Path:
        """The weights file (the JSON beside it is a few kB)."""
        meta_path, _, extra = ckpt.read_meta(path)
        return meta_path.parent / extra["weights"]["file"]

    @classmethod
    def identity_file(cls, path: Path) -> Path:
        """The checkpoint's JSON: it names its weights by their sha256."""
        return ckpt.resolve(path)

    def __init__(self, path: str | Path, T: int = 5, stage: int = 3, alpha: float | None = None,
                 device: str = "cpu", cuda_graphs: bool = True, compiled: bool = True) -> None:
        super().__init__()

        self.path, self.device = Path(path), pick_device(device)
        self.checkpoint = ckpt.load(path, self.device)
        neuron = self.checkpoint.neuron
        neuron = dataclasses.replace(neuron, alpha=math.inf if stage == 2 else (alpha or neuron.alpha))
        check_alpha(neuron.alpha, neuron.noise_lo, neuron.noise_hi)
        self.model = self.checkpoint.model.set_neuron(neuron).set_mode(f"stage{stage}")
        # channels-last convolutions and compiled neuron steps (plain ops where torch.compile cannot run)
        self.model.inference_layout(compiled)
        self._facts = dataclasses.replace(self.checkpoint.facts, T=T, stage=stage, neuron=neuron, noise="graph",
                                          precision="fp32")
        self.backend = f"pytorch-{self.device.type}"
        self.cuda_graphs = cuda_graphs and self.device.type == "cuda"
        # what the network's own noise is on this device (draws_on): the same for eager runs as for the label
        self.draws = self.draws_on(self.device.type, cuda_graphs)
        self.model.set_draws(self.draws)
        self._tf32_saved: list[bool] | None = None
        self._graphs: dict[tuple[Any, ...], Captured] = {}
        self._noise_shapes: dict[str, tuple[int, ...]] | None = None
        self._step_bytes: int | None = None  # step_bytes(self.model), measured once

    def fitting_batch(self, batch: int, available: int | None = None) -> int:
        """The largest batch, up to ``batch``, whose run at this T fits in memory (``available``: default
        measured): results do not depend on the batch an image runs in. Where not even one image fits, a
        one-line refusal with the largest T that does."""
        available = device_memory(self.device) if available is None else available
        if self._step_bytes is None:
            self._step_bytes = step_bytes(self.model)
        per_image = self._step_bytes * self.T
        if available is None or per_image * batch <= available:
            return batch
        if per_image <= available:
            return int(available // per_image)
        check_run_memory(self.model, self.facts.model, self.T, 1, self.device, available)
        return 1  # not reached: the check refuses

    def chunks(self, images: np.ndarray, chunk: int) -> Iterator[tuple[int, int, np.ndarray]]:
        """As every runner's, in batches small enough for this T's activations to fit in memory: checked when
        called, before any image runs or any noise is drawn (``infer`` itself runs what it is given)."""
        return super().chunks(images, self.fitting_batch(max(min(chunk, len(images)), 1)))

    @classmethod
    def draws_on(cls, device: str, cuda_graphs: bool = True) -> str:
        """The noise the network draws itself on ``device`` (one of NOISE_DRAWS), as bench rows label it:
        ``fresh`` through CUDA graphs, which draw every element afresh on each replay (a bank window's offset
        would be baked into the captured graph), ``bank`` otherwise (windows of the layers' noise banks at
        random offsets, snndeploy/neuron/bank.py)."""
        return "fresh" if cuda_graphs and torch.device(device).type == "cuda" else "bank"

    @property
    def facts(self) -> ArtifactFacts:
        return self._facts

    def inputs(self) -> list[TensorInfo]:
        """Images, and optionally the raw draws a ``--noise input`` graph of this network takes."""
        return [*super().inputs(), *(TensorInfo(k, (None, *s), optional=True) for k, s in self.fed_shapes().items())]

    @torch.no_grad()
    def fed_shapes(self) -> dict[str, tuple[int, ...]]:
        """Per-sample shape of every raw draw the network makes at this T (named as the graph inputs)."""
        if self._noise_shapes is None:
            self.fitting_batch(1)  # the dry run below is one image over all T steps: refuse a T it cannot fit
            shapes: dict[str, tuple[int, ...]] = {}

            def record(name: str, like: torch.Tensor) -> torch.Tensor:
                shapes[name] = tuple(like.shape[1:])
                return torch.full_like(like, 0.5)  # any finite draw: only the shapes are kept

            with self.model.drawing(named_draws(self.model, record)):
                self.model(torch.zeros(1, *self.spec.input_shape, device=self.device), self.T)
            self._noise_shapes = shapes
        return self._noise_shapes

    def _activate_impl(self) -> None:
        self.model.eval()
        if self.device.type == "cuda" and self._tf32_saved is None:
            # fp32 means fp32: cuDNN would otherwise run the convolutions in TF32 (its default), and the hard
            # thresholds turn that rounding into flipped spikes. Set before any capture or compilation, which
            # bake the kernels in; restored on deactivate.
            self._tf32_saved = [getattr(_flag_owner(owner), name) for owner, name in TF32_FLAGS]
            for owner, name in TF32_FLAGS:
                setattr(_flag_owner(owner), name, False)

    def _deactivate_impl(self) -> None:
        self._graphs.clear()
        if self._tf32_saved is not None:
            for (owner, name), value in zip(TF32_FLAGS, self._tf32_saved, strict=True):
                setattr(_flag_owner(owner), name, value)
            self._tf32_saved = None

    def reseed(self, seed: int) -> None:
        """Seed PyTorch's generators, which place the noise-bank windows (``bank``) or draw the noise (``fresh``,
        through CUDA graphs) of every later run."""
        torch.manual_seed(seed)  # the CPU generator and every GPU's

    @torch.no_grad()
    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        x = torch.from_numpy(feeds["images"]).to(self.device)
        noise = {k: v for k, v in feeds.items() if k != "images"}
        if self.cuda_graphs:
            return self._replay(x, noise).float().cpu().numpy()
        if noise:  # the same raw draws a --noise input graph would be fed
            with fed_noise(self.model, noise):
                return self.model(x, self.T).float().cpu().numpy()
        return self.model(x, self.T).float().cpu().numpy()

    def _replay(self, x: torch.Tensor, noise: dict[str, np.ndarray]) -> torch.Tensor:
        """Run through a CUDA graph captured once per input shape (and per fed or own noise): own noise is
        drawn afresh on every replay, fed noise is copied into the graph's static inputs."""
        key = (tuple(x.shape), bool(noise))
        if key not in self._graphs:
            self._graphs[key] = self._capture(x, noise)
        rec = self._graphs[key]
        rec.static_in.copy_(x)
        for name, value in noise.items():
            rec.static_noise[name].copy_(torch.from_numpy(value))
        rec.graph.replay()
        return rec.static_out

    def _capture(self, x: torch.Tensor, noise: dict[str, np.ndarray]) -> Captured:
        # Graph memory management (PyTorch's torch.cuda.graphs docs): addresses are baked into the graph, so
        # every tensor it touches must outlive it. Inputs are allocated here and kept in the record; draw
        # buffers are allocated during the capture (from the graph's private pool) and kept in the record too,
        # instead of the layers' eager buffer, which the next shape's warm-up would replace and free.
        static_in = x.clone()
        static_noise = {k: torch.from_numpy(v).to(self.device) for k, v in noise.items()}
        buffers: dict[tuple[int, tuple[int, ...]], torch.Tensor] = {}

        def own(node: LIFNode, t: int, like: torch.Tensor, kind: str) -> torch.Tensor:
            key = (id(node), tuple(like.shape))
            if key not in buffers:
                buffers[key] = torch.empty_like(like, memory_format=torch.contiguous_format)
            return unit(node.cfg, draw(like, kind, out=buffers[key]))  # fresh: a bank offset would be baked in

        draw_fn = named_draws(self.model, lambda name, like: static_noise[name]) if noise else own
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream), self.model.drawing(draw_fn):  # warm-up outside the graph, as the docs say
            for _ in range(3):
                self.model(static_in, self.T)
        torch.cuda.current_stream().wait_stream(stream)
        buffers.clear()  # the warm-up's buffers; the capture allocates its own
        graph = torch.cuda.CUDAGraph()
        with self.model.drawing(draw_fn), torch.cuda.graph(graph):
            static_out = self.model(static_in, self.T)
        return Captured(graph, static_in, static_noise, static_out, list(buffers.values()))

    def synchronize(self) -> None:
        """Wait for the GPU, so that timings measure the work and not its launch."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
