"""Bench files: the environment record in JSON, CSV and Markdown, columns a later measurement adds, the plot."""

import csv
import json

import pytest
from matplotlib.container import ErrorbarContainer

from snndeploy.bench import output

ENV = {"host": "box", "cpu": "Some CPU @ 2.0GHz", "cores": 2, "threads": 1, "gpu": None,
       "versions": {"python": "3.12.1", "torch": "2.14.1"}, "command": "snndeploy bench a\nb", "noise": "frozen, graph",
       "device": "cpu", "artifacts": {"runs/a/model.json": "ab" * 32, "g.onnx": "cd" * 32}}


def row(artifact="run", backend="pytorch-cpu", T=1, p50=2.0, accuracy=0.9, status="ok", **extra):
    return {"artifact": artifact, "backend": backend, "precision": "fp32", "T": T, "batch": 1, "noise": "graph",
            "status": status, "accuracy": accuracy, "p10_ms": p50 - 0.5, "p50_ms": p50, "p90_ms": p50 + 1.0,
            "p99_ms": p50 + 2.0, "images_per_s": 1000 / p50, "size_mb": 1.5, "file": "runs/a", "path": "runs/a",
            **extra}


STATUS = "pytorch runs fp32 only; fp16 runs on --backend onnxruntime or tensorrt"
ROWS = [row(), row(backend="onnxruntime-cpu", T=5, p50=1.0),
        {**row(status=STATUS), **dict.fromkeys(("accuracy", "p10_ms", "p50_ms", "p90_ms", "p99_ms", "images_per_s"))}]


def test_json_carries_the_environment(tmp_path):
    doc = json.loads(output.write_json(tmp_path / "b.json", ROWS, ENV).read_text())
    assert doc["environment"] == ENV and doc["results"] == ROWS


def test_csv_starts_with_environment_comments_and_still_parses(tmp_path):
    text = output.write_csv(tmp_path / "b.csv", ROWS, ENV).read_text()
    comments = [line for line in text.splitlines() if line.startswith("#")]
    assert text.startswith("# host: box\n")
    assert "# versions.torch: 2.14.1" in comments and "# noise: frozen, graph" in comments
    assert f"# artifacts.runs/a/model.json: {'ab' * 32}" in comments and "# gpu: none" in comments
    assert '# command: "snndeploy bench a\\nb"' in comments  # a line break stays inside one JSON string
    # what pandas.read_csv(path, comment="#") does with whole-line comments: skip them
    with open(tmp_path / "b.csv", newline="") as fh:
        rows = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert len(rows) == 3 and list(rows[0])[:7] == ["artifact", "backend", "precision", "T", "batch", "noise", "status"]
    assert rows[1]["backend"] == "onnxruntime-cpu" and float(rows[1]["p10_ms"]) == 0.5
    assert rows[2]["status"] == STATUS and rows[2]["p50_ms"] == ""


def test_markdown_has_environment_and_artifact_column(tmp_path):
    text = output.write_markdown(tmp_path / "b.md", ROWS, ENV).read_text()
    assert "## Environment" in text and "- cpu: Some CPU @ 2.0GHz" in text and "- noise: frozen, graph" in text
    assert f"- artifacts.g.onnx: {'cd' * 32}" in text and "- device: cpu" in text
    header = next(line for line in text.splitlines() if line.startswith("| artifact"))
    assert header.startswith("| artifact | backend | prec | T | batch | noise | acc %")
    assert text.count("\n| run | ") == 3


def test_a_column_added_later_reaches_json_and_csv(tmp_path):
    rows = [row(), row(T=5, firing_rate=0.12, synops=3.4e6)]
    assert output.fieldnames(rows)[-2:] == ["firing_rate", "synops"]
    with open(output.write_csv(tmp_path / "b.csv", rows, ENV), newline="") as fh:
        parsed = list(csv.DictReader(line for line in fh if not line.startswith("#")))
    assert parsed[0]["firing_rate"] == "" and parsed[1]["firing_rate"] == "0.12"
    assert output.rows_as_table(rows)[1][0] == "run"  # the console table keeps its own columns


def test_front_plot_draws_p50_with_p10_p90_bars_and_no_lines(tmp_path, monkeypatch):
    seen = {}
    real = output.finish

    def keep(fig, ax, path, **kw):
        seen["ax"] = ax
        return real(fig, ax, path, **kw)

    monkeypatch.setattr(output, "finish", keep)
    rows = [row(T=T, p50=p50, accuracy=acc) for T, p50, acc in ((1, 1.0, 0.90), (5, 3.0, 0.95), (10, 2.5, 0.96))]
    path = output.plot_front(tmp_path / "front.png", rows)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    ax = seen["ax"]
    (bars,) = [c for c in ax.containers if isinstance(c, ErrorbarContainer)]
    assert bars.has_xerr and not bars.has_yerr
    data_line = bars.lines[0]
    assert data_line.get_linestyle() == "None"  # points only: no zigzag joining noisy timings in T order
    assert list(data_line.get_xdata()) == [1.0, 3.0, 2.5]
    spans = sorted(tuple(seg[:, 0]) for seg in bars.lines[2][0].get_segments())
    assert spans == [(0.5, 2.0), (2.0, 3.5), (2.5, 4.0)]  # p10 .. p90 of each point
    assert all(line.get_linestyle() == "None" for line in ax.get_lines() if len(line.get_xdata()) > 1)
    assert sorted(t.get_text() for t in ax.texts) == ["T=1", "T=10", "T=5"]


def test_front_plot_needs_a_measured_row(tmp_path):
    from snndeploy.core.errors import SnnDeployError

    with pytest.raises(SnnDeployError, match="no measured rows"):
        output.plot_front(tmp_path / "f.png", [row(status="no GPU")])


def test_console_table_refers_long_statuses_to_notes():
    rows = [row(), {**row(status=STATUS), "p50_ms": None}, {**row(T=5, status=STATUS), "p50_ms": None},
            {**row(status="no GPU"), "p50_ms": None}]
    cells, notes = output.rows_with_notes(rows)
    assert [c[-1] for c in cells] == ["ok", "note 1", "note 1", "note 2"]
    assert notes == [f"note 1: {STATUS}", "note 2: no GPU"]
