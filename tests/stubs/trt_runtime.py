"""The run side of the TensorRT stand-in (tests/stubs/tensorrt.py re-exports it): IRuntime, ICudaEngine and
IExecutionContext over the JSON plans that its builder writes, executing on stubs.cudart memory."""

from __future__ import annotations

import ctypes
import json
from typing import Any

import numpy as np

from . import cudart
from . import tensorrt as trt


class Runtime:
    def __init__(self, logger: Any) -> None:
        self.logger, self.DLA_core, self.engine_host_code_allowed = logger, -1, False
        trt._record("Runtime", logger)

    num_DLA_cores = property(lambda self: trt.STATE["dla_cores"])

    def deserialize_cuda_engine(self, serialized_engine: bytes) -> ICudaEngine | None:
        data = bytes(serialized_engine)
        trt._record("deserialize_cuda_engine", len(data), self.DLA_core)
        if trt.STATE["deserialize"] == "raise":
            raise RuntimeError("stub: deserialization raised\nsecond line")
        if not data.startswith(trt._MAGIC):
            self.logger.log(trt.ILogger.ERROR, "IRuntime::deserializeCudaEngine: Error Code 1: Serialization "
                                               "(Serialization assertion magicTagRead == kMAGIC_TAG failed.)")
            return None
        plan = json.loads(data[len(trt._MAGIC):])
        if plan["version"] != trt.__version__:
            self.logger.log(trt.ILogger.ERROR, "The engine plan file is not compatible with this version of TensorRT, "
                                               f"expecting library version {trt.__version__} got {plan['version']}")
            return None
        if plan["device"] == "DLA" and self.DLA_core != plan["dla_core"]:
            self.logger.log(trt.ILogger.ERROR, f"engine built for DLA core {plan['dla_core']}, runtime has "
                                               f"{self.DLA_core}")
            return None
        return ICudaEngine(plan)


class ICudaEngine:
    def __init__(self, plan: dict[str, Any]) -> None:
        self.plan = plan
        self.names = [*plan["inputs"], *plan["outputs"]]

    num_io_tensors = property(lambda self: len(self.names))
    num_optimization_profiles = property(lambda self: 1)

    def get_tensor_name(self, index: int) -> str:
        return self.names[index]

    def get_tensor_mode(self, name: str) -> trt.TensorIOMode:
        return trt.TensorIOMode.INPUT if name in self.plan["inputs"] else trt.TensorIOMode.OUTPUT

    def get_tensor_dtype(self, name: str) -> trt.DataType:
        return trt.DataType({**self.plan["inputs"], **self.plan["outputs"]}[name]["dtype"])

    def get_tensor_profile_shape(self, name: str, profile_index: int) -> list[tuple[int, ...]]:
        return [tuple(s) for s in self.plan["inputs"][name]["profile"]]

    def create_execution_context(self) -> IExecutionContext:
        return IExecutionContext(self)


class IExecutionContext:
    def __init__(self, engine: ICudaEngine) -> None:
        self.engine, self.shapes, self.addresses = engine, {}, {}

    def set_input_shape(self, name: str, shape: Any) -> bool:
        shape = tuple(shape)
        trt._record("set_input_shape", name, shape)
        lo, _, hi = self.engine.plan["inputs"][name]["profile"]
        if len(shape) != len(lo) or not all(a <= s <= b for a, s, b in zip(lo, shape, hi, strict=True)):
            return False
        self.shapes[name] = shape
        return True

    def get_tensor_shape(self, name: str) -> tuple[int, ...]:
        if name in self.engine.plan["inputs"]:
            return self.shapes.get(name, (-1,))
        shape = self.engine.plan["outputs"][name]["shape"]
        return (self.shapes.get("images", (-1,))[0], *shape[1:])

    def set_tensor_address(self, name: str, memory: int) -> bool:
        trt._record("set_tensor_address", name, memory)
        self.addresses[name] = int(memory)
        return True

    def execute_async_v3(self, stream_handle: int) -> bool:
        """Checks that every tensor has a shape and an address inside a stub allocation, then runs the plan."""
        trt._record("execute_async_v3", stream_handle)
        if stream_handle not in cudart.STREAMS:
            return False
        arrays = {}
        for name in self.engine.names:
            shape = self.get_tensor_shape(name)
            dtype = np.dtype(trt.nptype(self.engine.get_tensor_dtype(name)))
            nbytes = int(np.prod(shape)) * dtype.itemsize
            if -1 in shape or name not in self.addresses or cudart.owner(self.addresses[name], nbytes) is None:
                return False
            raw = (ctypes.c_char * nbytes).from_address(self.addresses[name])
            arrays[name] = np.frombuffer(raw, dtype).reshape(shape)
        images = arrays.pop("images").astype(np.float64)
        (out,) = self.engine.plan["outputs"]
        logits = arrays.pop(out)
        batch = len(images)
        value = images.reshape(batch, -1).mean(1)[:, None] * np.arange(1, logits.shape[1] + 1)
        for noise in arrays.values():
            value = value + noise.reshape(batch, -1).astype(np.float64).mean(1)[:, None]
        logits[...] = value
        return True
