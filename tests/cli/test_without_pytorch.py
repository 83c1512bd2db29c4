"""The commands that measure a checkpoint on the install without PyTorch (the edge device's [cpu] runtime): bench
keeps a checkpoint's rows as status rows and measures the rest; eval and infer of a checkpoint say in one line
what is missing."""

import json
import subprocess
from pathlib import Path

from without import FAST, snndeploy_without

IMAGES = Path(__file__).parents[2] / "samples" / "images"


def no_torch(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    """snndeploy ARGS run where PyTorch cannot be imported."""
    return snndeploy_without(("torch", "torchvision", "safetensors"), *args, cwd=cwd)


def test_bench_measures_the_graph_and_keeps_the_checkpoints_rows(tiny, tmp_path):
    done = no_torch("bench", tiny.run, tiny.onnx, *FAST, "--stats", "--json", "b.json", "--work", "w", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads((tmp_path / "b.json").read_text())["results"]
    run, graph = tiny.run.name, tiny.onnx.name
    assert [(r["artifact"], r["backend"]) for r in rows] == [(run, "pytorch-cpu"), (run, "onnxruntime-cpu"),
                                                              (graph, "onnxruntime-cpu")]
    pytorch, exported, measured = rows
    assert pytorch["status"].startswith("torch is not installed (") and pytorch["T"] == 2
    assert exported["status"].startswith("cannot be made from the checkpoint here: torch is not installed (")
    assert measured["status"] == "ok" and measured["accuracy"] is not None and measured["p50_ms"] > 0
    assert "Traceback" not in done.stderr and "cannot be made from the checkpoint" in done.stdout  # in the table
    assert not (tmp_path / "w").exists() or not any((tmp_path / "w").rglob("*.onnx"))  # nothing was exported


def test_bench_of_a_checkpoint_alone_says_nothing_was_measured(tiny, tmp_path):
    done = no_torch("bench", tiny.run, *FAST, "--work", "w", cwd=tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "torch is not installed (" in done.stdout  # the table, with the status of every row
    err = done.stderr.strip()
    assert err.startswith("error: nothing was measured: torch is not installed (") and "\n" not in err, err
    assert err.endswith(") (and 1 other reason in the status column)"), err  # the export's row


def test_eval_and_infer_of_a_checkpoint_are_one_line(tiny, tmp_path):
    for args in (("eval", tiny.run, "--limit-test", 8), ("infer", tiny.run, IMAGES)):
        done = no_torch(*args, cwd=tmp_path)
        assert done.returncode == 2, done.stderr[-2000:]
        err = done.stderr.strip()
        assert err.startswith(f"error: {tiny.run.name} is a checkpoint: torch is not installed (") and "\n" not in err
        assert err.endswith("; export it to .onnx where it runs (snndeploy export) and run that here"), err
