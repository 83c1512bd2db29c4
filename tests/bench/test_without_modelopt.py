"""`snndeploy bench --precision int8` on an install without NVIDIA ModelOpt (no `[int8]` extra): the int8 rows are
status rows with the install line, the fp32 rows are measured; `snndeploy quantize` says it in one line."""

import json
import subprocess
from pathlib import Path

from without import FAST, snndeploy_without

from snndeploy.bench.deploy import OK, BenchConfig, run_bench
from snndeploy.export import quantize
from snndeploy.export.exporter import ExportConfig, export


def no_modelopt(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """snndeploy ARGS run where ModelOpt cannot be imported."""
    return snndeploy_without(("modelopt",), *args, cwd=cwd)


def test_bench_keeps_int8_as_status_rows_and_measures_fp32(tiny, tmp_path):
    done = no_modelopt("bench", tiny.run, *FAST, "--backend", "onnxruntime", "--precision", "fp32,int8",
                       "--json", "b.json", "--work", "w", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads((tmp_path / "b.json").read_text())["results"]
    assert [r["precision"] for r in rows] == ["fp32", "int8"]
    fp32, int8 = rows
    assert fp32["status"] == "ok" and fp32["p50_ms"] > 0
    assert int8["status"].startswith("cannot be made from the checkpoint here: modelopt is not installed (")
    assert "[int8]" in int8["status"]
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "w" / "T2" / "int8").exists()  # no fp32 export made for a quantize that cannot run


def test_quantize_without_modelopt_is_one_line(tiny, tmp_path):
    (graph,) = export(tiny.run, ExportConfig(T=(2,), inline=True, out=str(tmp_path / "onnx")))
    done = no_modelopt("quantize", graph.path, "--out", tmp_path / "q.onnx", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().startswith("error: INT8 needs NVIDIA ModelOpt:")
    assert len(done.stderr.strip().splitlines()) == 1 and "Traceback" not in done.stderr


def test_a_library_modelopt_imports_missing_at_quantize_time_is_a_status_row(tiny, tmp_path, monkeypatch):
    """ModelOpt found, but a library it imports is not (a partial install): only the int8 row says so."""
    def broken() -> None:
        raise quantize._no_modelopt("onnx_graphsurgeon")

    monkeypatch.setattr(quantize, "require_modelopt", lambda: None)
    monkeypatch.setattr(quantize, "_modelopt_quantize", broken)
    cfg = BenchConfig(backends=("onnxruntime",), precisions=("fp32", "int8"), work=str(tmp_path), batches=(1,),
                      Ts=(2,), limit_test=8, iters=1, warmup=0)
    fp32, int8 = run_bench([str(tiny.run)], cfg)
    assert fp32.status == OK
    assert int8.status.startswith("onnx_graphsurgeon is not installed (") and "[int8]" in int8.status
