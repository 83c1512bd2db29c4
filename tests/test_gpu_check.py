"""The device check (scripts/gpu_check.sh / gpu_check.py) on the CPU: its dry run passes, each probe fails when what
it measures is broken on purpose, and its step budget skips or stops probes instead of being killed itself."""

from __future__ import annotations

import functools
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "gpu_check.py"
SHELL = ROOT / "scripts" / "gpu_check.sh"
pytestmark = pytest.mark.skipif(not SCRIPT.is_file(), reason="not run from a source checkout")


def has_cuda_bindings() -> bool:
    """The cuda_driver probe needs cuda-bindings (PyTorch's CUDA wheels bring it); without it the probe is skipped."""
    try:
        return importlib.util.find_spec("cuda.bindings") is not None
    except ModuleNotFoundError:
        return False


@functools.cache
def load_script():
    """scripts/gpu_check.py as a module (it is not in a package)."""
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_check"] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


def dry_run(out: Path, work: Path, *args: str, budget: int | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    env = {**os.environ, "DEV": "cpu", "OMP_NUM_THREADS": "1", "OUT": str(out.parent)}
    env.pop("GPU_CHECK_BREAK", None)
    if budget is not None:
        env["GPU_CHECK_BUDGET"] = str(budget)
    r = subprocess.run(["bash", str(SHELL), "--work", str(work), *args], env=env, capture_output=True, text=True,
                       timeout=900)
    report = json.loads(out.read_text()) if out.is_file() else {}
    return r, report


@pytest.fixture(scope="module")
def passed(tmp_path_factory):
    """One full dry run (every probe), shared: the broken runs reuse its fixture (checkpoint and graph)."""
    base = tmp_path_factory.mktemp("gpu-check")
    r, report = dry_run(base / "gpu_check.json", base / "work")
    return r, report, base


@pytest.mark.slow
def test_dry_run_passes_every_probe(passed):
    r, report, base = passed
    load = load_script()
    assert r.returncode == 0, r.stdout + r.stderr
    probes = report["probes"]
    assert report["device"] == "cpu" and list(probes) == list(load.BUDGETS)  # every probe, in order
    expected = {n: "pass" if n != "cuda_driver" or has_cuda_bindings() else "skipped" for n in load.BUDGETS}
    assert {n: p["status"] for n, p in probes.items()} == expected, \
        {n: (p["reason"], p.get("log_tail", "")[-1500:]) for n, p in probes.items() if p["status"] != "pass"}
    runner = probes["runner"]["values"]
    assert runner["fed_matches_uncaptured"]["batches"] == [8, 1, 8, 3]
    assert max(runner["fed_matches_uncaptured"]["max_abs_diff"]) <= load.SAME_KERNELS_ATOL
    assert runner["own_noise_fresh_per_run"]["max_abs_diff"] > 0 and runner["reseed_repeats"]["max_abs_diff"] == 0
    compiled = probes["runner_compiled"]["values"]["compiled"]
    assert compiled == {"asked": True, "in_effect": True, "SNNDEPLOY_COMPILE": "1"}
    assert probes["ort_parity"]["values"]["tf32_off_matches_ort_cpu"]["rows_within"] == 1.0
    train = probes["train_resume"]["values"]
    assert train["resumed_identical_to_straight"]["max_abs_weight_diff"] == 0.0
    assert train["straight_runs_identical"]["max_abs_weight_diff"] == 0.0
    ddp = probes["ddp"]["values"]
    assert [g["backend"] for g in ddp["backend"]["process_groups"]] == ["gloo", "gloo"]
    errors = ddp["cli_error_is_one_line_per_rank"]["errors"]  # each rank's own log: its one line, no traceback
    assert sorted(errors) == ["0", "1"] and all(len(e) == 1 for e in errors.values())
    assert ddp["cli_error_is_one_line_per_rank"]["launcher_traceback"]  # torchrun's own, present and not counted
    missing = probes["missing_backends"]["values"]
    assert missing["build"]["outcome"] == missing["eval_ort_cuda"]["outcome"] == "one error line"
    assert probes["bench"]["values"]["pytorch_rows_measured"]["batches"] == [1, 64]
    logs = base / "gpu_check_logs"  # beside the JSON: each probe's output and each torchrun rank's own
    assert {f"{n}.log" for n in load.BUDGETS} <= {f.name for f in (logs / "logs").glob("*.log")}
    assert len(list((logs / "ddp").rglob("stderr.log"))) >= 4  # two runs of two ranks


@pytest.mark.slow
def test_each_probe_fails_when_broken_on_purpose(passed, tmp_path):
    _, _, base = passed
    work = base / "work"
    load = load_script()
    # the compiled runner breaks as the plain one does; cuda_driver is skipped without cuda-bindings
    broken = [n for n in load.BREAKS if n != "runner_compiled" and (n != "cuda_driver" or has_cuda_bindings())]
    out = tmp_path / "gpu_check.json"
    r, report = dry_run(out, work, "--only", ",".join(broken), "--break", ",".join(broken))
    assert r.returncode == 1, r.stdout + r.stderr
    assert report["broken_on_purpose"] == broken
    assert {n: p["status"] for n, p in report["probes"].items()} == {n: "fail" for n in broken}
    reasons = {n: p["reason"] for n, p in report["probes"].items()}
    assert "resumed_identical_to_straight" in reasons["train_resume"]
    assert "straight_runs_identical" not in reasons["train_resume"]  # only the resume was broken
    assert "backend" in reasons["ddp"]  # one process: no process group, no NCCL / gloo
    assert "fed_matches_uncaptured" in reasons["runner"]
    assert "tf32_off_matches_ort_cpu" in reasons["ort_parity"]


def test_a_probe_that_does_not_fit_is_skipped_with_its_reason(tmp_path):
    out = tmp_path / "gpu_check.json"
    r, report = dry_run(out, tmp_path / "work", "--only", "environment,runner", budget=5)
    assert r.returncode == 0, r.stdout + r.stderr  # skipped is not failed
    env, runner = report["probes"]["environment"], report["probes"]["runner"]
    assert env["status"] == "skipped" and "does not fit" in env["reason"] and env["seconds"] == 0.0
    assert runner["status"] == "skipped" and "needs the fixture" in runner["reason"]
    assert report["summary"] == {"pass": [], "fail": [], "skipped": ["environment", "runner"]}


def test_a_probe_past_its_budget_is_stopped_with_its_children(tmp_path):
    load = load_script()
    pid_file = tmp_path / "child.pid"
    # a worker that starts a child and outlives its budget: both go, and the caller gets rc 124
    cmd = ["bash", "-c", f"sleep 60 & echo $! > {pid_file}; wait"]
    rc, _ = load.run_cmd(cmd, 1, dict(os.environ), tmp_path / "log", group=True)
    assert rc == 124
    stat = Path(f"/proc/{int(pid_file.read_text())}/stat")
    for _ in range(50):  # the kill is asynchronous; a zombie waiting for its reaper is gone too
        if not stat.is_file() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.1)
    else:
        pytest.fail("the probe's child outlived the probe")


def test_unknown_probe_is_one_line(tmp_path):
    r = subprocess.run([sys.executable, str(SCRIPT), "--only", "gpu", "--work", str(tmp_path)], capture_output=True,
                       text=True, env={**os.environ, "DEV": "cpu"})
    assert r.returncode == 2 and r.stderr.strip().splitlines() == ["error: unknown probe 'gpu'; probes: "
                                                                   + ", ".join(load_script().BUDGETS)]
