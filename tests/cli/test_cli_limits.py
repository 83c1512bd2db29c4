"""`export`, `infer` and `eval` refuse a T that cannot fit in one `error:` line, before any work (issue 20,
item 7)."""

from pathlib import Path

from cli_helpers import invoke
from conftest import make_checkpoint

from snndeploy.core import budget

IMAGE = Path(__file__).parents[2] / "samples" / "images" / "digit0_test2.png"


def _one_error_line(r) -> str:
    assert r.exit_code == 2, r.output
    lines = r.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.output
    return lines[0]


def test_export_of_a_graph_over_2_GB_writes_nothing(tmp_path):
    make_checkpoint(tmp_path / "run", "small-cnn")
    line = _one_error_line(invoke("export", tmp_path / "run", "--T", "5,20000", "-o", tmp_path / "out"))
    assert "--T 20000 needs about 3.1 GB as an ONNX graph" in line and "largest T that fits" in line
    assert not (tmp_path / "out").exists()  # not even T = 5's file: every T is checked first


def test_infer_at_a_T_that_cannot_fit_is_one_line(tmp_path, monkeypatch):
    make_checkpoint(tmp_path / "run", "small-cnn")
    monkeypatch.setattr(budget, "available_memory", lambda: 3_900_000_000)
    line = _one_error_line(invoke("infer", tmp_path / "run", IMAGE, "--T", 100000))
    assert "--T 100000 needs about" in line and "(3.9 GB available); the largest T that fits is" in line


def test_eval_at_a_T_that_cannot_fit_is_one_line(tmp_path, monkeypatch):
    make_checkpoint(tmp_path / "run", "small-cnn")
    monkeypatch.setattr(budget, "available_memory", lambda: 3_900_000_000)
    line = _one_error_line(invoke("eval", tmp_path / "run", "--T", "5,100000", "--batch-size", 64))
    assert "--T 100000 needs about" in line and "at batch 64 (3.9 GB available)" in line
