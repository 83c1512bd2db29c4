"""Every file an artifact reader opens is a regular file of bounded size (issue 20, item 4): a FIFO in place of an
ONNX graph, an engine plan, its sidecar JSON or a Triton config.pbtxt, or a link to /dev/zero there, is one line
within seconds; so is a sidecar (or a config's record) nested 100,000 deep.

The hostile calls run in a child process with a timeout and a memory cap: a reader that blocks on a FIFO or reads
/dev/zero without end fails the test instead of hanging the suite or eating the machine's memory."""

import json
import os
import resource
import subprocess
import sys

import onnx
import pytest
from conftest import make_checkpoint

from snndeploy.artifacts import metadata, sidecar
from snndeploy.core.hashing import sha256
from snndeploy.export.exporter import ExportConfig, export

DEEP = "[" * 100_000 + "]" * 100_000

# Runs each case (a label and an expression over the names below) and prints one line per case: "ok", the
# one-line SnnDeployError, or the last line of any other exception.
CHILD = """
import json, sys
from pathlib import Path
from snndeploy.core.errors import SnnDeployError
from snndeploy.artifacts import metadata, sidecar, triton, triton_engine
cases = json.loads(sys.argv[1])
for label, expr in cases:
    try:
        eval(expr)
        print(label, "| ok", flush=True)
    except SnnDeployError as e:
        print(label, "| error:", str(e).replace(chr(10), "\\\\n"), flush=True)
    except BaseException as e:
        print(label, "| crash:", type(e).__name__, flush=True)
"""


def _cap_memory():
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))  # /dev/zero read to the end would pass this


def run_cases(cases):
    """label -> the outcome line of each (label, expression) case, run in one child process (60 s at most)."""
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    try:
        r = subprocess.run([sys.executable, "-c", CHILD, json.dumps(cases)], capture_output=True, text=True,
                           timeout=60, env=env, preexec_fn=_cap_memory)
    except subprocess.TimeoutExpired as exc:
        done = (exc.stdout or b"").decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        pytest.fail(f"a reader hung (a FIFO or /dev/zero); finished before it: {done!r}")
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert len(lines) == len(cases), r.stdout + r.stderr[-2000:]
    return {line.split(" | ", 1)[0]: line.split(" | ", 1)[1] for line in lines}


def fifo(path):
    path.unlink(missing_ok=True)
    os.mkfifo(path)
    return path


def dev_zero(path):
    path.unlink(missing_ok=True)
    path.symlink_to("/dev/zero")
    return path


@pytest.fixture(scope="module")
def graph(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    make_checkpoint(root / "ck", "small-cnn")
    (e,) = export(root / "ck", ExportConfig(T=(2,), out=str(root / "onnx")))
    return e.path


def write_plan(folder, facts, plan_bytes=b"plan bytes"):
    plan = folder / "e.plan"
    plan.write_bytes(plan_bytes)
    shapes = {"images": {"min": [1, 1, 28, 28], "opt": [1, 1, 28, 28], "max": [8, 1, 28, 28]}}
    sidecar.write(plan, facts, {"tensorrt": "10.3.0", "gpu": "test", "compute_capability": "8.7", "shapes": shapes,
                                "onnx_sha256": "0" * 64, "plan_sha256": sha256(plan), "max_batch": 8})
    return plan


def planted_plans(graph, tmp_path, makers=(fifo, dev_zero, None)):
    """(maker, name, folder, plan) per maker: a folder of its own under ``tmp_path`` (named after the maker,
    "deep" for None, the deep-JSON case) holding a real plan and sidecar of ``graph``, for the case to make
    hostile."""
    facts = metadata.load(graph)[1]
    for make in makers:
        name = make.__name__ if make else "deep"
        folder = tmp_path / name
        folder.mkdir()
        yield make, name, folder, write_plan(folder, facts)


def test_onnx_graph_fifo_dev_zero_and_oversize(graph, tmp_path):
    cases = []
    for make in (fifo, dev_zero):
        path = make(tmp_path / f"{make.__name__}.onnx")
        cases += [(f"load {make.__name__}", f"metadata.load({str(path)!r})"),
                  (f"load_any {make.__name__}", f"metadata.load_any({str(path)!r})"),
                  (f"ort {make.__name__}",
                   f"__import__('snndeploy.runners.onnxruntime').runners.onnxruntime.OnnxRuntimeRunner({str(path)!r})")]
    out = run_cases(cases)
    for label, line in out.items():
        assert line.startswith("error: ") and "is not a regular file" in line, (label, line)


def test_onnx_graph_over_the_size_limit(graph, tmp_path, monkeypatch):
    big = tmp_path / "big.onnx"
    big.write_bytes(graph.read_bytes() + b"\0" * (1 << 20))
    monkeypatch.setenv("SNNDEPLOY_MAX_FILE_MB", "1")
    with pytest.raises(metadata.SnnDeployError, match=r"^ONNX file .*big.onnx is [0-9.]+ MB, over the 1 MB limit"):
        metadata.load(big)


def test_engine_plan_fifo_and_dev_zero(graph, tmp_path):
    cases = []
    for make, _, _, plan in planted_plans(graph, tmp_path, (fifo, dev_zero)):
        info = json.loads(sidecar.path_for(plan).read_text())
        make(plan)  # the sidecar stays: only the plan is hostile
        cases += [(f"read {make.__name__}", f"sidecar.read({str(plan)!r})"),
                  (f"check_plan {make.__name__}", f"sidecar.check_plan({str(plan)!r}, {info!r})"),
                  (f"triton {make.__name__}", f"triton_engine.write_engine({str(tmp_path / 'repo')!r}, {str(plan)!r})")]
    out = run_cases(cases)
    for label, line in out.items():
        assert line.startswith("error: engine ") and "is not a regular file" in line, (label, line)
    assert not (tmp_path / "repo").exists()


def test_sidecar_fifo_dev_zero_and_deep_json(graph, tmp_path):
    cases = []
    for make, name, _, plan in planted_plans(graph, tmp_path):
        side = sidecar.path_for(plan)
        if make:
            make(side)
        else:
            side.write_text(DEEP)
        cases.append((name, f"sidecar.read({str(plan)!r})"))
    out = run_cases(cases)
    for name in ("fifo", "dev_zero"):
        assert out[name].startswith("error: engine sidecar ") and "is not a regular file" in out[name], out
    assert out["deep"].startswith("error: engine sidecar ") and "nests more than 64 levels deep" in out["deep"], out


def test_triton_config_fifo_dev_zero_and_deep_record(graph, tmp_path):
    pytest.importorskip("tritonclient.grpc.model_config_pb2", reason="tritonclient not installed")
    cases = []
    for make, name, folder, plan in planted_plans(graph, tmp_path):
        model = triton_engine_folder(folder / "repo", plan)  # a real engine model, then its config made hostile
        config = model / "config.pbtxt"
        if make:
            make(config)
        else:  # the snndeploy record in the config's parameters nested 100,000 deep
            text = config.read_text()
            start = text.index('key: "snndeploy"')
            value = text.index("string_value: ", start)
            end = text.index("\n", value)
            config.write_text(text[:value] + f"string_value: {json.dumps(DEEP)}" + text[end:])
        cases.append((name, f"triton_engine.write_engine({str(folder / 'repo')!r}, {str(plan)!r})"))
        cases.append((name + " onnx", f"triton.write_model({str(folder / 'repo')!r}, "
                                      f"metadata.load({str(graph)!r})[1], 'tensorrt_plan', {{'x.plan': b'x'}})"))
    out = run_cases(cases)
    for name in ("fifo", "dev_zero"):
        assert out[name].startswith("error: Triton model config ") and "is not a regular file" in out[name], out
        # the ONNX writer does not read the config, but would replace (delete) the planted FIFO or link
        assert out[name + " onnx"].startswith("error: ") and "is not a regular file" in out[name + " onnx"], out
    # a record too deep to be this graph's is another graph's: the folder is refused, no RecursionError
    assert out["deep"].startswith("error: ") and "holds engines of another graph" in out["deep"], out
    for name in ("fifo", "dev_zero"):
        assert os.path.lexists(tmp_path / name / "repo" / model.name / "config.pbtxt")  # left where it was


def triton_engine_folder(repo, plan):
    from snndeploy.artifacts.triton_engine import write_engine

    return write_engine(repo, plan)


def test_graph_loads_from_its_bytes(graph):
    """The file is read once, bounded, and parsed from those bytes (snndeploy writes no external data)."""
    model, facts = metadata.load(graph)
    assert model == onnx.load(str(graph)) and facts.T == 2
