"""Presets ship inside the package: `--config NAME` finds them from any folder; a path is a file. Export presets
and the paper's training settings (issue 21, item 6), each command accepting only its own."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import invoke

from snndeploy import presets
from snndeploy.core.config import TrainConfig, from_mapping, load_yaml
from snndeploy.core.errors import SnnDeployError
from snndeploy.export.exporter import ExportConfig

SHIPPED = {"jetson-fp16", "server-fp32", "parity"}
# the paper's section 3 and Table 1: MSE, Adam at 1e-4, cosine warm restarts every 100 epochs, Gaussian noise in
# [0, 1], T = 1; its model and epochs per run (the batch size is not given: snndeploy's 64)
PAPER = dict(method="noise", T=1, batch_size=64, lr=1e-4, t0_epochs=100, loss="mse", noise="gaussian", noise_lo=0.0,
             noise_hi=1.0)
RUNS = {"paper-mnist": dict(model="paper-cnn", dataset="mnist", epochs=100, augment=False),
        "paper-fmnist": dict(model="paper-cnn", dataset="fashion-mnist", epochs=200, augment=False),
        "paper-cifar10": dict(model="vgg16", dataset="cifar10", epochs=1000, augment=True),
        "paper-cifar10-resnet18": dict(model="resnet18", dataset="cifar10", epochs=800, augment=True)}


def test_every_shipped_preset_parses():
    assert set(presets.names()) == set(presets.names("export")) == SHIPPED
    for name in presets.names():
        ExportConfig.from_dict(load_yaml(presets.resolve(name)), name)


@pytest.mark.parametrize("name", sorted(RUNS))
def test_train_presets_are_the_papers_settings(name):
    cfg = from_mapping(TrainConfig, load_yaml(presets.resolve(name, "train")), "train", name)
    expected = TrainConfig(**PAPER, **RUNS[name], out=f"runs/{name}")
    assert cfg == expected
    assert (cfg.neuron.alpha, cfg.neuron.beta_value) == (4.0, 0.5)  # the paper's alpha and beta, at evaluation


def test_the_train_presets_are_listed_and_shipped():
    assert presets.names("train") == sorted(RUNS)
    shipped = {p.stem for p in presets.FOLDER.glob("*.yaml")}
    assert shipped == SHIPPED | set(RUNS)  # each preset is one command's


def test_each_command_refuses_the_others_presets():
    with pytest.raises(SnnDeployError, match=r"^paper-mnist is a preset of snndeploy train, not of export; "
                                             r"export presets: jetson-fp16, parity, server-fp32 \(or give a YAML "
                                             r"file path\)$"):
        presets.resolve("paper-mnist", "export")
    with pytest.raises(SnnDeployError, match=r"^jetson-fp16 is a preset of snndeploy export, not of train; train "
                                             r"presets: paper-cifar10, paper-cifar10-resnet18, paper-fmnist, "
                                             r"paper-mnist \(or give a YAML file path\)$"):
        presets.resolve("jetson-fp16", "train")


def test_names_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert presets.resolve("parity") == presets.FOLDER / "parity.yaml"
    assert presets.resolve("my.yaml") == Path("my.yaml")  # a path, even before it exists (read later)
    assert presets.resolve("conf/jetson-fp16") == Path("conf/jetson-fp16")
    (tmp_path / "mine").write_text("T: [2]\n")
    assert presets.resolve("mine") == Path("mine")  # an existing file without a suffix
    with pytest.raises(SnnDeployError, match=r"^unknown preset 'jetson'; presets: jetson-fp16, parity, "
                                             r"server-fp32 \(or give a YAML file path\)$"):
        presets.resolve("jetson")


def test_export_with_a_preset_by_name_from_another_folder(tiny_run, tmp_path, monkeypatch):
    """`snndeploy export RUN --config jetson-fp16` in a folder that has no presets in it."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    r = invoke("export", tiny_run.path.parent, "--config", "jetson-fp16", "-o", tmp_path / "out")
    assert r.exit_code == 0, r.output
    assert (tmp_path / "out" / "small-cnn_T5_fp16_batch1.onnx").is_file()
    assert "TensorRT 10.3 check" in r.output


def test_unknown_preset_is_one_line(tiny_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    r = invoke("export", tiny_run.path.parent, "--config", "jetson", "-o", tmp_path / "out")
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == 2 and lines == ["error: unknown preset 'jetson'; presets: jetson-fp16, parity, server-fp32 "
                                          "(or give a YAML file path)"], r.output
    assert not (tmp_path / "out").exists()


def _one_line(r) -> str:
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    assert r.exit_code == 2 and len(lines) == 1, r.output
    return lines[0]


def test_train_refuses_an_export_preset_and_export_a_train_preset(tiny_run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    line = _one_line(invoke("train", "--config", "jetson-fp16", "-o", tmp_path / "run"))
    assert line.startswith("error: jetson-fp16 is a preset of snndeploy export, not of train; train presets: "
                           "paper-cifar10, "), line
    line = _one_line(invoke("export", tiny_run.path.parent, "--config", "paper-mnist", "-o", tmp_path / "out"))
    assert line.startswith("error: paper-mnist is a preset of snndeploy train, not of export; export presets: "
                           "jetson-fp16, "), line
    assert "unknown preset 'paper'; presets: paper-cifar10, " in _one_line(invoke("train", "--config", "paper"))
    assert not (tmp_path / "run").exists() and not (tmp_path / "out").exists()


def test_a_train_preset_by_name_with_flags_over_it(tmp_path, monkeypatch):
    """`snndeploy train --config paper-mnist` with a few flags: the flags win, the preset gives the rest (its run
    folder included)."""
    from snndeploy.training import checkpoint as ckpt

    monkeypatch.chdir(tmp_path)
    r = invoke("train", "--config", "paper-mnist", "--dataset", "sample", "--model", "small-cnn", "--epochs", 1,
               "--limit-train", 128, "--limit-test", 64, "--t0-epochs", 7)
    assert r.exit_code == 0, r.output
    assert "hint:" not in r.output  # the preset gives its lr: no hint for a short run
    t = ckpt.load(tmp_path / "runs" / "paper-mnist").facts.training
    assert (t.dataset, t.model, t.epochs, t.t0_epochs, t.limit_train) == ("sample", "small-cnn", 1, 7, 128)
    assert (t.lr, t.loss, t.noise, t.noise_lo, t.noise_hi, t.batch_size) == (1e-4, "mse", "gaussian", 0.0, 1.0, 64)
