"""`snndeploy bench serve`: the goals are judged from the numbers (each can fail), the load driver is bounded in
requests and time and counts errors, memory is summed over the server's process tree, and a short real run
writes its table, JSON, Markdown and plot."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from cli_helpers import bad

from snndeploy.bench.serve_load import (
    Check,
    LoadConfig,
    LoadReport,
    LoadRow,
    check_report_folder,
    checks,
    drive,
    process_tree_rss_mb,
)
from snndeploy.core import atomic
from snndeploy.core.errors import SnnDeployError

BASE = {"images_per_s": 1000.0, "p50_ms": 60.0, "p90_ms": 61.0, "p99_ms": 62.0}


def row(protocol="grpc", concurrency=16, ips=800.0, errors=0, p50=2.0, p99=4.0, requests=1000) -> LoadRow:
    return LoadRow(protocol, concurrency, requests, errors, requests / ips, ips, p50, p50, p99, 0.5)


def verdicts(rows, rss=((0, 100.0), (2000, 100.0), (4000, 105.0))) -> dict[str, Check]:
    return {c.goal.split(" (")[0]: c for c in checks(BASE, tuple(rows), tuple(rss), 64)}


def test_goals_hold_on_good_numbers():
    got = verdicts([row(concurrency=1), row()])
    assert all(c.holds for c in got.values()), got


@pytest.mark.parametrize("rows, rss, goal", [
    ([row(concurrency=1), row(ips=600.0)], None, "served images/s at concurrency 16 >= 70 % of in-process batch 64"),
    ([row(concurrency=1), row(errors=1)], None, "0 errors"),
    ([row(concurrency=1, p99=6.5), row()], None, "p99 <= 3 x p50 at concurrency 1"),
    ([row(concurrency=1), row()], ((0, 100.0), (2000, 100.0), (4000, 111.0)),
     "server RSS grows < 10 % from the 2nd thousand requests to the last"),
    ([row(concurrency=1), row()], ((0, 100.0), (900, 100.0)),
     "server RSS grows < 10 % from the 2nd thousand requests to the last"),
])
def test_each_goal_fails_on_numbers_that_miss_it(rows, rss, goal):
    got = verdicts(rows, rss) if rss else verdicts(rows)
    assert not got[goal].holds, got[goal]
    assert all(c.holds for name, c in got.items() if name != goal)


def test_drive_counts_errors_and_stops_at_the_request_bound():
    def send(i: int) -> None:
        if i % 4 == 0:
            raise RuntimeError(f"refused {i}")

    latencies, errors, seconds, first, cpu = drive(send, 3, 40, 30.0)
    assert len(latencies) == 30 and errors == 10
    assert first is not None and first.startswith("RuntimeError: refused")


def test_drive_stops_at_the_time_bound():
    latencies, errors, seconds, _, cpu = drive(lambda i: time.sleep(0.05), 2, 10_000, 0.5)
    assert 0 <= cpu < seconds  # sleeping clients spend (almost) no CPU
    assert errors == 0 and 2 <= len(latencies) < 100


def test_rss_sums_the_process_tree():
    own = process_tree_rss_mb(os.getpid())
    child = subprocess.Popen([sys.executable, "-c", "import time; x = bytearray(200 << 20); x[::4096] = b'1' * len("
                              "x[::4096]); print('up', flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "up"
        assert process_tree_rss_mb(os.getpid()) - own > 150  # the child's 200 MB count for its parent
    finally:
        child.kill()
        child.wait()


@pytest.mark.parametrize("options, message", [
    ({"concurrency": (0,)}, "--concurrency must be >= 1"),
    ({"protocols": ("ftp",)}, "unknown protocol 'ftp'"),
    ({"requests": 0}, "--requests must be >= 1"),
    ({"max_seconds": 0.0}, "--max-seconds must be > 0"),
])
def test_bad_options(options, message):
    with pytest.raises(SnnDeployError, match=message):
        LoadConfig(**options)


def _a_report(out):
    """serve_load.json as a run writes it: the record that this benchmark wrote the folder's report files."""
    report = LoadReport("m", "m.onnx", BASE, (row(),), ((0, 1.0),), (), {"host": "h"})
    atomic.write_json(out / "serve_load.json", report.to_dict())


def test_existing_report_files_are_refused_unless_overwrite(tmp_path):
    out = tmp_path / "report"
    check_report_folder(out, False)  # no folder yet
    out.mkdir()
    (out / "notes.txt").write_text("mine")  # not a file the benchmark writes
    check_report_folder(out, False)
    (out / "serve_load.md").write_text("someone's table")
    with pytest.raises(SnnDeployError) as refused:
        check_report_folder(out, False)
    assert str(refused.value) == f"{out / 'serve_load.md'} already exists: --overwrite replaces it, or give -o " \
                                 "another path"
    for record in ("none", '{"rows": []}', "not json"):  # nothing proves the benchmark wrote the table
        if record != "none":
            (out / "serve_load.json").write_text(record)
        with pytest.raises(SnnDeployError, match="was not written by snndeploy and is never replaced: give -o"):
            check_report_folder(out, True)
    _a_report(out)
    check_report_folder(out, True)  # the benchmark's own report: replaced
    (out / "serve_load.md").unlink()
    (out / "serve_load.md").symlink_to(out / "notes.txt")
    with pytest.raises(SnnDeployError, match="serve_load.md was not written by snndeploy and is never replaced"):
        check_report_folder(out, True)


def test_bench_serve_refuses_a_used_report_folder_before_any_work(tmp_path):
    out = tmp_path / "report"
    out.mkdir()
    (out / "serve_load.json").write_text("kept")
    err = " ".join(bad("bench", "serve", tmp_path / "none.onnx", "-o", out).split())
    assert "serve_load.json already exists: --overwrite replaces it, or give -o another path" in err
    err = " ".join(bad("bench", "serve", tmp_path / "none.onnx", "-o", out, "--overwrite").split())
    assert "serve_load.json was not written by snndeploy and is never replaced" in err
    assert (out / "serve_load.json").read_text() == "kept"


@pytest.mark.slow
def test_a_short_real_run_writes_its_report(tiny_run, tmp_path):
    from snndeploy.export.exporter import ExportConfig, export
    from snndeploy.serve.install import find_server

    try:
        find_server()
    except SnnDeployError as exc:
        pytest.skip(str(exc))
    pytest.importorskip("tritonclient.http", exc_type=ImportError)
    (graph,) = export(tiny_run.path, ExportConfig(out=str(tmp_path / "graphs")))
    out = tmp_path / "report"
    r = subprocess.run([sys.executable, "-m", "snndeploy.cli.main", "bench", "serve", str(graph.path),
                        "--concurrency", "1,2", "--requests", "30", "--settle", "20", "--max-seconds", "30",
                        "-o", str(out)],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    report = json.loads((out / "serve_load.json").read_text())
    assert [(x["protocol"], x["concurrency"]) for x in report["rows"]] == [("http", 1), ("http", 2), ("grpc", 1),
                                                                           ("grpc", 2)]
    assert all(x["requests"] == 30 and x["errors"] == 0 and x["images_per_s"] > 0 for x in report["rows"])
    assert report["baseline"]["batch"] == 64 and report["environment"]["cores"] >= 1
    assert (out / "serve_load.png").stat().st_size > 0 and "| goal |" in (out / "serve_load.md").read_text()
    assert "serving goals" in r.stdout
