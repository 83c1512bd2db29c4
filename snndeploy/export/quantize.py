"""INT8: a Q/DQ ONNX graph from NVIDIA ModelOpt's ONNX post-training quantization, calibrated on
training images; one graph serves ONNX Runtime and TensorRT 10/11 (strongly typed)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import onnx

from ..artifacts import metadata
from ..artifacts.naming import graph_name
from ..core import atomic, files
from ..core.errors import SnnDeployError
from ..core.install import hint
from ..core.lazy import NotInstalled, lazy_import
from ..core.outputs import refuse_existing
from ..data.datasets import iterate_batches, load_dataset


@dataclass
class Quantized:
    """The written Q/DQ graph."""

    path: Path
    qdq_nodes: int
    seconds: float


def _no_modelopt(missing: str) -> NotInstalled:
    """The one-line error of a quantize without ModelOpt (or a library it imports): ``missing``."""
    return NotInstalled(f"INT8 needs NVIDIA ModelOpt: {hint('int8')} (missing: {missing})", name=missing,
                        install=hint("int8"))


def require_modelopt() -> None:
    """Refuse (NotInstalled) where ModelOpt is not installed, without importing it (it loads PyTorch): bench
    plans its int8 rows as status rows then, before exporting a graph that could not be quantized."""
    if not lazy_import("modelopt", hint("int8")).available():
        raise _no_modelopt("modelopt")


def _modelopt_quantize():
    try:
        from modelopt.onnx.quantization import quantize
    except ImportError as exc:
        raise _no_modelopt(getattr(exc, "name", None) or "modelopt") from None
    return quantize


def _work_folder(target: Path) -> Path:
    """Where ModelOpt works: beside the target, unless that path holds ".onnx" (ModelOpt names its intermediate
    files by ``path.replace(".onnx", "_ir10.onnx")``, which would rename a folder too): then the system's temp
    folder. The temp folder's own name (``atomic.temp_dir``) holds no ".onnx"."""
    folder = target.parent.absolute()
    return folder if ".onnx" not in str(folder) else Path(tempfile.gettempdir())


def quantize_onnx(path: str | Path, calib: int = 256, out: str | Path | None = None, *,
                  method: str = "entropy", data_dir: str | None = None, overwrite: bool = False) -> Quantized:
    """Quantize one of our fp32 graphs (standard ops; export with --inline) to INT8 Q/DQ. An existing output is
    refused unless ``overwrite`` (and then replaced only if it is an snndeploy graph)."""
    path = Path(path)
    model, facts = metadata.load(path)
    trt = metadata.trt_target(model, path)  # the source's TensorRT target is the INT8 graph's too
    if calib < 1:
        raise SnnDeployError(f"--calib must be >= 1, got {calib}")
    if facts.precision != "fp32":
        raise SnnDeployError(f"{path} is {facts.precision}; quantize an fp32 graph")
    if model.functions:
        raise SnnDeployError(f"{path} has local functions; export it with --inline before quantizing")
    if facts.noise == "input":
        raise SnnDeployError(f"{path} takes its noise as inputs; quantize a --noise frozen or graph export")
    if method not in ("entropy", "max"):
        raise SnnDeployError(f"calibration method must be entropy or max, got '{method}'")
    int8 = dataclasses.replace(facts, precision="int8")
    # named by the one naming rule, so that the file and a Triton model of it carry the same name
    target = Path(out) if out else path.with_name(graph_name(int8) + ".onnx")
    refuse_existing(target, overwrite, metadata.is_ours)
    quantize = _modelopt_quantize()
    data = load_dataset(facts.data.name, data_dir or (facts.training.data_dir if facts.training else None),
                        limit_train=calib)
    images = next(iterate_batches(data.train, data.spec, calib, shuffle=False))[0].numpy()
    t0 = time.perf_counter()
    # ModelOpt's input and output, and whatever it writes beside either, live in a private temp folder beside the
    # target, named with this process's id: a killed quantize leaves a folder the next write there removes
    with atomic.temp_dir(_work_folder(target), "quantize") as tmp:
        source, raw = tmp / "fp32.onnx", tmp / "int8.onnx"
        source.write_bytes(model.SerializeToString())  # the graph checked above, not whatever `path` holds now
        # ModelOpt prints calibration progress; the CLI shows its own summary instead.
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            quantize(str(source), quantize_mode="int8", calibration_data={"images": images},
                     calibration_method=method, calibration_eps=["cpu"], high_precision_dtype="fp32",
                     output_path=str(raw), log_level="ERROR")
        try:
            q = onnx.load_model_from_string(files.read_bytes(raw, "ModelOpt's INT8 graph", "graph"))
        except SnnDeployError:
            raise
        except Exception as exc:  # protobuf's DecodeError: ModelOpt wrote no graph
            raise SnnDeployError(f"ModelOpt wrote no readable INT8 graph ({type(exc).__name__})") from None
    calibration = {"images": len(images), "method": method, "source_onnx": path.name}
    metadata.attach(q, int8, {"calibration": calibration, **({"trt": trt} if trt else {})})
    atomic.write_bytes(target, q.SerializeToString())
    qdq = sum(n.op_type in ("QuantizeLinear", "DequantizeLinear") for n in q.graph.node)
    return Quantized(target, qdq, time.perf_counter() - t0)
