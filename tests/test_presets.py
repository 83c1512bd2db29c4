"""Export presets ship inside the package: `--config NAME` finds them from any folder; a path is a file."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import invoke

from snndeploy import presets
from snndeploy.core.config import load_yaml
from snndeploy.core.errors import SnnDeployError
from snndeploy.export.exporter import ExportConfig

SHIPPED = {"jetson-fp16", "server-fp32", "parity"}


def test_every_shipped_preset_parses():
    assert set(presets.names()) == SHIPPED
    for name in presets.names():
        ExportConfig.from_dict(load_yaml(presets.resolve(name)), name)


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
