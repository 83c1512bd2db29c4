"""Stand-in for the ``tensorrt`` package: the builder, network, ONNX parser, builder config, optimization profile,
timing cache, runtime, engine and execution context (the last three in trt_runtime.py) that snndeploy and
Polygraphy's loaders touch, with the real names and calling conventions (TensorRT 10 Python API), recording what
they are asked to do in ``CALLS``.

It is not TensorRT. The parser reads only the ONNX graph's inputs and outputs; the "plan" is JSON describing them
with the builder settings; an execution context "runs" it on stubs.cudart memory as
``logits[b, k] = (k + 1) * mean(images[b]) + sum over noise inputs of mean(noise[b])``, so a test can check the
data path (shapes, addresses, copies), never numerics or what TensorRT accepts.
"""

from __future__ import annotations

import enum
import json
from typing import Any

import numpy as np

__version__ = "10.3.0"
CALLS: list[tuple[str, tuple]] = []
STATE: dict[str, Any] = {}
_MAGIC = b"STUBPLAN"


def reset(version: str = "10.3.0", dla_cores: int = 0, deserialize: str = "ok") -> None:
    """``deserialize``: "ok", or "raise" (deserialize_cuda_engine raises, as some releases do)."""
    global __version__
    __version__ = version
    CALLS.clear()
    STATE.clear()
    STATE.update(dla_cores=dla_cores, deserialize=deserialize)


def calls(what: str) -> list[tuple]:
    return [args for name, args in CALLS if name == what]


def _record(what: str, *args: Any) -> None:
    CALLS.append((what, args))


class BuilderFlag(enum.IntEnum):
    FP16 = 0
    BF16 = 1
    INT8 = 2
    DEBUG = 3
    GPU_FALLBACK = 4
    REFIT = 6
    DISABLE_TIMING_CACHE = 7
    TF32 = 8
    OBEY_PRECISION_CONSTRAINTS = 11
    PREFER_PRECISION_CONSTRAINTS = 12
    DIRECT_IO = 13
    VERSION_COMPATIBLE = 15
    FP8 = 17


class NetworkDefinitionCreationFlag(enum.IntEnum):
    EXPLICIT_BATCH = 0
    STRONGLY_TYPED = 1


class MemoryPoolType(enum.IntEnum):
    WORKSPACE = 0
    DLA_MANAGED_SRAM = 1
    DLA_LOCAL_DRAM = 2
    DLA_GLOBAL_DRAM = 3


DeviceType = enum.IntEnum("DeviceType", {"GPU": 0, "DLA": 1})
ProfilingVerbosity = enum.IntEnum("ProfilingVerbosity", {"LAYER_NAMES_ONLY": 0, "NONE": 1, "DETAILED": 2})
LayerType = enum.IntEnum("LayerType", {"SHAPE": 0, "QUANTIZE": 1, "DEQUANTIZE": 2})
OnnxParserFlag = enum.IntEnum("OnnxParserFlag", {"NATIVE_INSTANCENORM": 0})
TensorIOMode = enum.IntEnum("TensorIOMode", {"NONE": 0, "INPUT": 1, "OUTPUT": 2})
DataType = enum.IntEnum("DataType", {"FLOAT": 0, "HALF": 1, "INT8": 2, "INT32": 3})
float32, float16 = DataType.FLOAT, DataType.HALF
_NUMPY = {DataType.FLOAT: np.float32, DataType.HALF: np.float16, DataType.INT8: np.int8, DataType.INT32: np.int32}
_ONNX = {1: DataType.FLOAT, 10: DataType.HALF}


def nptype(trt_type: DataType) -> type:
    return _NUMPY[trt_type]


def init_libnvinfer_plugins(logger: Any, namespace: str) -> bool:
    return True


class ILogger:
    INTERNAL_ERROR, ERROR, WARNING, INFO, VERBOSE = range(5)

    def __init__(self) -> None:
        pass


class Logger(ILogger):
    def __init__(self, min_severity: int = ILogger.WARNING) -> None:
        super().__init__()
        self.min_severity = min_severity

    def log(self, severity: int, msg: str) -> None:
        pass


class HostMemory(bytes):
    """IHostMemory: a buffer that is also a context manager."""

    def __enter__(self) -> HostMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


class Tensor:
    def __init__(self, name: str, shape: tuple[int, ...], dtype: DataType) -> None:
        self.name, self.shape, self.dtype, self.is_shape_tensor = name, shape, dtype, False


class Network:
    def __init__(self, flags: int) -> None:
        self.flags, self.inputs, self.outputs, self.name = flags, [], [], "stub"

    def get_flag(self, flag: NetworkDefinitionCreationFlag) -> bool:
        return bool(self.flags & (1 << int(flag)))

    num_inputs = property(lambda self: len(self.inputs))
    num_outputs = property(lambda self: len(self.outputs))
    num_layers = property(lambda self: 0)

    def get_input(self, i: int) -> Tensor:
        return self.inputs[i]

    def get_output(self, i: int) -> Tensor:
        return self.outputs[i]

    def __iter__(self):
        return iter(())


class OnnxParser:
    def __init__(self, network: Network, logger: Any) -> None:
        self.network, self.flags, self.num_errors = network, 0, 0

    def clear_flag(self, flag: OnnxParserFlag) -> None:
        self.flags &= ~(1 << int(flag))

    def get_error(self, index: int) -> str:
        return ""

    def parse_from_file(self, path: str) -> bool:
        import onnx

        _record("parse_from_file", path)
        graph = onnx.load(path, load_external_data=False).graph
        for infos, into in ((graph.input, self.network.inputs), (graph.output, self.network.outputs)):
            for vi in infos:
                t = vi.type.tensor_type
                into.append(Tensor(vi.name, tuple(d.dim_value or -1 for d in t.shape.dim), _ONNX[t.elem_type]))
        return True


class OptimizationProfile:
    def __init__(self) -> None:
        self.shapes: dict[str, list[tuple[int, ...]]] = {}

    def set_shape(self, name: str, min: Any, opt: Any, max: Any) -> None:  # noqa: A002 - TensorRT's names
        _record("set_shape", name, tuple(min), tuple(opt), tuple(max))
        self.shapes[name] = [tuple(min), tuple(opt), tuple(max)]

    def __bool__(self) -> bool:
        return bool(self.shapes)


class TimingCache:
    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)

    def serialize(self) -> HostMemory:
        return HostMemory(b"stub timing cache:" + self.data[-32:])

    def combine(self, other: TimingCache, ignore_mismatch: bool) -> bool:
        return True


class BuilderConfig:
    def __init__(self) -> None:
        self.flags: set[BuilderFlag] = {BuilderFlag.TF32}
        self.pools: dict[MemoryPoolType, int] = {}
        self.profiles: list[OptimizationProfile] = []
        self.default_device_type, self.DLA_core = DeviceType.GPU, -1
        self.profiling_verbosity = ProfilingVerbosity.LAYER_NAMES_ONLY
        self.int8_calibrator, self.timing_cache = None, None

    def set_flag(self, flag: BuilderFlag) -> None:
        self.flags.add(flag)

    def clear_flag(self, flag: BuilderFlag) -> None:
        self.flags.discard(flag)

    def get_flag(self, flag: BuilderFlag) -> bool:
        return flag in self.flags

    def set_memory_pool_limit(self, pool: MemoryPoolType, pool_size: int) -> None:
        self.pools[pool] = pool_size

    def get_memory_pool_limit(self, pool: MemoryPoolType) -> int:
        return self.pools.get(pool, 0)

    def add_optimization_profile(self, profile: OptimizationProfile) -> int:
        self.profiles.append(profile)
        return len(self.profiles) - 1

    num_optimization_profiles = property(lambda self: len(self.profiles))

    def create_timing_cache(self, data: bytes) -> TimingCache:
        _record("create_timing_cache", bytes(data))
        return TimingCache(data)

    def set_timing_cache(self, cache: TimingCache, ignore_mismatch: bool) -> bool:
        self.timing_cache = cache
        return True

    def get_timing_cache(self) -> TimingCache | None:
        return self.timing_cache


class Builder:
    def __init__(self, logger: Any) -> None:
        self.logger = logger
        _record("Builder", logger)

    num_DLA_cores = property(lambda self: STATE["dla_cores"])

    def create_network(self, flags: int = 0) -> Network:
        return Network(flags)

    def create_builder_config(self) -> BuilderConfig:
        return BuilderConfig()

    def create_optimization_profile(self) -> OptimizationProfile:
        return OptimizationProfile()

    def build_serialized_network(self, network: Network, config: BuilderConfig) -> HostMemory | None:
        """The settings a real build would take, as a JSON plan; a dynamic input without a profile fails."""
        shapes = config.profiles[0].shapes if config.profiles else {}
        inputs = {}
        for t in network.inputs:
            if t.name not in shapes and -1 in t.shape:
                return None
            inputs[t.name] = {"dtype": int(t.dtype), "profile": shapes.get(t.name, [t.shape] * 3)}
        plan = {"version": __version__, "inputs": inputs,
                "outputs": {t.name: {"dtype": int(t.dtype), "shape": t.shape} for t in network.outputs},
                "strongly_typed": network.get_flag(NetworkDefinitionCreationFlag.STRONGLY_TYPED),
                "flags": sorted(f.name for f in config.flags), "pools": {p.name: v for p, v in config.pools.items()},
                "device": DeviceType(config.default_device_type).name, "dla_core": config.DLA_core,
                "profiling_verbosity": ProfilingVerbosity(config.profiling_verbosity).name,
                "timing_cache": None if config.timing_cache is None else config.timing_cache.data.hex()}
        text = json.dumps(plan)
        _record("build_serialized_network", json.loads(text))
        return HostMemory(_MAGIC + text.encode())


def make_plan(onnx_path: Any, shapes: dict[str, dict[str, list[int]]], dla_core: int | None = None) -> bytes:
    """The plan ``build_serialized_network`` makes from an ONNX file with this profile, for runner tests that do
    without Polygraphy; clears ``CALLS`` afterwards."""
    network = Network(1 << int(NetworkDefinitionCreationFlag.STRONGLY_TYPED))
    OnnxParser(network, None).parse_from_file(str(onnx_path))
    config, profile = BuilderConfig(), OptimizationProfile()
    for name, s in shapes.items():
        profile.set_shape(name, s["min"], s["opt"], s["max"])
    config.add_optimization_profile(profile)
    if dla_core is not None:
        config.default_device_type, config.DLA_core = DeviceType.DLA, dla_core
    plan = Builder(None).build_serialized_network(network, config)
    CALLS.clear()
    return bytes(plan)




# The run side lives in its own module; it reads the names above when called.
from .trt_runtime import ICudaEngine, IExecutionContext, Runtime  # noqa: E402, F401
