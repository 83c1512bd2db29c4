"""The one TensorRT logger of this process, shared by `build` (Polygraphy's loaders) and every TensorRT runner.

TensorRT's ILogger reference says the logger given to a builder or runtime "is used for all objects created
through that interface" (TensorRT 8.2 and later), and until TensorRT 8.0 that "the logger is internally
considered a singleton, and thus multiple instances of IRuntime and/or IBuilder must all use the same logger"
(docs.nvidia.com/deeplearning/tensorrt/archives/tensorrt-800-ea/api/c_api/classnvinfer1_1_1_i_logger.html).
Polygraphy follows the same rule: every loader takes ``polygraphy.backend.trt.util.get_trt_logger()``, a
process-wide singleton (NVIDIA/TensorRT tools/Polygraphy/polygraphy/backend/trt/util.py). A second logger per
runtime risks its messages going to the first one, and a runner's one-line errors saying "no message from
TensorRT"; so there is one, it keeps the errors (each user reads those logged since its own mark) and prints the
warnings, and it is handed to Polygraphy before a build.
"""

from __future__ import annotations

import sys
from typing import Any

KEEP = 200  # errors kept: enough for any one call's messages, bounded for a long-running server
_LOGGER: tuple[Any, Any] | None = None  # (tensorrt module, its logger)


def process_logger(trt: Any) -> Any:
    """The logger of this process for the TensorRT module ``trt`` (made on first use)."""
    global _LOGGER
    if _LOGGER is None or _LOGGER[0] is not trt:
        _LOGGER = (trt, _make(trt))
    return _LOGGER[1]


def _make(trt: Any) -> Any:
    class Logger(trt.ILogger):
        """Keeps errors (for one-line messages) and prints warnings to stderr."""

        def __init__(self) -> None:
            trt.ILogger.__init__(self)
            self.errors: list[str] = []
            self.count = 0  # errors logged so far, kept or not: a user's mark

        def log(self, severity: Any, msg: str) -> None:
            if severity in (trt.Logger.INTERNAL_ERROR, trt.Logger.ERROR):
                self.count += 1
                self.errors = [*self.errors[-(KEEP - 1):], msg]
            elif severity == trt.Logger.WARNING:
                print(f"TensorRT: {msg}", file=sys.stderr)

        def since(self, mark: int) -> list[str]:
            """The kept errors logged after ``count`` was ``mark``."""
            return self.errors[len(self.errors) - min(self.count - mark, len(self.errors)):]

    return Logger()


def share_with_polygraphy(trt: Any) -> Any:
    """Make Polygraphy's loaders use the process logger; returns it. Where Polygraphy already made its own (an earlier
    Polygraphy call in this process), that one stays: TensorRT may already hold it."""
    logger = process_logger(trt)
    from polygraphy.backend.trt import util

    if util.TRT_LOGGER is None:
        util.TRT_LOGGER = logger
    return logger
