"""Stand-in for ``cuda.bindings.runtime``: the calls ``snndeploy.engine.cuda`` makes, with the real calling
convention (every call returns a tuple, the cudaError_t first). "Device" memory is host memory from ctypes, so
copies are real byte copies that a test can check; every call is recorded in ``CALLS``."""

from __future__ import annotations

import ctypes
import enum
from dataclasses import dataclass
from typing import Any


class cudaError_t(enum.IntEnum):
    cudaSuccess = 0
    cudaErrorInvalidValue = 1
    cudaErrorMemoryAllocation = 2
    cudaErrorInitializationError = 3
    cudaErrorInsufficientDriver = 35
    cudaErrorNoDevice = 100
    cudaErrorInvalidResourceHandle = 400


class cudaMemcpyKind(enum.IntEnum):
    cudaMemcpyHostToHost = 0
    cudaMemcpyHostToDevice = 1
    cudaMemcpyDeviceToHost = 2


class cudaStream_t:
    def __init__(self, value: int = 0) -> None:
        self._value = value

    def __int__(self) -> int:
        return self._value


@dataclass
class cudaDeviceProp:
    name: bytes
    major: int
    minor: int


OK = cudaError_t.cudaSuccess
CALLS: list[tuple[str, tuple]] = []
ALLOCATIONS: dict[int, Any] = {}  # address -> ctypes buffer
STREAMS: set[int] = set()
STATE: dict[str, Any] = {}


def reset(device: tuple[str, int, int] | None = ("Stub GPU", 8, 7), driver: int = 12060) -> None:
    """A machine with ``device`` (name, major, minor; None: no GPU) and a driver for CUDA ``driver``."""
    CALLS.clear()
    ALLOCATIONS.clear()
    STREAMS.clear()
    STATE.update(device=device, driver=driver, next_stream=0x5000)


def calls(what: str) -> list[tuple]:
    return [args for name, args in CALLS if name == what]


def owner(ptr: int, nbytes: int) -> int | None:
    """The allocation holding [ptr, ptr + nbytes), if any."""
    for base, buf in ALLOCATIONS.items():
        if base <= ptr and ptr + nbytes <= base + ctypes.sizeof(buf):
            return base
    return None


def _device() -> cudaError_t:
    if STATE["device"] is None:
        return cudaError_t.cudaErrorInsufficientDriver if not STATE["driver"] else cudaError_t.cudaErrorNoDevice
    return OK


def cudaGetDeviceProperties(device: int) -> tuple:
    CALLS.append(("cudaGetDeviceProperties", (device,)))
    if (err := _device()) != OK:
        return err, None
    name, major, minor = STATE["device"]
    return OK, cudaDeviceProp(name.encode() + b"\0\0", major, minor)


def cudaMalloc(size: int) -> tuple:
    CALLS.append(("cudaMalloc", (size,)))
    if (err := _device()) != OK:
        return err, None
    buf = ctypes.create_string_buffer(size)
    ALLOCATIONS[ctypes.addressof(buf)] = buf
    return OK, ctypes.addressof(buf)


def cudaFree(ptr: int) -> tuple:
    CALLS.append(("cudaFree", (ptr,)))
    if ALLOCATIONS.pop(ptr, None) is None:
        return (cudaError_t.cudaErrorInvalidValue,)
    return (OK,)


def cudaMemcpyAsync(dst: int, src: int, count: int, kind: cudaMemcpyKind, stream: cudaStream_t) -> tuple:
    CALLS.append(("cudaMemcpyAsync", (dst, src, count, kind, int(stream))))
    device = dst if kind == cudaMemcpyKind.cudaMemcpyHostToDevice else src
    if int(stream) not in STREAMS:
        return (cudaError_t.cudaErrorInvalidResourceHandle,)
    if kind not in (cudaMemcpyKind.cudaMemcpyHostToDevice, cudaMemcpyKind.cudaMemcpyDeviceToHost) \
            or owner(device, count) is None:
        return (cudaError_t.cudaErrorInvalidValue,)
    ctypes.memmove(dst, src, count)
    return (OK,)


def cudaStreamCreate() -> tuple:
    CALLS.append(("cudaStreamCreate", ()))
    if (err := _device()) != OK:
        return err, None
    STATE["next_stream"] += 0x10
    STREAMS.add(STATE["next_stream"])
    return OK, cudaStream_t(STATE["next_stream"])


def cudaStreamSynchronize(stream: cudaStream_t) -> tuple:
    CALLS.append(("cudaStreamSynchronize", (int(stream),)))
    return (OK if int(stream) in STREAMS else cudaError_t.cudaErrorInvalidResourceHandle,)


def cudaStreamDestroy(stream: cudaStream_t) -> tuple:
    CALLS.append(("cudaStreamDestroy", (int(stream),)))
    if int(stream) not in STREAMS:
        return (cudaError_t.cudaErrorInvalidResourceHandle,)
    STREAMS.discard(int(stream))
    return (OK,)


def cudaGetErrorName(err: cudaError_t) -> tuple:
    return OK, cudaError_t(err).name.encode()


def cudaDriverGetVersion() -> tuple:
    return OK, STATE["driver"]


def cudaRuntimeGetVersion() -> tuple:
    return OK, 12080
