"""The device check's CPU dry run (DEV=cpu): its probes run and report, so the script cannot rot between
the sessions that are lent a GPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "gpu_check.py"


@pytest.mark.slow
def test_dry_run_on_the_cpu(tmp_path):
    if not SCRIPT.is_file():
        pytest.skip("not run from a source checkout")
    out = tmp_path / "gpu_check.json"
    env = {**os.environ, "DEV": "cpu", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(SCRIPT), "--out", str(out), "--work", str(tmp_path / "w"),
                        "--only", "train,resume,runner,missing_backends"], env=env, capture_output=True, text=True,
                       timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(out.read_text())
    probes = report["probes"]
    assert report["device"] == "cpu" and set(probes) == {"train", "resume", "runner", "missing_backends"}
    assert all(p["rc"] == 0 for p in probes.values()), {k: p.get("tail", p) for k, p in probes.items() if p["rc"]}
    assert len(probes["train"]["result"]["history"]) == 3
    assert probes["resume"]["result"]["bit_identical"]  # on the CPU a resumed run is the uninterrupted one
    runner = probes["runner"]["result"]
    assert runner["fresh_noise_per_replay"] and runner["reseed_reproduces"]
    assert max(runner["revisit_max_diff_vs_eager"]) == 0.0 and runner["fed_noise_max_diff_vs_ort"] < 1e-4
    # no TensorRT and no onnxruntime-gpu here: both commands stop with one `error:` line and exit 2
    assert probes["missing_backends"]["build"]["one_line_error"]
    assert probes["missing_backends"]["eval_ort_cuda"]["one_line_error"]
