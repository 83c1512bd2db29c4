"""Quantize writes ModelOpt's files in a private temp folder beside its target, named with the writer's pid
(issue 20, item 8): a killed quantize leaves a folder the next write there removes, never one in /tmp that no
cleanup matches, and a foreign ``.x.tmp`` is never touched. ModelOpt itself is replaced by a stand-in."""

import os
import shutil
import subprocess
import sys

import pytest
from conftest import make_checkpoint

from snndeploy.core import atomic
from snndeploy.core.errors import SnnDeployError
from snndeploy.export import quantize as quantize_module
from snndeploy.export.exporter import ExportConfig, export


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    root = tmp_path_factory.mktemp("quantize")
    make_checkpoint(root / "ck", "small-cnn")
    (e,) = export(root / "ck", ExportConfig(T=(2,), inline=True, out=str(root / "onnx")))
    return e.path


def dead_pid() -> str:
    return subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()


def test_modelopt_writes_in_a_recognisable_temp_folder_beside_the_target(graph, tmp_path, monkeypatch):
    out = tmp_path / "out"
    out.mkdir()
    leftover = out / f".int8.onnx.{dead_pid()}-abc123{atomic.TEMP_SUFFIX}"  # what a killed quantize leaves
    leftover.mkdir()
    (leftover / "int8.onnx").write_bytes(b"half a graph")
    foreign_dir, foreign_file = out / ".x.tmp", out / ".notes.tmp"
    foreign_dir.mkdir()
    foreign_file.write_text("mine")
    seen = {}

    def fake_quantize(onnx_path, *, output_path, **options):
        seen["input"], seen["output"] = onnx_path, output_path
        # ModelOpt writes intermediate files beside its input and output: they must land in our folder too
        shutil.copyfile(onnx_path, onnx_path + ".named.onnx")
        shutil.copyfile(onnx_path, output_path)

    monkeypatch.setattr(quantize_module, "_modelopt_quantize", lambda: fake_quantize)
    q = quantize_module.quantize_onnx(graph, calib=4, out=out / "int8.onnx")
    tmp = os.path.dirname(seen["output"])
    assert os.path.dirname(tmp) == str(out) and atomic._TEMP.fullmatch(os.path.basename(tmp))
    assert str(os.getpid()) in os.path.basename(tmp) and os.path.dirname(seen["input"]) == tmp
    assert not leftover.exists() and foreign_dir.is_dir() and foreign_file.read_text() == "mine"
    assert sorted(p.name for p in out.iterdir()) == [".notes.tmp", ".x.tmp", "int8.onnx"]
    assert q.path == out / "int8.onnx" and q.path.stat().st_size > 0


def test_a_failed_quantize_leaves_nothing(graph, tmp_path, monkeypatch):
    def failing(onnx_path, *, output_path, **options):
        open(output_path, "wb").write(b"partial")
        raise RuntimeError("calibration failed")

    monkeypatch.setattr(quantize_module, "_modelopt_quantize", lambda: failing)
    with pytest.raises(RuntimeError):
        quantize_module.quantize_onnx(graph, calib=4, out=tmp_path / "int8.onnx")
    assert list(tmp_path.iterdir()) == []


def test_modelopt_writing_no_graph_is_one_line(graph, tmp_path, monkeypatch):
    monkeypatch.setattr(quantize_module, "_modelopt_quantize",
                        lambda: lambda onnx_path, *, output_path, **options: None)
    with pytest.raises(SnnDeployError, match="^ModelOpt's INT8 graph not found: "):
        quantize_module.quantize_onnx(graph, calib=4, out=tmp_path / "int8.onnx")


def test_modelopt_paths_hold_no_onnx_but_the_file_names(graph, tmp_path, monkeypatch):
    """ModelOpt names intermediate files by ``path.replace(".onnx", "_ir10.onnx")``, over the whole path: a folder
    whose name holds ".onnx" would be renamed too, and ModelOpt would fail with 'no such file'."""
    seen = {}

    def fake_quantize(onnx_path, *, output_path, **options):
        seen["input"] = onnx_path
        shutil.copyfile(onnx_path, output_path)

    monkeypatch.setattr(quantize_module, "_modelopt_quantize", lambda: fake_quantize)
    for out in (tmp_path / "int8.onnx", tmp_path / "models.onnx" / "int8.onnx"):
        quantize_module.quantize_onnx(graph, calib=4, out=out)
        assert seen["input"].count(".onnx") == 1 and out.is_file()
