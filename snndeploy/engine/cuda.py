"""CUDA device facts, device memory and streams for TensorRT engines, through cuda-python's runtime bindings.

Why ``cuda.bindings.runtime`` (the ``cuda-bindings`` wheel) and not a ctypes loader of libcudart.so: the bindings
link the CUDA runtime statically and open only the driver's libcuda.so.1 (NVIDIA/cuda-python,
cuda_bindings/docs/source/install.md lists the static CUDA runtime as a build requirement), so there is no
libcudart.so to find at all. Polygraphy's ctypes wrapper looks for libcudart.so only on LD_LIBRARY_PATH and in
system folders (NVIDIA/TensorRT tools/Polygraphy/polygraphy/cuda/cuda.py, Polygraphy 0.49), which misses the
nvidia/cuda_runtime/lib folder of pip's CUDA wheels. TensorRT's own Python samples use the same bindings
(NVIDIA/TensorRT samples/python/common_runtime.py). Every call returns a tuple whose first item is the error.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.errors import SnnDeployError
from ..core.install import tensorrt_hint
from ..core.lazy import lazy_import

INSTALL = tensorrt_hint()  # cuda-bindings comes with TensorRT's install line
cudart = lazy_import("cuda.bindings.runtime", INSTALL)
# cudaError_t values that mean "no usable GPU here" rather than a fault of the code or the artifact
_UNAVAILABLE = {35: "driver", 100: "device", 3: "init"}  # InsufficientDriver, NoDevice, InitializationError


class CudaUnavailable(SnnDeployError):
    """No usable NVIDIA driver or GPU on this machine, or no cuda-bindings."""


def _name(err: Any) -> str:
    res = cudart.cudaGetErrorName(err)
    name = res[1] if len(res) > 1 else b""
    return name.decode() if isinstance(name, bytes) else str(name)


def _unavailable(code: int) -> CudaUnavailable:
    if code == 35:
        driver = call(cudart.cudaDriverGetVersion(), "cudaDriverGetVersion")
        runtime = call(cudart.cudaRuntimeGetVersion(), "cudaRuntimeGetVersion")
        if not driver:
            return CudaUnavailable("no NVIDIA driver found (libcuda.so.1); TensorRT engines need an NVIDIA GPU")
        return CudaUnavailable(f"the NVIDIA driver supports CUDA {driver // 1000}.{driver % 1000 // 10}, "
                               f"cuda-bindings needs CUDA {runtime // 1000}.{runtime % 1000 // 10}: install the "
                               f"cuda-bindings that fits the driver (pip install 'cuda-bindings=={driver // 1000}.*')")
    return CudaUnavailable("no NVIDIA GPU visible to CUDA; TensorRT engines are built and run on an NVIDIA GPU")


def call(result: Any, what: str) -> Any:
    """The value of one cuda-bindings call (None, one value or a tuple), or a one-line error naming ``what``."""
    err, *values = result
    code = int(getattr(err, "value", err))
    if code:
        if code in _UNAVAILABLE:
            raise _unavailable(code)
        raise SnnDeployError(f"CUDA error in {what}: {_name(err)} ({code})")
    return None if not values else values[0] if len(values) == 1 else tuple(values)


def device_info(device: int = 0) -> tuple[str, str]:
    """Name and compute capability ("8.7") of a GPU, or CudaUnavailable without one."""
    prop = call(cudart.cudaGetDeviceProperties(device), "cudaGetDeviceProperties")
    name = prop.name.split(b"\0")[0].decode() if isinstance(prop.name, bytes) else str(prop.name)
    return name, f"{prop.major}.{prop.minor}"


class Stream:
    """One CUDA stream; ``handle`` is the integer TensorRT's execute_async_v3 takes."""

    def __init__(self) -> None:
        self._stream: Any = call(cudart.cudaStreamCreate(), "cudaStreamCreate")

    @property
    def handle(self) -> int:
        return int(self._stream)

    def synchronize(self) -> None:
        if self._stream is not None:
            call(cudart.cudaStreamSynchronize(self._stream), "cudaStreamSynchronize")

    def close(self) -> None:
        if self._stream is not None:
            stream, self._stream = self._stream, None
            call(cudart.cudaStreamDestroy(stream), "cudaStreamDestroy")


class DeviceBuffer:
    """Device memory that grows to the largest size asked for; copies go through a Stream."""

    def __init__(self) -> None:
        self.ptr = 0
        self.nbytes = 0

    def reserve(self, nbytes: int) -> int:
        """At least ``nbytes`` of device memory (reallocated only to grow); returns the address."""
        if nbytes > self.nbytes:
            self.free()
            self.ptr = int(call(cudart.cudaMalloc(nbytes), "cudaMalloc"))
            self.nbytes = nbytes
        return self.ptr

    def upload(self, host: np.ndarray, stream: Stream) -> int:
        """Queue a copy of a C-contiguous host array into this buffer; returns the device address."""
        ptr = self.reserve(max(host.nbytes, 1))
        call(cudart.cudaMemcpyAsync(ptr, host.ctypes.data, host.nbytes,
                                    cudart.cudaMemcpyKind.cudaMemcpyHostToDevice, stream._stream), "cudaMemcpyAsync")
        return ptr

    def download(self, shape: tuple[int, ...], dtype: Any, stream: Stream) -> np.ndarray:
        """A new host array filled from the front of this buffer; valid once the stream is synchronized."""
        host = np.empty(shape, dtype)
        if host.nbytes > self.nbytes:
            raise SnnDeployError(f"output of {host.nbytes} bytes does not fit its {self.nbytes}-byte device buffer")
        call(cudart.cudaMemcpyAsync(host.ctypes.data, self.ptr, host.nbytes,
                                    cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost, stream._stream), "cudaMemcpyAsync")
        return host

    def free(self) -> None:
        if self.ptr:
            ptr, self.ptr, self.nbytes = self.ptr, 0, 0
            call(cudart.cudaFree(ptr), "cudaFree")
