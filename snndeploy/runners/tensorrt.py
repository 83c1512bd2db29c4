"""TensorRT runner: a plan plus its sidecar, run through TensorRT's own runtime API (IRuntime -> ICudaEngine ->
IExecutionContext; set_input_shape, set_tensor_address and execute_async_v3 on a CUDA stream), with device memory
and streams from ``snndeploy.engine.cuda`` (cuda-bindings; that module says why not Polygraphy's CUDA wrapper)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import numpy as np

from ..artifacts import sidecar
from ..core.errors import SnnDeployError
from ..core.facts import ArtifactFacts
from ..core.install import tensorrt_hint
from ..engine import cuda
from ..engine.build import _tensorrt
from ..engine.trt_logger import process_logger
from .base import BackendUnavailable, Runner

OUTPUT = "logits"


class TensorRTRunner(Runner):
    """Runs an engine built by `snndeploy build` on this machine's GPU (or the DLA core it was built for)."""

    backend = "tensorrt"

    @classmethod
    def unavailable(cls, device: str) -> str | None:
        """No TensorRT, no cuda-bindings, no driver or no GPU here (one line)."""
        if importlib.util.find_spec("tensorrt") is None:
            return f"TensorRT is not installed ({tensorrt_hint()})"
        try:
            cuda.device_info()
        except SnnDeployError as exc:
            return str(exc)
        return None

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._facts, self.info = sidecar.read(self.path)  # checked before anything needs TensorRT
        self._logger: Any = None  # the process's one TensorRT logger (snndeploy.engine.trt_logger)
        self._mark = 0  # its error count when this runner opened: the errors after it are this runner's
        self._runtime: Any = None
        self._engine: Any = None
        self._context: Any = None
        self._stream: cuda.Stream | None = None
        self._buffers: dict[str, cuda.DeviceBuffer] = {}
        self._dtypes: dict[str, Any] = {}

    @property
    def facts(self) -> ArtifactFacts:
        return self._facts

    @property
    def min_batch(self) -> int:
        return int(self.info["shapes"]["images"]["min"][0])

    @property
    def max_batch(self) -> int:
        """The engine's profile maximum (activation checks that the plan's profile is the sidecar's)."""
        return int(self.info["shapes"]["images"]["max"][0])

    @property
    def dla_core(self) -> int | None:
        """The DLA core the engine was built for (None: GPU)."""
        return self.info.get("dla_core")

    # -- lifecycle ---------------------------------------------------------------------------------------
    def _activate_impl(self) -> None:
        try:
            self._open()
        except BaseException:
            self._release()
            raise

    def _open(self) -> None:
        try:
            trt = _tensorrt()
            _, cc = cuda.device_info()
        except SnnDeployError as exc:  # no TensorRT, no cuda-bindings, no driver or no GPU here
            raise BackendUnavailable(str(exc)) from None
        sidecar.check_compatible(self.info, trt.__version__, cc, self.name)
        plan = sidecar.check_plan(self.path, self.info)
        self._logger = process_logger(trt)
        self._mark = self._logger.count
        self._runtime = trt.Runtime(self._logger)
        if self.dla_core is not None:
            have = self._runtime.num_DLA_cores
            if self.dla_core >= have:
                raise BackendUnavailable(f"{self.name} was built for DLA core {self.dla_core}, this device has "
                                         f"{have} DLA core(s)")
            self._runtime.DLA_core = self.dla_core  # set before deserializing, as TensorRT requires
        try:
            self._engine = self._runtime.deserialize_cuda_engine(plan)
        except Exception as exc:  # some releases raise instead of returning None
            self._logger.log(trt.Logger.ERROR, str(exc))
        if self._engine is None:
            raise SnnDeployError(f"TensorRT {trt.__version__} could not load {self.name} ({self._why()}); rebuild it "
                                 "here with `snndeploy build`")
        self._check_io(trt)
        self._context = self._engine.create_execution_context()
        if self._context is None:
            raise SnnDeployError(f"TensorRT could not create an execution context for {self.name} ({self._why()})")
        self._stream = cuda.Stream()
        self._buffers = {name: cuda.DeviceBuffer() for name in self._dtypes}

    def _check_io(self, trt: Any) -> None:
        """The plan's inputs, output and profile against what the sidecar and the facts say."""
        engine = self._engine
        names = [engine.get_tensor_name(i) for i in range(engine.num_io_tensors)]
        inputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT]
        outputs = [n for n in names if engine.get_tensor_mode(n) == trt.TensorIOMode.OUTPUT]
        want = [i.name for i in self.inputs()]
        if sorted(inputs) != sorted(want) or outputs != [OUTPUT]:
            raise SnnDeployError(f"{self.name} takes {', '.join(sorted(inputs))} and gives {', '.join(outputs)}; "
                                 f"its sidecar says {', '.join(sorted(want))} -> {OUTPUT}: rebuild it with "
                                 "`snndeploy build`")
        shapes = self.info["shapes"]
        for name in inputs:
            got = [list(map(int, d)) for d in engine.get_tensor_profile_shape(name, 0)]
            side = [shapes[name][k] for k in ("min", "opt", "max")]
            if got != side:
                raise SnnDeployError(f"{self.name}: the plan's profile for '{name}' is min/opt/max {got}, its sidecar "
                                     f"says {side}; rebuild it with `snndeploy build`")
        self._dtypes = {n: np.dtype(trt.nptype(engine.get_tensor_dtype(n))) for n in names}

    def _deactivate_impl(self) -> None:
        self._release()

    def _release(self) -> None:
        """Free device memory and the stream, then drop context, engine and runtime in that order."""
        # every buffer and the stream are released even when one release fails; the first failure is raised
        releases = [buf.free for buf in self._buffers.values()] + ([self._stream.close] if self._stream else [])
        self._buffers, self._stream = {}, None
        self._context = self._engine = self._runtime = None
        failure: Exception | None = None
        for release in releases:
            try:
                release()
            except Exception as exc:  # noqa: BLE001 - keep releasing; report the first failure below
                failure = failure or exc
        if failure is not None:
            raise failure

    def _why(self) -> str:
        errors = self._logger.since(self._mark) if self._logger is not None else []
        return errors[-1].splitlines()[0] if errors and errors[-1] else "no message from TensorRT"

    # -- inference ---------------------------------------------------------------------------------------
    def _infer_impl(self, feeds: dict[str, np.ndarray]) -> np.ndarray:
        ctx, stream = self._context, self._stream
        staged = []  # host arrays stay alive until the stream is synchronized
        for name, value in feeds.items():
            host = np.ascontiguousarray(value, dtype=self._dtypes[name])
            staged.append(host)
            if not ctx.set_input_shape(name, host.shape):
                raise SnnDeployError(f"TensorRT refused shape {list(host.shape)} for '{name}' ({self._why()})")
            if not ctx.set_tensor_address(name, self._buffers[name].upload(host, stream)):
                raise SnnDeployError(f"TensorRT refused the device address of '{name}' ({self._why()})")
        shape = tuple(int(d) for d in ctx.get_tensor_shape(OUTPUT))
        if any(d < 0 for d in shape):
            raise SnnDeployError(f"TensorRT left the shape of '{OUTPUT}' unresolved: {list(shape)}")
        out = self._buffers[OUTPUT]
        nbytes = int(np.prod(shape)) * self._dtypes[OUTPUT].itemsize
        if not ctx.set_tensor_address(OUTPUT, out.reserve(max(nbytes, 1))):
            raise SnnDeployError(f"TensorRT refused the device address of '{OUTPUT}' ({self._why()})")
        if not ctx.execute_async_v3(stream.handle):
            raise SnnDeployError(f"TensorRT could not run {self.name} ({self._why()})")
        logits = out.download(shape, self._dtypes[OUTPUT], stream)  # a new array per call: never a shared buffer
        stream.synchronize()
        return logits.astype(np.float32, copy=False)

    def synchronize(self) -> None:
        """Wait for the stream (infer already waits for its own copies back)."""
        if self._stream is not None:
            self._stream.synchronize()
