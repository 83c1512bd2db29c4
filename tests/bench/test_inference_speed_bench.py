"""benchmarks/inference_speed.py: every backend x T x batch is a row, failures are status rows, one PNG."""

import importlib.util
import json
import math
from itertools import product
from pathlib import Path

import torch

from snndeploy.bench.train_study.peers import spikingjelly_available

ROOT = Path(__file__).resolve().parents[2]


def load_benchmark():
    spec = importlib.util.spec_from_file_location("inference_speed", ROOT / "benchmarks" / "inference_speed.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    return bench


def test_one_run_rows_statuses_growth_and_plot(tmp_path, monkeypatch):
    bench = load_benchmark()
    real = bench.backends

    def broken(path, T, tmp):
        raise ImportError("no module named 'fancy_snn'")

    monkeypatch.setattr(bench, "backends", lambda: {**real(), "broken peer": broken})
    out = tmp_path / "speed.json"
    bench.main(["--model", "small-cnn", "--T", "2", "--batch", "1,2", "--iters", "1", "--min-seconds", "0",
                "--json", str(out)])

    doc = json.loads(out.read_text())
    rows = doc["results"]
    assert doc["model"] == "small-cnn" and doc["checkpoint"] is None
    names = list(bench.backends())
    assert sorted((r["backend"], r["T"], r["batch"]) for r in rows) == sorted(product(names, (1, 2), (1, 2)))
    for name, s in ((r["backend"], r["status"]) for r in rows):
        if name.startswith("snndeploy") or (name == "spikingjelly (torch)" and spikingjelly_available()):
            assert s == "ok", (name, s)
        elif name == "broken peer":
            assert s == "error: ImportError: no module named 'fancy_snn'"
        elif not torch.cuda.is_available():  # SpikingJelly's CUDA backends, or spikingjelly not installed
            assert s.startswith("unavailable: ") and ("needs CUDA" in s or "not installed" in s), (name, s)

    assert len({frozenset(r) for r in rows}) == 1  # one schema: rows with a status carry None measurements
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) >= 3 * 4  # PyTorch and both ONNX Runtime graphs at every T and batch
    macs = {int(T): m for T, m in doc["macs_per_image"].items()}
    assert macs[2] > macs[1]
    for r in ok:
        assert 0 < r["fraction_of_gemm_bound"] < math.inf
        assert r["p10_ms"] <= r["p50_ms"] <= r["p90_ms"]
        assert r["mac_growth"] == macs[r["T"]] / macs[1]
        if r["T"] == 1:
            assert r["latency_growth"] == 1.0 and r["mac_growth"] == 1.0
        else:
            first = next(f for f in ok if (f["backend"], f["T"], f["batch"]) == (r["backend"], 1, r["batch"]))
            assert r["latency_growth"] == r["p50_ms"] / first["p50_ms"]

    head = doc["machine"]
    assert head["cores"] >= 1 and head["torch_threads"] >= 1 and head["cpu"] and head["date"]
    assert set(head["versions"]) == {"torch", "onnxruntime", "spikingjelly"} and head["versions"]["onnxruntime"]
    assert doc["config"]["T"] == [1, 2]  # T=1 joins: growth is relative to it
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
