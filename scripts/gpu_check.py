"""The device check: the GPU paths that no CPU test can reach, each probe in its own process.

    python scripts/gpu_check.py --out gpu_check.json [--work DIR] [--only NAME,...]
    DEV=cpu python scripts/gpu_check.py ...   # dry run of the same probes on the CPU

Probes: training on the device, resume equal to an uninterrupted run, the CUDA-graph PyTorch runner
(fresh noise per replay, reseeding reproduces, batch shapes revisited, parity with ONNX Runtime on fed
noise), `bench run` and `bench train` on the device, DDP (NCCL on CUDA, gloo on the CPU), and the
one-line errors where TensorRT or onnxruntime-gpu are missing. A probe that crashes is a row with its
exit code and output tail; the JSON is written after every probe, so a killed run keeps what it had.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

DEV = os.environ.get("DEV", "cuda")
SNN = [sys.executable, "-m", "snndeploy.cli.main"]
SMALL = ["--limit-train", "2000", "--limit-test", "500"]


def run(cmd: list[str], timeout: int = 240, env: dict[str, str] | None = None) -> dict:
    """Run one command; its exit code, seconds and the tail of its output."""
    t0 = time.perf_counter()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})})
        rc, out = p.returncode, (p.stdout + p.stderr)
    except subprocess.TimeoutExpired as exc:
        rc, out = 124, f"timed out after {timeout} s: {(exc.stdout or b'')[-2000:]!r}"
    return {"cmd": shlex.join(cmd), "rc": rc, "seconds": round(time.perf_counter() - t0, 2), "tail": out[-3000:]}


def python(code: str, timeout: int = 240) -> dict:
    """Run a Python snippet in a fresh process; its last stdout line, if JSON, is the probe's result."""
    r = run([sys.executable, "-c", textwrap.dedent(code)], timeout)
    lines = [ln for ln in r["tail"].splitlines() if ln.startswith("{")]
    if r["rc"] == 0 and lines:
        r["result"] = json.loads(lines[-1])
    return r


def probe_train(w: Path) -> dict:
    r = run([*SNN, "train", "--epochs", "3", "--device", DEV, "--lr", "1e-3", "-o", str(w / "run"), "-q", *SMALL])
    if r["rc"] == 0:
        meta = json.loads((w / "run" / "model.json").read_text())
        r["result"] = {"history": meta["history"]}
    return r


def probe_resume(w: Path) -> dict:
    common = ["--device", DEV, "--lr", "1e-3", "-q", *SMALL]
    steps = [run([*SNN, "train", "--epochs", "2", "-o", str(w / "straight"), *common]),
             run([*SNN, "train", "--epochs", "1", "-o", str(w / "resumed"), *common]),
             run([*SNN, "train", "--epochs", "2", "-o", str(w / "resumed"), "--resume", *common])]
    if any(s["rc"] for s in steps):
        return {"rc": 1, "steps": steps}
    r = python(f"""
        import json, torch
        from safetensors.torch import load_file
        from pathlib import Path
        def weights(run):  # the file the run's checkpoint JSON names
            return load_file(str(Path(run) / json.loads((Path(run) / "model.json").read_text())["weights"]["file"]))
        a = weights({str(w / "straight")!r})
        b = weights({str(w / "resumed")!r})
        diff = max(float((a[k].double() - b[k].double()).abs().max()) for k in a)
        print(json.dumps({{"max_abs_weight_diff": diff, "bit_identical": diff == 0.0}}))
    """)
    r["steps"] = steps
    return r


def probe_runner(w: Path) -> dict:
    export = run([*SNN, "export", str(w / "run"), "--T", "5", "--noise", "input", "-o", str(w / "onnx")])
    if export["rc"]:
        return export
    return python(f"""
        import glob, json, numpy as np, torch
        from snndeploy.runners.torch_runner import TorchRunner
        from snndeploy.runners.onnxruntime import OnnxRuntimeRunner
        run = TorchRunner({str(w / "run")!r}, T=5, device={DEV!r}).activate()
        rng = np.random.default_rng(0)
        x8 = rng.standard_normal((8, 1, 28, 28)).astype(np.float32)
        x1 = x8[:1].copy()
        out = {{"cuda_graphs": bool(getattr(run, "cuda_graphs", False))}}
        a, b = run.infer(x8), run.infer(x8)
        out["fresh_noise_per_replay"] = bool(np.abs(a - b).max() > 0)
        torch.manual_seed(7); c = run.infer(x8)
        torch.manual_seed(7); d = run.infer(x8)
        out["reseed_reproduces"] = bool(np.array_equal(c, d))
        # shapes revisited: batch 8 -> 1 -> 8 -> 1, each replay against the eager model with the same seed
        diffs = []
        for x in (x8, x1, x8, x1):
            torch.manual_seed(11); got = run.infer(x)
            torch.manual_seed(11)
            with torch.no_grad():
                ref = run.model(torch.from_numpy(x).to(run.device), 5).float().cpu().numpy()
            diffs.append(float(np.abs(got - ref).max()))
        out["revisit_max_diff_vs_eager"] = diffs
        path = glob.glob({str(w / "onnx" / "*.onnx")!r})[0]
        ort = OnnxRuntimeRunner(path).activate()
        noise = ort.draw_noise(8, np.random.default_rng(1))
        out["fed_noise_max_diff_vs_ort"] = float(np.abs(run.infer(x8, noise) - ort.infer(x8, noise)).max())
        print(json.dumps(out))
    """)


def probe_bench(w: Path) -> dict:
    r = run([*SNN, "bench", "run", str(w / "run"), "--device", DEV, "--T", "1,5", "--batch", "1", "--batch", "64",
             "--limit-test", "500", "--json", str(w / "bench.json"), "--work", str(w / "bench-work")], timeout=300)
    if (w / "bench.json").is_file():
        r["result"] = json.loads((w / "bench.json").read_text())
    return r


def probe_bench_train(w: Path) -> dict:
    r = run([*SNN, "bench", "train", "--model", "small-cnn", "--device", DEV, "--T", "5", "--epochs", "2",
             "--target", "0.9", "--no-peer", "--no-uniform", "--conversion-max-T", "64", "--repeats", "1",
             *SMALL, "-o", str(w / "bench-train"), "-q"], timeout=420)
    if (w / "bench-train" / "train_cost.json").is_file():
        r["result"] = json.loads((w / "bench-train" / "train_cost.json").read_text()).get("rows")
    return r


def probe_ddp(w: Path) -> dict:
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone"]
    train = ["-m", "snndeploy.cli.main", "train", "--epochs", "1", "--device", DEV, "-q", *SMALL]
    one = run([*torchrun, "--nproc-per-node", "1", *train, "-o", str(w / "ddp1")], env={"OMP_NUM_THREADS": "4"})
    # NCCL takes one GPU per process: on a one-GPU machine two processes must stop with a one-line error.
    two = run([*torchrun, "--nproc-per-node", "2", *train, "-o", str(w / "ddp2")], env={"OMP_NUM_THREADS": "4"})
    count = python("import json, torch; print(json.dumps({'gpus': torch.cuda.device_count()}))")
    gpus = (count.get("result") or {}).get("gpus", 0)
    if DEV == "cuda" and gpus < 2:  # the processes without a GPU of their own: one `error:` line, not a traceback
        errors = [ln for ln in two["tail"].splitlines() if ln.startswith("error:")]
        two["expected_one_line_error"] = two["rc"] != 0 and len(errors) >= 1 and "Traceback" not in two["tail"]
        ok = one["rc"] == 0 and two["expected_one_line_error"]
    else:
        ok = one["rc"] == 0 and two["rc"] == 0
    return {"rc": 0 if ok else 1, "one_process": one, "two_processes": two, "gpus": gpus}


def probe_missing_backends(w: Path) -> dict:
    """Where TensorRT or onnxruntime-gpu are absent, each command stops with one `error:` line and exit 2."""
    onnx = sorted((w / "onnx").glob("*.onnx"))
    if not onnx:
        return {"rc": 1, "tail": "no exported graph (the runner probe did not run)"}
    cases = {"build": run([*SNN, "build", str(onnx[0]), "-o", str(w / "model.plan")]),
             "eval_ort_cuda": run([*SNN, "eval", str(onnx[0]), "--device", "cuda", "--limit-test", "100"])}
    for c in cases.values():
        lines = [ln for ln in c["tail"].strip().splitlines() if ln.strip()]
        c["one_line_error"] = c["rc"] == 2 and len(lines) == 1 and lines[0].startswith("error:")
    return {"rc": 0 if all(c["one_line_error"] or c["rc"] == 0 for c in cases.values()) else 1, **cases}


PROBES = {"train": probe_train, "resume": probe_resume, "runner": probe_runner, "bench": probe_bench,
          "bench_train": probe_bench_train, "ddp": probe_ddp, "missing_backends": probe_missing_backends}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json")
    parser.add_argument("--work", default=None)
    parser.add_argument("--only", default=None, help="comma list of probes: " + ", ".join(PROBES))
    args = parser.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="snndeploy-gpu-check-"))
    names = args.only.split(",") if args.only else list(PROBES)
    report = {"device": DEV, "python": platform.python_version(), "started": time.strftime("%Y-%m-%dT%H:%M:%S"),
              "probes": {}}
    env = python("""
        import json, torch, onnxruntime as ort
        print(json.dumps({"torch": torch.__version__, "cuda": torch.version.cuda, "gpus": torch.cuda.device_count(),
                          "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
                          "onnxruntime": ort.__version__, "ort_providers": ort.get_available_providers()}))
    """)
    report["environment"] = env.get("result", env)
    for name in names:
        t0 = time.perf_counter()
        try:
            result = PROBES[name](work)
        except Exception as exc:  # noqa: BLE001 - a broken probe is a row, not the end of the check
            result = {"rc": 1, "tail": f"{type(exc).__name__}: {exc}"}
        result["probe_seconds"] = round(time.perf_counter() - t0, 1)
        report["probes"][name] = result
        print(f"{name}: rc={result.get('rc')} ({result['probe_seconds']} s)", flush=True)
        Path(args.out).write_text(json.dumps(report, indent=2, default=str) + "\n")
    failed = [n for n, r in report["probes"].items() if r.get("rc")]
    print("failed: " + (", ".join(failed) if failed else "none"))


if __name__ == "__main__":
    main()
