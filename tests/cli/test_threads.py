"""`--threads N` on every command that computes: applied before any work, it reaches PyTorch, OpenMP (the
environment) and every ONNX Runtime session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import typer.main
from cli_helpers import invoke

from snndeploy.cli.main import app
from snndeploy.core import threads
from snndeploy.core.errors import SnnDeployError

IMAGE = Path(__file__).parents[2] / "samples" / "images" / "digit0_test2.png"
N = 3  # neither this machine's cores nor the tests' OMP_NUM_THREADS=1: a count only --threads can have set
# the command and the function it hands the work to (replaced here by one that records the thread setting)
WORKERS = {"train": "snndeploy.training.train.train", "export": "snndeploy.export.exporter.check_export",
           "quantize": "snndeploy.export.quantize.quantize_onnx", "build": "snndeploy.engine.build.build_engine",
           "infer": "snndeploy.cli.infer_cmd.open_runner", "eval": "snndeploy.cli.eval_cmd.evaluate"}


@pytest.fixture
def restore_threads():
    """The test process's thread setting, as it was, after the test."""
    import torch

    before = (threads._threads, torch.get_num_threads(), {v: os.environ.get(v) for v in threads._ENV})
    yield
    threads._threads = before[0]
    torch.set_num_threads(before[1])
    for var, value in before[2].items():
        if value is None:
            os.environ.pop(var, None)
        else:
            os.environ[var] = value


def test_commands_that_compute_take_threads():
    root = typer.main.get_command(app)
    for name in WORKERS:
        assert "threads" in {p.name for p in root.commands[name].params}, f"`{name}` has no --threads"


@pytest.mark.parametrize("command", sorted(WORKERS))
def test_threads_reach_torch_before_the_work(command, monkeypatch, restore_threads, tmp_path):
    import torch

    seen = {}

    def worker(*args, **kwargs):
        seen.update(current=threads.current(), torch=torch.get_num_threads(), omp=os.environ["OMP_NUM_THREADS"])
        raise SnnDeployError("stopped after the thread check")

    module, name = WORKERS[command].rsplit(".", 1)
    monkeypatch.setattr(module + "." + name, worker)
    args = {"train": ["train", "-o", tmp_path / "run"], "export": ["export", tmp_path, "-o", tmp_path / "x"],
            "quantize": ["quantize", tmp_path / "m.onnx"], "build": ["build", tmp_path / "m.onnx"],
            "infer": ["infer", tmp_path, IMAGE], "eval": ["eval", tmp_path]}[command]
    r = invoke(*args, "--threads", N)
    assert r.exit_code == 2 and "stopped after the thread check" in r.output, r.output
    assert seen == {"current": N, "torch": N, "omp": str(N)}


def test_onnxruntime_sessions_get_the_threads(tiny_run, tmp_path, monkeypatch, restore_threads):
    import onnxruntime

    assert invoke("export", tiny_run.path.parent, "--T", 2, "-o", tmp_path).exit_code == 0
    (graph,) = tmp_path.glob("*.onnx")
    real, seen = onnxruntime.InferenceSession, []

    def session(model, options=None, *args, **kwargs):
        seen.append(options.intra_op_num_threads)
        return real(model, options, *args, **kwargs)

    monkeypatch.setattr(onnxruntime, "InferenceSession", session)
    r = invoke("infer", graph, IMAGE, "--threads", N)
    assert r.exit_code == 0, r.output
    assert seen == [N]


# a fresh process: PyTorch is imported by the command's work, after --threads (it reads the environment then)
FRESH = """
import sys
from typer.testing import CliRunner
import snndeploy.export.quantize as quantize_module
from snndeploy.cli.main import app
assert "torch" not in sys.modules

def quantize(*args, **kwargs):
    import torch
    print("torch threads", torch.get_num_threads())

quantize_module.quantize_onnx = quantize  # before the command imports its producer (and PyTorch)
r = CliRunner().invoke(app, ["quantize", "m.onnx", "--threads", "1"])
print(r.output)
"""


def test_threads_reach_torch_imported_later():
    import subprocess
    import sys

    env = {**os.environ, "OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "2"}  # what --threads 1 must override
    r = subprocess.run([sys.executable, "-c", FRESH], env=env, capture_output=True, text=True, timeout=300)
    assert "torch threads 1" in r.stdout, r.stdout + r.stderr


def test_no_threads_option_keeps_a_launchers_setting(monkeypatch, restore_threads):
    """torchrun gives each of several workers OMP_NUM_THREADS=1: a command without --threads keeps it."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads.set_threads(None) == 1 and os.environ["OMP_NUM_THREADS"] == "1"
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads.set_threads(None) == threads.available()
