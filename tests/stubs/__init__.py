"""Stand-ins for TensorRT (``stubs.tensorrt``) and cuda-python's runtime bindings (``stubs.cudart``) for contract
tests on the CPU: they record what snndeploy, and Polygraphy's loaders on its behalf, ask of them. They check the
calls made, never what real TensorRT accepts or computes; that takes a run on a GPU."""

from __future__ import annotations

import sys
from types import ModuleType
from typing import Any


def _forget_tensorrt() -> None:
    """Polygraphy imports TensorRT lazily and keeps the module it found: make it look again."""
    for name, module in list(sys.modules.items()):
        if not name.startswith("polygraphy") or module is None:
            continue
        for value in list(vars(module).values()):
            cached = vars(value).get("module") if type(value).__name__ == "LazyModule" else None
            if isinstance(cached, ModuleType) and cached.__name__ in ("tensorrt", "stubs.tensorrt"):
                object.__setattr__(value, "module", None)


def install(monkeypatch: Any, *, version: str = "10.3.0", dla_cores: int = 0,
            device: tuple[str, int, int] | None = ("Stub GPU", 8, 7)) -> tuple[ModuleType, ModuleType]:
    """Put the stubs in place of ``tensorrt`` and of ``snndeploy.engine.cuda.cudart``; returns (trt, cudart).
    Call ``uninstall()`` when done (the fixture that calls this does, after the test)."""
    from snndeploy.engine import cuda

    from . import cudart, tensorrt

    tensorrt.reset(version=version, dla_cores=dla_cores)
    cudart.reset(device=device)
    monkeypatch.setitem(sys.modules, "tensorrt", tensorrt)
    monkeypatch.setattr(cuda, "cudart", cudart)
    _forget_tensorrt()
    util = sys.modules.get("polygraphy.backend.trt.util")
    if util is not None:  # its TensorRT logger subclasses the ILogger of the module it was made with
        monkeypatch.setattr(util, "TRT_LOGGER", None)
    return tensorrt, cudart


def uninstall() -> None:
    _forget_tensorrt()
    util = sys.modules.get("polygraphy.backend.trt.util")
    if util is not None:
        util.TRT_LOGGER = None
