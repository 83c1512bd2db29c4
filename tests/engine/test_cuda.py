"""The CUDA layer of the TensorRT path (snndeploy/engine/cuda.py): calling convention, copies, growth and errors
against the stub bindings in tests/stubs, and the real cuda-bindings' answer on a machine without a GPU."""

import importlib.util
import re

import numpy as np
import pytest
import stubs

from snndeploy.core.errors import SnnDeployError
from snndeploy.core.install import tensorrt_hint
from snndeploy.core.lazy import lazy_import
from snndeploy.engine import cuda


@pytest.fixture
def cudart(monkeypatch):
    _, cudart = stubs.install(monkeypatch)
    yield cudart
    stubs.uninstall()


def test_copies_round_trip_and_buffers_only_grow(cudart):
    stream, buf = cuda.Stream(), cuda.DeviceBuffer()
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    ptr = buf.upload(x, stream)
    assert list(cudart.ALLOCATIONS) == [ptr] and buf.nbytes == x.nbytes
    # a smaller copy goes into the same memory, and its own bytes come back (not what the buffer held before)
    assert buf.upload(x[1:2], stream) == ptr and buf.nbytes == x.nbytes
    back = buf.download((1, 4), np.float32, stream)
    stream.synchronize()
    np.testing.assert_array_equal(back, x[1:2])
    # growing frees the old memory, allocates the new size and copies every byte of the larger array
    bigger = np.arange(24, dtype=np.float32).reshape(6, 4) + 100
    grown = buf.upload(bigger, stream)
    assert list(cudart.ALLOCATIONS) == [grown] and buf.nbytes == bigger.nbytes
    np.testing.assert_array_equal(buf.download((6, 4), np.float32, stream), bigger)
    sizes = [count for _, _, count, _, _ in cudart.calls("cudaMemcpyAsync")]
    assert sizes == [x.nbytes, x[1:2].nbytes, 16, bigger.nbytes, bigger.nbytes]  # exactly the bytes asked for
    with pytest.raises(SnnDeployError, match="does not fit its 96-byte device buffer"):
        buf.download((7, 4), np.float32, stream)
    assert stream.handle == int(next(iter(cudart.STREAMS)))
    buf.free(), buf.free(), stream.close(), stream.close()  # releasing twice is harmless
    assert not cudart.ALLOCATIONS and not cudart.STREAMS


def test_errors_are_one_line(cudart):
    assert cuda.device_info() == ("Stub GPU", "8.7")
    with pytest.raises(SnnDeployError, match=r"CUDA error in cudaFree: cudaErrorInvalidValue \(1\)"):
        cuda.call(cudart.cudaFree(12345), "cudaFree")
    cudart.STATE["device"] = None
    with pytest.raises(cuda.CudaUnavailable, match="no NVIDIA GPU visible to CUDA"):
        cuda.device_info()
    cudart.STATE["driver"] = 0
    with pytest.raises(cuda.CudaUnavailable, match=r"no NVIDIA driver found \(libcuda.so.1\)"):
        cuda.Stream()


def test_old_driver_names_the_bindings_to_install(cudart, monkeypatch):
    cudart.STATE["device"] = None
    monkeypatch.setattr(cudart, "_device", lambda: cudart.cudaError_t.cudaErrorInsufficientDriver)
    monkeypatch.setattr(cudart, "cudaRuntimeGetVersion", lambda: (cudart.OK, 13050))
    with pytest.raises(cuda.CudaUnavailable, match=r"driver supports CUDA 12.6, cuda-bindings needs CUDA 13.5: .*"
                                                   r"pip install 'cuda-bindings==12\.\*'"):
        cuda.device_info()


def test_missing_bindings_name_the_extra(monkeypatch):
    monkeypatch.setattr(cuda, "cudart", lazy_import("cuda.bindings.not_a_module", cuda.INSTALL))
    with pytest.raises(SnnDeployError, match="is not installed: " + re.escape(str(tensorrt_hint()))):
        cuda.device_info()


def _has_gpu() -> bool:
    from cuda.bindings import runtime

    err, count = runtime.cudaGetDeviceCount()
    return int(err) == 0 and count > 0


@pytest.mark.skipif(importlib.util.find_spec("cuda.bindings") is None, reason="cuda-bindings not installed")
def test_real_bindings_without_a_gpu_say_so():
    if _has_gpu():
        pytest.skip("a GPU is visible here")
    with pytest.raises(cuda.CudaUnavailable, match="no NVIDIA (driver found|GPU visible)|NVIDIA driver supports"):
        cuda.device_info()
