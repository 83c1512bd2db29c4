"""The model Triton's Python backend runs for every artifact ``snndeploy serve`` serves: the artifact's own
snndeploy runner (PyTorch for a checkpoint, ONNX Runtime for a graph, TensorRT for an engine) behind Triton's
``TritonPythonModel`` interface. A served model folder's ``1/model.py`` only imports this class.

Triton's dynamic batcher hands ``execute`` several requests at once; they run as one batch, split into runs of
at most the artifact's own maximum batch (a graph-noise bank's capacity, a fixed-batch graph's batch, padded).
A request that fails the runner's checks (NaN images, a noise input without the others) gets its own error
and the others are answered. Requests that leave the noise inputs out get draws from the instance's own
generator (seeded by the ``seed`` parameter and the instance); a request that sends them gets exactly the
answers ``snndeploy infer`` gives for the same draws.

Tensors cross the backend through DLPack (``np.from_dlpack`` / ``Tensor.from_dlpack``): the backend's numpy
bindings were built for numpy 1, and with numpy 2 its ``as_numpy`` and ``Tensor(name, array)`` give empty
tensors.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import SnnDeployError
from ..core.readout import confidence, trained_loss
from ..runners import Runner, open_runner

_DLPACK_NOISE = "PyCapsule_GetPointer called with incorrect name"


def _quiet_dlpack(unraisable: Any) -> None:
    """numpy 2's DLPack capsule destructor complains (harmlessly) about the capsule the backend consumed and
    renamed; every other unraisable error still reaches the default hook."""
    if isinstance(unraisable.exc_value, ValueError) and _DLPACK_NOISE in str(unraisable.exc_value):
        return
    sys.__unraisablehook__(unraisable)


def parameters(config: dict[str, Any]) -> dict[str, str]:
    """The string parameters of a model config as Triton passes it to ``initialize`` (JSON)."""
    return {k: v.get("string_value", "") for k, v in config.get("parameters", {}).items()}


def open_served(params: dict[str, str], version_folder: Path) -> Runner:
    """The runner of the artifact a served model's parameters name (a relative path: inside the version
    folder, as ``export --format triton --triton-backend python`` writes it)."""
    path = Path(params["artifact"])
    if not path.is_absolute():
        path = version_folder / path
    T = int(params["T"]) if params.get("T", "None") != "None" else 5
    seed = int(params.get("seed", "0"))
    return open_runner(path, T=T, device=params.get("device", "cpu"), seed=seed)


class TritonPythonModel:
    """One instance of a served artifact."""

    def initialize(self, args: dict[str, str]) -> None:
        sys.unraisablehook = _quiet_dlpack
        import triton_python_backend_utils as pb_utils  # only inside Triton's Python backend

        self.pb = pb_utils
        config = json.loads(args["model_config"])
        params = parameters(config)
        folder = Path(args["model_repository"]) / args["model_version"]
        self.runner = open_served(params, folder)
        self.runner.share_cores()  # the server, its clients and other instances share these cores
        self.runner.activate()
        seed = int(params.get("seed", "0"))
        self.rng = np.random.default_rng([seed, sum(map(ord, args.get("model_instance_name", "")))])
        self.loss = trained_loss(self.runner.facts)
        self.noise = {i.name: tuple(i.shape[1:]) for i in self.runner.inputs() if i.name != "images"}
        # the model is ready only once it answers: one run before Triton marks it ready
        lo = self.runner.min_batch
        warm = np.zeros((lo, *self.runner.spec.input_shape), np.float32)
        self.runner.infer(warm, self.runner.draw_noise(lo, self.rng))

    # -- requests ----------------------------------------------------------------------------------------
    def _array(self, request: Any, name: str) -> np.ndarray | None:
        tensor = self.pb.get_input_tensor_by_name(request, name)
        if tensor is None:
            return None
        return np.array(np.from_dlpack(tensor), copy=True)  # the request's memory is Triton's

    def _feeds(self, request: Any) -> tuple[np.ndarray, dict[str, np.ndarray] | None]:
        """A request's images and fed draws (None: none fed), checked as the runner checks them."""
        images = self._array(request, "images")
        if images is None:
            raise SnnDeployError("the request has no 'images' input")
        fed = {k: a for k in self.noise if (a := self._array(request, k)) is not None}
        if fed and len(fed) != len(self.noise):
            lacking = next(k for k in self.noise if k not in fed)
            raise SnnDeployError(f"fed noise lacks '{lacking}': send all {len(self.noise)} noise tensors or none")
        if not np.isfinite(images).all():
            raise SnnDeployError("images contain NaN or infinite values")
        for name, value in fed.items():
            if len(value) != len(images):
                raise SnnDeployError(f"input '{name}' has batch {len(value)}, images have {len(images)}")
            if not np.isfinite(value).all():
                raise SnnDeployError(f"noise input '{name}' contains NaN or infinite values")
        return images, fed or None

    def _run(self, images: np.ndarray, noise: dict[str, np.ndarray] | None) -> np.ndarray:
        """Logits for any number of images, in the runner's own runs (Runner.chunks: at most its maximum batch, a
        short run zero-padded to its minimum); fed draws are cut and padded alike."""
        runner = self.runner
        out = []
        for start, n, x in runner.chunks(images, len(images)):
            if noise:
                feed = {k: v[start:start + n] for k, v in noise.items()}
                if len(x) > n:
                    feed = {k: np.concatenate([v, np.zeros((len(x) - n, *v.shape[1:]), v.dtype)])
                            for k, v in feed.items()}
            else:
                feed = runner.draw_noise(len(x), self.rng)
            out.append(runner.infer(x, feed)[:n])
        return np.concatenate(out)

    def execute(self, requests: list[Any]) -> list[Any]:
        pb = self.pb
        answers: list[Any] = [None] * len(requests)
        good: list[tuple[int, np.ndarray, dict[str, np.ndarray] | None]] = []
        for i, request in enumerate(requests):
            try:
                good.append((i, *self._feeds(request)))
            except SnnDeployError as exc:
                answers[i] = pb.InferenceResponse(error=pb.TritonError(str(exc)))
        if good:
            images = np.concatenate([x for _, x, _ in good])
            if any(noise is not None for _, _, noise in good):  # fed where sent, drawn for the others
                parts = [noise if noise is not None else self.runner.draw_noise(len(x), self.rng)
                         for _, x, noise in good]
                noise = {k: np.concatenate([p[k] for p in parts]) for k in self.noise}
            else:
                noise = None
            try:
                logits = self._run(images, noise)
            except SnnDeployError as exc:
                for i, _, _ in good:
                    answers[i] = pb.InferenceResponse(error=pb.TritonError(str(exc)))
                return answers
            index, conf = confidence(logits, self.loss)
            start = 0
            for i, x, _ in good:
                stop = start + len(x)
                answers[i] = pb.InferenceResponse(output_tensors=[
                    pb.Tensor.from_dlpack("logits", np.ascontiguousarray(logits[start:stop], np.float32)),
                    pb.Tensor.from_dlpack("labels", np.ascontiguousarray(index[start:stop, None], np.int64)),
                    pb.Tensor.from_dlpack("confidence", np.ascontiguousarray(conf[start:stop, None], np.float32))])
                start = stop
        return answers

    def finalize(self) -> None:
        self.runner.deactivate()
