"""The CLI through Typer's CliRunner: a short real run, and one-line errors for bad input."""

import json

import pytest
from cli_helpers import bad, invoke

from snndeploy.core.install import hint


def test_train_then_eval(tmp_path):
    out = tmp_path / "run"
    r = invoke("train", "--epochs", 1, "--limit-train", 256, "--limit-test", 100, "--lr", 1e-3, "-o", out, "-q")
    assert r.exit_code == 0, r.output
    assert list(out.glob("model.*.safetensors")) and (out / "curves.png").stat().st_size > 1000
    js, png = tmp_path / "acc.json", tmp_path / "acc.png"
    r = invoke("eval", out, "--T", "1,5", "--T", 10, "--alpha", 4, "--alpha", "inf", "--limit-test", 100,
               "--repeats", 2, "--json", js, "--plot", png)
    assert r.exit_code == 0, r.output
    assert "alpha=4" in r.output and "alpha=inf" in r.output
    results = json.loads(js.read_text())["results"]
    expected = [(1, 4.0), (5, 4.0), (10, 4.0), (1, "inf"), (5, "inf"), (10, "inf")]
    assert [(x["T"], x["alpha"]) for x in results] == expected
    assert all(x["stage"] == 3 and x["repeats"] == 2 for x in results)
    for x in results:  # mean of 2 repeats on 100 images: a multiple of 1/200, and the table shows the same number
        assert round(x["accuracy"] * 200, 9).is_integer()
        assert f"{100 * x['accuracy']:.2f}" in r.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "already exists: --overwrite replaces it" in bad("eval", out, "--T", 2, "--json", js)
    r = invoke("eval", out, "--T", 2, "--stage", 2, "--limit-test", 50, "--json", js, "--overwrite")
    assert r.exit_code == 0 and "accuracy %" in r.output
    (row,) = json.loads(js.read_text())["results"]
    assert (row["T"], row["stage"], row["alpha"]) == (2, 2, None)  # stage 2 ran: no potential normalisation
    assert round(row["accuracy"] * 50 * row["repeats"], 9).is_integer()  # the mean of repeats over 50 images


def test_train_from_config(tmp_path):
    from snndeploy.training import checkpoint as ckpt

    cfg = tmp_path / "c.yaml"
    cfg.write_text(f"epochs: 1\nlimit_train: 128\nlimit_test: 64\nlr: 0.01\nseed: 3\nout: {tmp_path / 'cfgrun'}\n")
    r = invoke("train", "--config", cfg, "--lr", 0.002, "-q")
    assert r.exit_code == 0, r.output
    run = ckpt.load(tmp_path / "cfgrun")  # the run trained with the file's options, a flag over the file's
    t = run.facts.training
    assert (t.epochs, t.limit_train, t.limit_test, t.seed, t.lr) == (1, 128, 64, 3, 0.002)
    assert len(run.extra["history"]) == 1



def test_bad_inputs(tmp_path, tiny_run):
    run = tiny_run.path.parent
    assert "T must be >= 1" in bad("eval", run, "--T", 0)
    assert "alpha must be >= 2" in bad("eval", run, "--alpha", 1.5)
    assert "--T must be int" in bad("eval", run, "--T", "five")
    assert "stage must be 2 or 3" in bad("eval", run, "--stage", 4)
    assert "repeats must be >= 1" in bad("eval", run, "--repeats", 0)
    assert "unknown dataset" in bad("train", "--dataset", "imagenet", "-o", tmp_path / "x")
    assert "unknown model" in bad("train", "--model", "alexnet", "-o", tmp_path / "x")
    missing = tmp_path / "missing"
    assert "does not exist" in bad("train", "--dataset", "mnist", "--data-dir", missing, "-o", tmp_path / "x")
    (tmp_path / "empty").mkdir()
    assert "mnist" in bad("train", "--dataset", "mnist", "--data-dir", tmp_path / "empty", "-o", tmp_path / "x")
    cfg = tmp_path / "bad.yaml"
    cfg.write_text("epochs: 1\nlearning_rate: 0.1\n")
    assert "unknown train option(s): learning_rate" in bad("train", "--config", cfg)
    assert "noise-range" in bad("train", "--noise-range", "1", "-o", tmp_path / "x")
    assert "--noise-range must have lo < hi, got 1.0,0.0" in bad("train", "--noise-range", "1,0", "-o", tmp_path / "x")
    assert "T must be >= 1" in bad("train", "--method", "bptt", "--T", 0, "-o", tmp_path / "x")
    assert not (tmp_path / "x").exists()
    (tmp_path / "file").write_text("not a folder")
    assert "cannot write" in bad("train", "--epochs", 1, "-o", tmp_path / "file" / "run")


def test_bad_checkpoints(tmp_path, tiny_run):
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"a": 1}')
    assert "not a snndeploy checkpoint" in bad("eval", foreign)
    trunc = tmp_path / "trunc"
    trunc.mkdir()
    for f in tiny_run.path.parent.iterdir():
        (trunc / f.name).write_bytes(f.read_bytes())
    w = trunc / json.loads((trunc / "model.json").read_text())["weights"]["file"]
    w.write_bytes(w.read_bytes()[:-100])
    assert "truncated or replaced" in bad("eval", trunc)
    assert "artifact not found" in bad("eval", tmp_path / "nothing")


def test_paper_cnn_trains_offline_on_torchvision_files(tmp_path):
    from fakes import fake_mnist

    fake_mnist(tmp_path / "data", "FashionMNIST", n_train=64, n_test=16)
    out = tmp_path / "fm"
    r = invoke("train", "--dataset", "fashion-mnist", "--data-dir", tmp_path / "data", "--model", "paper-cnn",
               "--epochs", 1, "-o", out, "-q")
    assert r.exit_code == 0, r.output
    r = invoke("eval", out, "--T", 2, "--json", tmp_path / "fm.json")
    assert r.exit_code == 0, r.output
    assert json.loads((tmp_path / "fm.json").read_text())["results"][0]["T"] == 2


def test_export_check_eval_onnx(tmp_path, tiny_run):
    run, out = tiny_run.path.parent, tmp_path / "ex"
    r = invoke("export", run, "--T", "1,5", "-o", out)
    assert r.exit_code == 0, r.output
    assert (out / "small-cnn_T5.onnx").is_file() and (out / "small-cnn_T1.onnx").is_file()
    r = invoke("check", out / "small-cnn_T5.onnx", "--trt", "10")
    assert r.exit_code == 0 and "no unsupported nodes" in r.output
    assert "T=5 stage=3 noise=frozen precision=fp32" in r.output
    r = invoke("check", out / "small-cnn_T5.onnx", "--trt", "8.6")
    assert r.exit_code == 1 and "--inline" in r.output
    js = tmp_path / "onnx.json"
    r = invoke("eval", out / "small-cnn_T5.onnx", "--json", js, "--limit-test", 150, "--repeats", 3)
    assert r.exit_code == 0, r.output
    (row,) = json.loads(js.read_text())["results"]
    assert row["T"] == 5 and row["backend"] == "onnxruntime-cpu" and row["accuracy"] > 0.5
    assert row["repeats"] == 1 and row["repeats_note"]  # frozen noise: one pass, nothing random to repeat
    # and so the accuracy is exactly that of the graph's own logits on the first 150 test images (fewer than the
    # sample's 200: --limit-test must count), computed here with ONNX Runtime directly
    assert row["accuracy"] == own_accuracy(out / "small-cnn_T5.onnx", 150)


def own_accuracy(path, n):
    """Top-1 accuracy of an ONNX graph without noise inputs on the first n sample test images."""
    import onnxruntime as ort

    from snndeploy.data.datasets import load_dataset, normalize_array

    data = load_dataset("sample", limit_test=n)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"images": normalize_array(data.test.images, data.spec)})
    return float((logits.argmax(1) == data.test.labels).sum()) / n


def test_export_from_preset(tmp_path, tiny_run):
    preset = tmp_path / "p.yaml"
    preset.write_text(f"T: [2]\nfp16: true\nbatch: 1\nout: {tmp_path / 'pre'}\n")
    r = invoke("export", tiny_run.path.parent, "--config", preset)
    assert r.exit_code == 0, r.output
    path = tmp_path / "pre" / "small-cnn_T2_fp16_batch1.onnx"
    import onnx

    from snndeploy.artifacts import metadata as onnx_meta

    graph = onnx.load(path)  # the graph holds what its name says, not only the file name
    facts = onnx_meta.read(graph)
    assert facts.T == 2 and facts.precision == "fp16"
    assert [d.dim_value for d in graph.graph.input[0].type.tensor_type.shape.dim] == [1, 1, 28, 28]
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in graph.graph.initializer)


def test_shipped_presets_parse():
    from pathlib import Path

    from snndeploy.core.config import TrainConfig, from_mapping, load_yaml
    from snndeploy.export.exporter import ExportConfig
    from snndeploy.presets import TRAIN

    presets = sorted((Path(__file__).parents[2] / "snndeploy" / "presets").glob("*.yaml"))
    assert {p.stem for p in presets} >= {"jetson-fp16", "server-fp32", "parity", *TRAIN}
    for p in presets:  # each preset parses as the config of its own command
        if p.stem in TRAIN:
            from_mapping(TrainConfig, load_yaml(p), "train", str(p))
        else:
            ExportConfig.from_dict(load_yaml(p), str(p))


def test_export_bad_input(tmp_path, tiny_run):
    run = tiny_run.path.parent
    assert "T must be >= 1" in bad("export", run, "--T", 0, "-o", tmp_path / "x")
    assert "checkpoint not found" in bad("export", tmp_path / "none", "-o", tmp_path / "x")
    preset = tmp_path / "bad.yaml"
    preset.write_text("T: 5\nprecision: fp16\n")
    assert "unknown export option(s): precision" in bad("export", run, "--config", preset)
    (tmp_path / "f").write_text("x")
    assert "cannot write" in bad("export", run, "-o", tmp_path / "f" / "sub")
    foreign = tmp_path / "foreign.onnx"
    from onnx import TensorProto, helper

    g = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g",
                          [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
                          [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
    foreign.write_bytes(helper.make_model(g).SerializeToString())
    assert "not an snndeploy ONNX export" in bad("eval", foreign)
    (tmp_path / "junk.onnx").write_bytes(b"\x00garbage")
    assert "not a readable ONNX file" in bad("eval", tmp_path / "junk.onnx")
    assert invoke("export", run, "--T", 3, "-o", tmp_path / "ok").exit_code == 0
    assert "unrolled for T = 3" in bad("eval", tmp_path / "ok" / "small-cnn_T3.onnx", "--T", 5)
    assert not (tmp_path / "x").exists()


def test_missing_optional_package_is_one_line(capsys):
    """A command whose optional dependency is absent says which extra installs it; other import errors stay."""
    import pytest
    import typer

    from snndeploy.cli.common import one_line_errors

    @one_line_errors
    def needs(name: str) -> None:
        raise ModuleNotFoundError(f"No module named '{name}'", name=name)

    with pytest.raises(typer.Exit) as stop:
        needs("torch.nn")
    assert stop.value.exit_code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: torch is not installed: {hint('train')}") and "\n" not in err
    with pytest.raises(ModuleNotFoundError):  # a bug (a module of ours missing) is not dressed up as user error
        needs("snndeploy_typo")


def test_pytorch_device_names_are_checked(tiny_run):
    assert "PyTorch runs on 'cpu' or 'cuda'" in bad("eval", tiny_run.path.parent, "--device", "tensorrt", "--T", 1)


def test_resume_and_overwrite_from_the_command_line(tmp_path):
    out = tmp_path / "run"
    small = ("--limit-train", 128, "--limit-test", 64, "--lr", 1e-3, "-q")
    assert invoke("train", "--epochs", 1, "-o", out, *small).exit_code == 0
    assert "already holds a finished run of these options: --overwrite replaces it" in \
        bad("train", "--epochs", 1, "-o", out, *small)
    assert "--resume" not in bad("train", "--epochs", 1, "--method", "ann", "-o", out, *small)
    assert "give one" in bad("train", "--resume", "--overwrite", "-o", out)
    # only the options given are checked against the run's: --limit-train etc. come from the run itself
    r = invoke("train", "--resume", "--epochs", 2, "-o", out, "-q")
    assert r.exit_code == 0, r.output
    saved = json.loads((out / "model.json").read_text())
    assert saved["facts"]["training"]["limit_train"] == 128 and saved["train_state"]["epoch"] == 2
    assert "cannot resume with a different --seed: the run was trained with --seed 0, this command gives --seed 5" \
        in bad("train", "--resume", "--epochs", 3, "--seed", 5, "-o", out)
    assert invoke("train", "--overwrite", "--epochs", 1, "--seed", 2, "-o", out, *small).exit_code == 0
    assert json.loads((out / "model.json").read_text())["facts"]["training"]["seed"] == 2


def test_train_never_draws_over_a_curves_png_planted_during_the_run(tmp_path, monkeypatch):
    from snndeploy.training import train as training

    real_fit = training.fit

    def fit_then_plant(cfg, *args, **kwargs):
        result = real_fit(cfg, *args, **kwargs)
        (tmp_path / "run" / "curves.png").write_text("someone's plot")
        return result

    monkeypatch.setattr(training, "fit", fit_then_plant)
    err = bad("train", "--epochs", 1, "-o", tmp_path / "run", "--limit-train", 128, "--limit-test", 64, "-q")
    assert "curves.png appeared during the run and is never replaced" in " ".join(err.split())
    assert (tmp_path / "run" / "curves.png").read_text() == "someone's plot"
    assert (tmp_path / "run" / "model.json").is_file()


@pytest.mark.parametrize("finished", [True, False])
def test_ctrl_c_in_train_says_what_is_kept_and_how_to_resume(tmp_path, monkeypatch, finished):
    out = tmp_path / "run"

    def interrupted(cfg, **kwargs):
        if finished:  # as if an epoch had committed its checkpoint before the Ctrl-C
            out.mkdir()
            (out / "model.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr("snndeploy.training.train.train", interrupted)
    r = invoke("train", "-o", out)
    assert r.exit_code == 130 and "Traceback" not in r.output
    if finished:
        assert f"carry on with snndeploy train -o {out} --resume" in " ".join(r.output.split())
    else:
        assert "nothing was written" in r.output
