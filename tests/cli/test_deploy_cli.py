"""infer, bench, quantize and build through the CLI, and their one-line errors."""

import importlib.util
import json
import shutil
from pathlib import Path

import numpy as np
import onnx
import pytest
from cli_helpers import bad, invoke
from PIL import Image

from snndeploy.artifacts import metadata as onnx_meta
from snndeploy.core.install import onnxruntime_gpu_install, tensorrt_hint

IMAGES = Path(__file__).parents[2] / "samples" / "images"




def test_infer_sample_images(tiny_run, tmp_path):
    r = invoke("infer", tiny_run.path.parent, IMAGES, "--json", tmp_path / "p.json")
    assert r.exit_code == 0, r.output
    preds = json.loads((tmp_path / "p.json").read_text())["predictions"]
    assert len(preds) == 10
    right = sum(Path(p["input"]).name.startswith(f"digit{p['class']}_") for p in preds)
    assert right >= 9, preds


def test_infer_arrays_and_onnx(tiny_run, tmp_path):
    x = np.stack([np.asarray(Image.open(p)) for p in sorted(IMAGES.glob("*.png"))[:3]])  # uint8 [3, 28, 28]
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "x.npz", a=x[:2], b=x[2:].astype(np.float32) / 255)
    assert invoke("export", tiny_run.path.parent, "--T", 3, "-o", tmp_path / "ex").exit_code == 0
    r = invoke("infer", tmp_path / "ex" / "small-cnn_T3.onnx", tmp_path / "x.npy", tmp_path / "x.npz",
               "--json", "-")
    assert r.exit_code == 0, r.output
    out = json.loads(r.output)
    assert out["T"] == 3 and out["backend"] == "onnxruntime-cpu" and len(out["predictions"]) == 6


def test_infer_bad_inputs(tiny_run, tmp_path):
    run = tiny_run.path.parent
    nan = np.zeros((1, 1, 28, 28), np.float32)
    nan[0, 0, 3, 3] = np.nan
    np.save(tmp_path / "nan.npy", nan)
    assert "NaN" in bad("infer", run, tmp_path / "nan.npy")
    np.save(tmp_path / "shape.npy", np.zeros((2, 3, 28, 28), np.uint8))
    assert "expected images of shape [N, 1, 28, 28]" in bad("infer", run, tmp_path / "shape.npy")
    Image.new("L", (32, 32)).save(tmp_path / "big.png")
    assert "pass --resize" in bad("infer", run, tmp_path / "big.png")
    assert invoke("infer", run, tmp_path / "big.png", "--resize").exit_code == 0
    Image.new("RGB", (28, 28)).save(tmp_path / "rgb.png")
    assert "3 channel(s)" in bad("infer", run, tmp_path / "rgb.png")
    (tmp_path / "fake.png").write_text("not an image")
    assert "not a readable image" in bad("infer", run, tmp_path / "fake.png")
    assert "input not found" in bad("infer", run, tmp_path / "missing.png")
    (tmp_path / "e.plan").write_bytes(b"x")
    assert "has no sidecar" in bad("infer", tmp_path / "e.plan", IMAGES)


def test_first_release_artifacts(tiny_run, tmp_path):
    """Version-1 checkpoints still run; version-1 graphs and engines are refused with the commands that remake them."""
    old = tmp_path / "old"
    shutil.copytree(tiny_run.path.parent, old)
    meta = json.loads((old / "model.json").read_text())
    facts = meta.pop("facts")
    v1 = {**meta, "version": 1, **{k: facts[k] for k in ("model", "data", "neuron", "training")}}
    (old / "model.json").write_text(json.dumps(v1))
    r = invoke("infer", old, IMAGES, "--json", "-")
    assert r.exit_code == 0 and len(json.loads(r.output)["predictions"]) == 10
    assert invoke("export", old, "--T", 2, "-o", tmp_path / "ex").exit_code == 0
    graph = tmp_path / "ex" / "small-cnn_T2.onnx"
    model = onnx.load(graph)
    prop = next(p for p in model.metadata_props if p.key == "snndeploy")
    prop.value = json.dumps({**json.loads(prop.value)["facts"], "format": "snndeploy-onnx", "version": 1})
    onnx.save(model, graph)
    for command in ("eval", "check", "build"):
        assert "re-export it from its checkpoint with `snndeploy export CHECKPOINT`" in bad(command, graph)
    plan = tmp_path / "e.plan"
    plan.write_bytes(b"x")
    (tmp_path / "e.plan.json").write_text(json.dumps({"format": "snndeploy-engine", "version": 1, "T": 5}))
    assert "then `snndeploy build MODEL.onnx`" in bad("infer", plan, IMAGES)


def test_bench_small(tiny_run, tmp_path):
    r = invoke("bench", tiny_run.path.parent, "--T", "1,2", "--batch", 1, "--batch", 4, "--limit-test", 100,
               "--iters", 2, "--json", tmp_path / "b.json", "--md", tmp_path / "b.md", "--csv", tmp_path / "b.csv",
               "--plot", tmp_path / "b.png", "--work", tmp_path / "work")
    assert r.exit_code == 0, r.output
    rows = json.loads((tmp_path / "b.json").read_text())["results"]
    keys = {"backend", "precision", "T", "batch", "accuracy", "p50_ms", "p90_ms", "p99_ms", "images_per_s", "size_mb",
            "status"}
    assert len(rows) == 8 and all(keys <= set(r) and r["status"] == "ok" for r in rows)
    assert {(r["backend"], r["T"], r["batch"]) for r in rows} == {
        (b, t, n) for b in ("pytorch-cpu", "onnxruntime-cpu") for t in (1, 2) for n in (1, 4)}
    # accuracy is measured once per runner on the 100 test images: the same at both batch sizes, k/100,
    # and as good as the checkpoint (tiny_run scores about 95% at T = 1 and 2)
    for backend in ("pytorch-cpu", "onnxruntime-cpu"):
        for t in (1, 2):
            accs = {r["accuracy"] for r in rows if r["backend"] == backend and r["T"] == t}
            assert len(accs) == 1 and (acc := accs.pop()) > 0.85 and round(acc * 100, 9).is_integer()
    assert (tmp_path / "b.md").read_text().count("\n|") == 10 and (tmp_path / "b.png").stat().st_size > 1000
    assert "bench train" not in r.output


def test_bench_files_carry_the_environment_and_the_artifact(tiny_run, tmp_path):
    import csv

    from snndeploy.core.hashing import sha256

    assert invoke("export", tiny_run.path.parent, "--T", 2, "-o", tmp_path / "ex").exit_code == 0
    (graph,) = (tmp_path / "ex").glob("*.onnx")
    r = invoke("bench", tiny_run.path.parent, graph, "--backend", "pytorch,onnxruntime", "--T", 2, "--batch", 1,
               "--limit-test", 10, "--iters", 1, "--threads", 1, "--json", tmp_path / "b.json", "--md",
               tmp_path / "b.md", "--csv", tmp_path / "b.csv", "--work", tmp_path / "work")
    assert r.exit_code == 0, r.output
    doc = json.loads((tmp_path / "b.json").read_text())
    env, rows = doc["environment"], doc["results"]
    assert env["threads"] == 1 and env["device"] == "cpu" and env["noise"] == "bank, frozen"
    assert env["artifacts"][str(graph)] == sha256(graph) and "torch" in env["versions"] and env["cpu"]
    names = [row["artifact"] for row in rows]
    assert names == [tiny_run.path.parent.name, tiny_run.path.parent.name, graph.name]
    assert [(row["backend"], row["noise"]) for row in rows] == [
        ("pytorch-cpu", "bank"), ("onnxruntime-cpu", "frozen"), ("onnxruntime-cpu", "frozen")]
    lines = r.output.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.endswith("noise bank, frozen, device cpu"))
    assert "1 threads" in lines[summary] and summary < next(i for i, line in enumerate(lines) if "artifact" in line)
    text = (tmp_path / "b.csv").read_text()
    assert text.startswith("# host: ") and "# threads: 1\n" in text and f"# artifacts.{graph}: {sha256(graph)}" in text
    parsed = list(csv.DictReader(line for line in text.splitlines() if not line.startswith("#")))
    assert [row["artifact"] for row in parsed] == names and parsed[0]["status"] == "ok"
    md = (tmp_path / "b.md").read_text()
    assert "## Environment" in md and "- threads: 1" in md and f"| {graph.name} | onnxruntime-cpu |" in md


def test_bench_pytorch_fp16_is_a_row_that_says_why(tiny_run, tmp_path):
    r = invoke("bench", tiny_run.path.parent, "--backend", "pytorch", "--precision", "fp16", "--T", 1, "--batch", 1,
               "--limit-test", 10, "--iters", 1, "--json", tmp_path / "b.json")
    assert r.exit_code == 2, r.output  # its one row, written, and one line: nothing was measured
    assert r.output.endswith("error: nothing was measured: pytorch runs fp32 only; fp16 runs on --backend onnxruntime "
                             "or tensorrt\n")
    (row,) = json.loads((tmp_path / "b.json").read_text())["results"]
    assert row["precision"] == "fp16" and row["p50_ms"] is None
    assert row["status"] == "pytorch runs fp32 only; fp16 runs on --backend onnxruntime or tensorrt"


def test_bench_shows_a_progress_bar_in_a_terminal(tiny_run, tmp_path, monkeypatch):
    from rich.console import Console

    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    r = invoke("bench", tiny_run.path.parent, "--backend", "onnxruntime", "--T", 2, "--batch", 1, "--limit-test", 10,
               "--iters", 2, "--work", tmp_path / "work")
    assert r.exit_code == 0, r.output
    name = tiny_run.path.parent.name
    for task in (f"export {name} T=2 (onnx, fp32, noise frozen)",
                 f"accuracy {name} onnxruntime-cpu fp32 T=2 (10 images)",
                 f"timing {name} onnxruntime-cpu fp32 T=2 batch 1"):
        assert task in r.output, task
    assert "img/s, " not in r.output  # the bar replaces the per-row lines


def test_fixed_batch_graph_runs_eval_infer_and_bench(tiny_run, tmp_path):
    """A --batch 1 graph (the Jetson preset) takes exactly one image per run: eval and infer chunk by it,
    bench reports the batches it cannot take as statuses."""
    assert invoke("export", tiny_run.path.parent, "--T", 2, "--batch", 1, "-o", tmp_path / "ex").exit_code == 0
    (graph,) = (tmp_path / "ex").glob("*.onnx")
    r = invoke("eval", graph, "--limit-test", 20, "--repeats", 1, "--json", tmp_path / "e.json")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "e.json").read_text())["results"][0]["accuracy"] >= 0.8
    r = invoke("infer", graph, IMAGES, "--json", "-")
    assert r.exit_code == 0, r.output
    assert len(json.loads(r.output)["predictions"]) == 10
    r = invoke("bench", graph, "--batch", "1,4", "--limit-test", 20, "--iters", 2, "--json", tmp_path / "b.json")
    assert r.exit_code == 0, r.output
    rows = {row["batch"]: row for row in json.loads((tmp_path / "b.json").read_text())["results"]}
    assert rows[1]["status"] == "ok" and rows[1]["accuracy"] >= 0.8 and rows[1]["p50_ms"] > 0
    assert rows[4]["status"] == f"{graph.name} takes batch 1 only, got 4"
    assert rows[4]["p50_ms"] is None and rows[4]["accuracy"] is None


def test_bench_rows_for_backends_that_cannot_run_here(tiny_run, tmp_path, monkeypatch):
    import onnxruntime

    monkeypatch.setattr(onnxruntime, "get_available_providers", lambda: ["CPUExecutionProvider"])
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    assert invoke("export", tiny_run.path.parent, "--T", 2, "-o", tmp_path / "ex").exit_code == 0
    (graph,) = (tmp_path / "ex").glob("*.onnx")
    r = invoke("bench", graph, "--backend", "onnxruntime,tensorrt", "--device", "cuda", "--batch", 1,
               "--limit-test", 10, "--iters", 1, "--json", tmp_path / "b.json", "--md", tmp_path / "b.md",
               "--plot", tmp_path / "b.png")
    assert r.exit_code == 2, r.output  # the table and files, then one line: nothing was measured
    rows = json.loads((tmp_path / "b.json").read_text())["results"]
    assert [row["backend"] for row in rows] == ["onnxruntime-cuda", "tensorrt"]
    assert rows[0]["status"] == f"ONNX Runtime lacks CUDAExecutionProvider ({onnxruntime_gpu_install()})"
    if importlib.util.find_spec("tensorrt") is None:
        assert rows[1]["status"] == f"TensorRT is not installed ({tensorrt_hint()})"
    else:  # TensorRT's wheel without a GPU, a driver or cuda-bindings: the CUDA layer says which
        assert rows[1]["status"] != "ok" and ("NVIDIA" in rows[1]["status"] or "cuda" in rows[1]["status"])
    assert all(row["accuracy"] is None for row in rows) and "ONNX Runtime lacks" in (tmp_path / "b.md").read_text()
    assert "no row was measured" in r.output and not (tmp_path / "b.png").exists()
    flat = " ".join(r.output.split())
    # the last line: the first reason (cut when long) and the count of the others
    last = flat[flat.rindex("error: "):]
    assert last.startswith("error: nothing was measured: ONNX Runtime lacks CUDAExecutionProvider (pip install ")
    assert last.endswith("(and 1 other reason in the status column)")
    assert f"({onnxruntime_gpu_install()})" in flat  # printed as text, not markup


def test_bench_still_fails_loudly_on_a_bug(tiny_run, tmp_path, monkeypatch):
    from snndeploy.bench import deploy

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(deploy, "time_runner", broken)
    r = invoke("bench", tiny_run.path.parent, "--backend", "pytorch", "--T", 1, "--batch", 1, "--limit-test", 10)
    assert r.exit_code == 1 and isinstance(r.exception, ZeroDivisionError)


def test_bench_bad_input(tiny_run, tmp_path):
    assert "unknown backend" in bad("bench", tiny_run.path.parent, "--backend", "tvm")
    assert "T must be >= 1" in bad("bench", tiny_run.path.parent, "--T", 0)
    assert "ONNX file not found" in bad("bench", tmp_path / "nothing.onnx", "--work", tmp_path / "w")


def test_a_missing_quantize_output_is_one_line_naming_it(tmp_path):
    """The walkthrough's `check`/`bench` of a graph `quantize` did not write (no ModelOpt): one line that names the
    file, not a vague "file not found"."""
    int8 = tmp_path / "small-cnn_T5_int8.onnx"
    for args in (("check", int8, "--trt", "10.3"), ("bench", int8, "--T", "1", "--work", tmp_path / "w")):
        assert bad(*args) == f"error: ONNX file not found: {int8}\n"


@pytest.mark.skipif(importlib.util.find_spec("modelopt") is None, reason="needs NVIDIA ModelOpt (snndeploy[int8])")
def test_quantize_int8_keeps_accuracy(tiny_run, tmp_path):
    assert invoke("export", tiny_run.path.parent, "--inline", "--trt", "10.3", "-o", tmp_path).exit_code == 0
    fp32 = tmp_path / "small-cnn_T5_inline.onnx"
    r = invoke("quantize", fp32, "--calib", 128)
    assert r.exit_code == 0, r.output
    int8 = tmp_path / "small-cnn_T5_int8_inline.onnx"  # the naming rule of every export, precision int8
    assert onnx_meta.trt_target(onnx.load(int8)) == "10.3"  # the source's TensorRT target carries over
    acc = {}
    for name, path in (("fp32", fp32), ("int8", int8)):
        js = tmp_path / f"{name}.json"
        assert invoke("eval", path, "--json", js, "--repeats", 1).exit_code == 0
        acc[name] = json.loads(js.read_text())["results"][0]
    assert acc["int8"]["precision"] == "int8"
    assert acc["fp32"]["accuracy"] - acc["int8"]["accuracy"] <= 0.01
    assert invoke("export", tiny_run.path.parent, "-o", tmp_path / "fn").exit_code == 0
    assert "export it with --inline" in bad("quantize", tmp_path / "fn" / "small-cnn_T5.onnx")
    assert "--calib must be >= 1" in bad("quantize", fp32, "--calib", 0)


def test_build_without_tensorrt(tiny_run, tmp_path):
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed here")
    assert invoke("export", tiny_run.path.parent, "-o", tmp_path).exit_code == 0
    out = bad("build", tmp_path / "small-cnn_T5.onnx")
    assert "TensorRT is not installed" in out and str(tensorrt_hint()) in out
    assert "export with --fp16" in bad("build", tmp_path / "small-cnn_T5.onnx", "--precision", "fp16")
    assert "MIN,OPT,MAX" in bad("build", tmp_path / "small-cnn_T5.onnx", "--batch", "1,2")


def test_build_on_a_jetson_without_tensorrt_points_at_jetpack(tiny_run, tmp_path, monkeypatch):
    # PyPI's tensorrt (the [gpu] extra) is a desktop build: on a Jetson the hint must be JetPack's TensorRT
    if importlib.util.find_spec("tensorrt") is not None:
        pytest.skip("TensorRT is installed here")
    monkeypatch.setattr("snndeploy.core.install.on_jetson", lambda: True)
    assert invoke("export", tiny_run.path.parent, "-o", tmp_path).exit_code == 0
    out = bad("build", tmp_path / "small-cnn_T5.onnx")
    assert "TensorRT is not installed" in out and "JetPack" in out and "[gpu]" not in out
    assert "python3-libnvinfer" in out and "--system-site-packages" in out


def _digits(*picks):
    """uint8 test digits [N, 1, 28, 28] of the sample, by index into its test split."""
    from snndeploy.data.datasets import sample_path

    return np.load(sample_path())["images"][-200:][list(picks)]


@pytest.mark.parametrize("noise", [None, "input", "graph"])
def test_infer_result_ignores_batch_mates(tiny_run, tmp_path, noise):
    """An input's class and confidence depend on it, --seed and its position only: the same digits at
    positions 0 and 2 among different others give the same answers (a checkpoint, --noise input and graph)."""
    artifact = tiny_run.path.parent
    if noise is not None:
        assert invoke("export", artifact, "--T", 3, "--noise", noise, "-o", tmp_path / "ex").exit_code == 0
        (artifact,) = (tmp_path / "ex").glob("*.onnx")
    np.save(tmp_path / "one.npy", _digits(0, 1, 2, 3))
    np.save(tmp_path / "two.npy", _digits(0, 50, 2, 70, 80, 90))
    np.save(tmp_path / "alone.npy", _digits(0))
    runs = {}
    for name in ("one", "two", "alone"):
        r = invoke("infer", artifact, tmp_path / f"{name}.npy", "--T", 3, "--seed", 4, "--json", "-")
        assert r.exit_code == 0, r.output
        runs[name] = json.loads(r.output)["predictions"]
    for i in (0, 2):
        assert runs["one"][i]["class"] == runs["two"][i]["class"]
        assert runs["one"][i]["confidence"] == pytest.approx(runs["two"][i]["confidence"], abs=1e-5)
    assert runs["alone"][0]["confidence"] == pytest.approx(runs["one"][0]["confidence"], abs=1e-5)
    assert [p["confidence"] for p in runs["one"]] != [p["confidence"] for p in runs["two"][:4]]


def test_infer_confidence_is_the_readout(tiny_run, tmp_path):
    """infer's JSON is core.readout.confidence of the runner's logits, read as the facts' training loss says:
    clipped readouts for MSE (and for facts without training), softmax for CE."""
    import dataclasses

    from snndeploy.core.readout import confidence
    from snndeploy.data.inputs import load_inputs
    from snndeploy.runners import open_runner
    from snndeploy.training import checkpoint

    np.save(tmp_path / "x.npy", _digits(*range(12)))
    ck = checkpoint.load(tiny_run.path)
    facts = ck.facts
    variants = {"mse": facts, "ce": dataclasses.replace(facts, training=dataclasses.replace(facts.training, loss="ce")),
                "fallback": dataclasses.replace(facts, training=None)}
    for name, loss in (("mse", "mse"), ("ce", "ce"), ("fallback", "mse")):
        folder = tmp_path / name
        checkpoint.save(folder, ck.model, variants[name])
        r = invoke("infer", folder, tmp_path / "x.npy", "--T", 2, "--seed", 1, "--json", "-")
        assert r.exit_code == 0, r.output
        preds = json.loads(r.output)["predictions"]
        with open_runner(folder, T=2) as runner:
            logits = runner.infer_seeded(load_inputs([tmp_path / "x.npy"], runner.spec)[1], 1)
        index, conf = confidence(logits, loss)
        assert [p["index"] for p in preds] == index.tolist(), name
        assert np.allclose([p["confidence"] for p in preds], conf, atol=1e-6), name
        if loss == "ce":
            assert all(0.1 < p["confidence"] <= 1 for p in preds)


def test_export_and_infer_show_progress_in_a_terminal(tiny_run, tmp_path, monkeypatch):
    from rich.console import Console

    monkeypatch.setattr(Console, "is_terminal", property(lambda self: True))
    r = invoke("export", tiny_run.path, "--T", "1,2", "--noise", "graph", "-o", tmp_path / "ex")
    assert r.exit_code == 0, r.output
    assert "export run0 T=1 (onnx, fp32, noise graph)" in r.output
    assert "export run0 T=2 (onnx, fp32, noise graph)" in r.output
    graph = next((tmp_path / "ex").glob("*_T2_*.onnx"))
    r = invoke("infer", graph, IMAGES)
    assert r.exit_code == 0, r.output
    assert "10/10" in r.output  # one image per run for a graph that draws its own noise, counted as it goes


def test_a_graph_refuses_another_T_and_export_refuses_a_graph(tiny_run, tmp_path):
    r = invoke("export", tiny_run.path, "--T", "2", "-o", tmp_path / "ex")
    assert r.exit_code == 0, r.output
    graph = next((tmp_path / "ex").glob("*_T2.onnx"))
    assert invoke("infer", graph, IMAGES, "--T", 2).exit_code == 0  # its own T: fine
    out = bad("infer", graph, IMAGES, "--T", 10)
    assert "runs at T = 2 (its own); --T 10 applies to checkpoints" in " ".join(out.split())
    out = bad("export", graph)
    assert "export takes a checkpoint" in out and "already an ONNX graph" in " ".join(out.split())


def test_export_adds_an_engine_to_triton_through_its_kinds_producer(tiny_run, tmp_path):
    """`export ENGINE` runs the engine kind's Triton producer (the kinds table's ``to_triton``); another
    --format is refused in one line."""
    from snndeploy.artifacts import metadata, sidecar
    from snndeploy.core.hashing import sha256
    from snndeploy.export.exporter import ExportConfig, export

    (e,) = export(tiny_run.path, ExportConfig(T=(2,), out=str(tmp_path / "onnx")))
    plan = tmp_path / "m.plan"
    plan.write_bytes(b"plan bytes")
    shapes = {"images": {"min": [1, 1, 28, 28], "opt": [1, 1, 28, 28], "max": [8, 1, 28, 28]}}
    sidecar.write(plan, metadata.read(onnx.load(e.path)),
                  {"tensorrt": "10.3.0", "gpu": "test", "compute_capability": "8.7", "shapes": shapes,
                   "onnx_sha256": "0" * 64, "plan_sha256": sha256(plan), "max_batch": 8})
    r = invoke("export", plan, "-o", tmp_path / "repo")
    assert r.exit_code == 0, r.output
    (model,) = (tmp_path / "repo").iterdir()
    assert f"triton model: {model}" in " ".join(r.output.split())
    assert (model / "1" / "model_sm87.plan").read_bytes() == b"plan bytes"
    out = " ".join(bad("export", plan, "-o", tmp_path / "repo").split())  # a rebuilt plan of the same graph and GPU
    assert f"{model / '1' / 'model_sm87.plan'} already exists: --overwrite replaces it, or give -o another path" in out
    assert invoke("export", plan, "-o", tmp_path / "repo", "--overwrite").exit_code == 0
    out = bad("export", plan, "--format", "onnx")
    assert "a TensorRT engine can only be exported with --format triton" in " ".join(out.split())


def test_bench_takes_data_dir(tiny_run, tmp_path):
    """bench ARTIFACTS --data-dir reaches the accuracy pass (the sample takes none: its one-line refusal)."""
    assert "--data-dir" in invoke("bench", "run", "--help").output
    out = bad("bench", tiny_run.path, "--backend", "pytorch", "--T", 1, "--batch", 1, "--iters", 1,
              "--limit-test", 8, "--work", tmp_path, "--data-dir", tmp_path)
    assert "the sample dataset is bundled and takes no --data-dir" in out
