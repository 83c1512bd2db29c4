"""The device check: the GPU paths no CPU test reaches, each probe in its own process, by a step budget, into one JSON.

    bash scripts/gpu_check.sh                    # on the GPU machine (DEV=cuda), JSON to $OUT/gpu_check.json
    DEV=cpu bash scripts/gpu_check.sh            # the CPU dry run of the same probes (CI: tests/test_gpu_check.py)
    python scripts/gpu_check.py --out F.json [--budget S] [--work DIR] [--only a,b] [--break a,b]

Probes, in order (a probe that needs the fixture is skipped when the fixture did not pass):

1. ``environment``: Python, PyTorch/CUDA, the GPU and its driver, NCCL, ONNX Runtime and its providers, and every
   import snndeploy needs (missing ones fail the probe and are named: carry them as wheels, below).
2. ``fixture``: a small checkpoint (``snndeploy train``, 1 epoch, 1,024 images) and its ``--noise input`` graph at
   T = 5 (``snndeploy export``): what the later probes run. Compilation off (SNNDEPLOY_COMPILE=0): no cold compile
   before the error paths.
3. ``missing_backends``: without TensorRT and onnxruntime-gpu, ``build`` and ``eval --device cuda`` stop with one
   ``error:`` line (exit 2) naming the missing piece, and ``bench --backend tensorrt --backend onnxruntime --device
   cuda`` gives status rows (then one ``error:`` line, exit 2, as nothing was measured); where the backend is
   present the command may succeed instead (exit 0).
4. ``cuda_driver``: ``snndeploy/engine/cuda.py`` against the real driver (if cuda-bindings is installed or carried):
   device facts against PyTorch's, a stream, a host -> device -> host round trip, buffer growth, an oversized
   download refused, a CUDA error as one line. On the CPU: no driver is one CudaUnavailable line.
5. ``runner`` and ``runner_compiled``: ``TorchRunner`` without / with compiled neuron steps, batches 8, 1, 8, 3 (the
   second 8 on other images), each run with fed raw draws and compared with the same model run uncaptured (plain
   calls, no CUDA graph) on the same draws; tensors allocated and filled with NaN between replays; its own noise
   fresh on every replay, ``reseed`` repeatable; deactivate refuses ``infer`` and reactivate recaptures; on CUDA
   the allocated memory stays bounded over three more cycles and after reactivation.
6. ``ort_parity``: fed raw draws through ``TorchRunner`` on DEV (TF32 off for convolutions and matmuls) against
   ONNX Runtime on the CPU running the ``--noise input`` graph, 32 test images; the same with TF32 on (PyTorch's
   cuDNN default) is measured and reported, not judged.
7. ``train_resume``: under deterministic settings, two straight 2-epoch runs and one run of 1 epoch resumed to 2 in
   another process: weights and histories compared bit for bit.
8. ``ddp``: ``torchrun`` with two processes training through ``snndeploy.training.train.train``. On CUDA both use
   GPU 0 and NCCL must really start: NCCL refuses two ranks on one GPU ("Duplicate GPU detected", NVIDIA/nccl
   src/init.cc, and NVIDIA/nccl#418), unless each rank has its own ``NCCL_HOSTID`` (NVIDIA/nccl
   src/misc/utils.cc, getHostHashOnce), which makes NCCL connect them as two hosts over sockets on loopback. The
   probe checks the backend in use (nccl; gloo on the CPU), the world size, NCCL's "Init COMPLETE" in each rank's
   log, and that both ranks end with the same weights (gradients were all-reduced). Then the CLI's own torchrun
   error path: each rank's output is read from torchrun's per-rank log files (``--log-dir``/``--redirects``), so
   torchrun's own ChildFailedError traceback is not counted as ours.
9. ``bench``: ``snndeploy bench`` of the checkpoint at T = 5, batches 1 and 64, PyTorch and ONNX Runtime rows.

Step budget: every probe has a budget in seconds (``BUDGETS``, CUDA / CPU). A probe starts only if its budget fits
in what is left of the total (``--budget``, 510 s: 8.5 minutes minus what gpu_check.sh spent before), with GRACE_S
to spare, and is stopped (its whole process group: SIGTERM, SIGKILL GRACE_S later) at its budget: the script itself
is never killed, records what would not fit as ``skipped`` with the reason, and writes the JSON after every probe
(``--logs DIR``: every probe's output and torchrun's per-rank logs too). Each probe: status (pass / fail / skipped),
reason, seconds, budget, and its measured values; exit code 0 when no probe failed, 1 otherwise.

Cold compiles: the model is small (small-cnn), the shapes few (batches 1, 3, 8 in the runners, 1 and 64 in bench),
compiled kernels are shared across probes through one TORCHINDUCTOR_CACHE_DIR in the work folder (empty at the
start: the compile times are measured cold), and the script sets SNNDEPLOY_COMPILE for every probe (``compiles``):
on for the compiled runner, and on CUDA for train_resume and bench (the paths users get); off elsewhere, and on the
CPU for train_resume and bench, where the C++ compiler would eat the dry run's time. ``bench train`` is not run
(too slow for the budget).

What the GPU machine needs (one H100/H200, PyTorch with CUDA, ONNX Runtime for the CPU, no TensorRT): numpy, torch,
onnx, onnxruntime, safetensors, typer, rich, pyyaml, matplotlib, pillow; cuda-bindings (+ cuda-pathfinder) for the
cuda_driver probe, whose major version must match the driver's CUDA (12.x or 13.x). Whatever the environment probe
reports missing travels as wheels for the machine's Python in ``.whl/`` (64 MiB in all with the tree): gpu_check.sh
installs them with ``pip install --no-index --no-deps --target``. snndeploy itself runs from this checkout
(PYTHONPATH), not installed. tritonclient, TensorRT and onnxruntime-gpu are not needed.

Breaking probes on purpose (``--break NAME,...`` or GPU_CHECK_BREAK): each named probe perturbs what it measures
(``BREAKS`` says how) and must then fail; tests/test_gpu_check.py does so on the CPU.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = Path(__file__).resolve()
DEV = os.environ.get("DEV", "cuda")
CUDA = DEV.startswith("cuda")
SNN = [sys.executable, "-m", "snndeploy.cli.main"]
T = 5
TRAIN_IMAGES, TEST_IMAGES = 1024, 128
TOTAL_S = 510  # 8.5 minutes

# Tolerances. Captured and uncaptured runs execute the same kernels on the same inputs: they agree to float
# rounding of the readout; one flipped spike moves a logit by about |w| / T, far above it.
SAME_KERNELS_ATOL = 1e-5
# PyTorch against ONNX Runtime, both fp32 with the same fed draws: tests/runners/test_runners.py's tolerance. On the
# CPU every row must be within it. On CUDA the convolutions sum in another order than ONNX Runtime's CPU kernels, and
# a membrane potential within rounding of the threshold flips a spike (a row then differs by ~|w| / T): at least
# PARITY_ROWS_CUDA of the rows must be within it. A wrong noise mapping or TF32 moves nearly every row.
PARITY_ATOL, PARITY_ROWS_CUDA = 1e-4, 0.9
MEMORY_SLACK = 1 << 20  # bytes of growth allowed over repeated replays (allocator rounding), 1 MiB
GRACE_S = 10  # a probe past its budget gets SIGTERM, then SIGKILL this much later

# probe -> (budget on CUDA, budget on the CPU) in seconds
BUDGETS: dict[str, tuple[int, int]] = {
    "environment": (45, 30), "fixture": (90, 60), "missing_backends": (45, 45), "cuda_driver": (30, 20),
    "runner": (60, 40), "runner_compiled": (150, 100), "ort_parity": (60, 30), "train_resume": (120, 60),
    "ddp": (120, 60), "bench": (120, 60),
}
NEEDS_FIXTURE = {"missing_backends", "runner", "runner_compiled", "ort_parity", "bench"}
# what --break NAME does to each probe (the probe must then fail)
BREAKS = {
    "environment": "requires a module that does not exist",
    "missing_backends": "runs the commands with `snndeploy --debug` (tracebacks instead of one line)",
    "cuda_driver": "flips a byte of the downloaded copy (CUDA) / treats 'no driver' as a plain CUDA error (CPU)",
    "runner": "adds 1e-3 to the logits of every batch-1 run of the runner under test",
    "runner_compiled": "adds 1e-3 to the logits of every batch-1 run of the runner under test",
    "ort_parity": "adds 1e-3 to ONNX Runtime's logits",
    "train_resume": "the resumed run does not restore the random generators",
    "ddp": "one process instead of two (no process group)",
    "bench": "benchmarks the tensorrt backend instead of pytorch (status rows only)",
}


def compiles(name: str) -> bool:
    """Whether the probe runs with compiled neuron kernels (SNNDEPLOY_COMPILE, set for each probe whatever the
    caller's environment says): the compiled runner always; on CUDA also training and bench, the paths users get."""
    return name == "runner_compiled" or (CUDA and name in ("train_resume", "bench"))


def budget_of(name: str) -> int:
    return BUDGETS[name][0 if CUDA else 1]


def broken(name: str) -> bool:
    return name in set(filter(None, os.environ.get("GPU_CHECK_BREAK", "").split(",")))


# ---------------------------------------------------------------------------------------------------------------
# The parent: runs each probe's worker in its own process group, within its budget, and writes the JSON.

def _env(work: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "DEV": DEV,
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           # compiled kernels are shared by the probes (and the processes of one probe) of this run
           "TORCHINDUCTOR_CACHE_DIR": str(work / "inductor"), "TRITON_CACHE_DIR": str(work / "triton")}
    return {**env, **(extra or {})}


def stop(proc: subprocess.Popen, group: bool) -> None:
    """SIGTERM, then SIGKILL after GRACE_S: torchrun stops its ranks on SIGTERM (they run in sessions of their own,
    torch/distributed/elastic/multiprocessing/subprocess_handler), which SIGKILL would orphan."""
    for sig, grace in ((signal.SIGTERM, GRACE_S), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError):
            if group:
                os.killpg(proc.pid, sig)  # the group this call started: the worker and its children
            else:
                proc.send_signal(sig)
        try:
            proc.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def run_cmd(cmd: list[str], timeout: float, env: dict[str, str], log: Path, group: bool = False) -> tuple[int, str]:
    """Run ``cmd`` with its output in ``log``; stop it at ``timeout`` (rc 124), with its process group where ``group``
    (the probes' workers: everything they started stays in their group). Returns the exit code and the output."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, env=env, cwd=ROOT, start_new_session=group)
        try:
            rc = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop(proc, group)
            rc = 124
    return rc, log.read_text(errors="replace")


def run_probe(name: str, work: Path, left: float, env_extra: dict[str, str]) -> dict[str, Any]:
    """One probe's row: skipped where it does not fit or its fixture is missing, else its worker's verdict."""
    budget = budget_of(name)
    row: dict[str, Any] = {"status": "skipped", "reason": "", "seconds": 0.0, "budget_s": budget, "values": {}}
    if name in NEEDS_FIXTURE and not (work / "fixture" / "ok").is_file():
        row["reason"] = "needs the fixture (checkpoint and graph), which did not pass"
        return row
    if budget + GRACE_S > left:
        row["reason"] = f"its budget of {budget} s (+{GRACE_S} s to stop it) does not fit in the {left:.0f} s left"
        return row
    result_file = work / "results" / f"{name}.json"
    result_file.unlink(missing_ok=True)
    t0 = time.perf_counter()
    env = _env(work, {**env_extra, "SNNDEPLOY_COMPILE": "1" if compiles(name) else "0"})
    rc, out = run_cmd([sys.executable, str(SCRIPT), "--worker", name, "--work", str(work)], budget, env,
                      work / "logs" / f"{name}.log", group=True)
    row["seconds"] = round(time.perf_counter() - t0, 1)
    if rc == 124:
        row.update(status="fail", reason=f"exceeded its budget of {budget} s (killed)", log_tail=out[-3000:])
    elif not result_file.is_file():
        row.update(status="fail", reason=f"the worker exited with code {rc} and no result", log_tail=out[-3000:])
    else:
        row.update(json.loads(result_file.read_text()))
        if row["status"] != "pass":
            row["log_tail"] = out[-3000:]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", default="gpu_check.json")
    parser.add_argument("--work", default=None, help="work folder (default: a new temporary one)")
    parser.add_argument("--budget", type=float, default=TOTAL_S, help="seconds for all probes together")
    parser.add_argument("--only", default=None, help="comma list of probes: " + ", ".join(BUDGETS))
    parser.add_argument("--break", dest="breaks", default=None,
                        help="comma list of probes to break on purpose (they must fail): " + ", ".join(BREAKS))
    parser.add_argument("--logs", default=None, help="copy every probe's output (the last 200 kB of each) here")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    work = Path(args.work or tempfile.mkdtemp(prefix="snndeploy-gpu-check-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if args.worker:
        return worker_main(args.worker, work)

    start = time.perf_counter()
    names = args.only.split(",") if args.only else list(BUDGETS)
    breaks = [b for b in (args.breaks or os.environ.get("GPU_CHECK_BREAK", "")).split(",") if b]
    for n in [*names, *breaks]:
        if n not in BUDGETS:
            print(f"error: unknown probe '{n}'; probes: {', '.join(BUDGETS)}", file=sys.stderr)
            return 2
    env_extra = {"GPU_CHECK_BREAK": ",".join(breaks)}
    report: dict[str, Any] = {"device": DEV, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                              "budget_s": args.budget, "broken_on_purpose": breaks, "work": str(work),
                              "tolerances": {"same_kernels_atol": SAME_KERNELS_ATOL, "parity_atol": PARITY_ATOL,
                                             "parity_rows_cuda": PARITY_ROWS_CUDA, "memory_slack": MEMORY_SLACK},
                              "probes": {}}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    for name in [n for n in BUDGETS if n in names]:  # always in the order of BUDGETS
        left = args.budget - (time.perf_counter() - start)
        row = run_probe(name, work, left, env_extra)
        report["probes"][name] = row
        report["elapsed_s"] = round(time.perf_counter() - start, 1)
        out.write_text(json.dumps(report, indent=2, default=str) + "\n")
        why = f": {row['reason']}" if row["reason"] else ""
        print(f"{name}: {row['status']} ({row['seconds']} s of {row['budget_s']}){why}", flush=True)
    by = {s: [n for n, r in report["probes"].items() if r["status"] == s] for s in ("pass", "fail", "skipped")}
    report["summary"] = by
    report["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    if args.logs:
        copy_logs(work, Path(args.logs))
    print(f"passed {len(by['pass'])}, failed {len(by['fail'])}{': ' + ', '.join(by['fail']) if by['fail'] else ''}, "
          f"skipped {len(by['skipped'])}; {report['elapsed_s']} s; wrote {out}")
    return 1 if by["fail"] else 0


def copy_logs(work: Path, dest: Path, keep: int = 200_000) -> None:
    """The probes' logs and torchrun's per-rank logs, each cut to its last ``keep`` bytes, under ``dest``."""
    for f in sorted([*(work / "logs").glob("*.log"), *(work / "ddp").rglob("*.log")]):
        target = dest / f.relative_to(work)
        target.parent.mkdir(parents=True, exist_ok=True)
        data = f.read_bytes()
        target.write_bytes(data[-keep:])


# ---------------------------------------------------------------------------------------------------------------
# Workers: each runs in its own process and writes results/NAME.json.

@dataclass
class Result:
    """A probe's verdict: named checks (all must hold) and the measured values."""

    values: dict[str, Any] = field(default_factory=dict)
    checks: dict[str, bool] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def check(self, name: str, ok: bool, **measured: Any) -> bool:
        self.checks[name] = bool(ok)
        if measured:
            self.values[name] = measured
        return bool(ok)

    def skip(self, reason: str) -> None:
        self.notes.append(f"skipped: {reason}")

    def verdict(self) -> dict[str, Any]:
        failed = [k for k, ok in self.checks.items() if not ok]
        skipped = [n for n in self.notes if n.startswith("skipped: ")]
        if not self.checks and skipped:
            return {"status": "skipped", "reason": skipped[0][len("skipped: "):], "values": self.values}
        return {"status": "fail" if failed else "pass", "reason": ("failed: " + ", ".join(failed)) if failed else "",
                "values": {**self.values, "checks": self.checks, **({"notes": self.notes} if self.notes else {})}}


def worker_main(name: str, work: Path) -> int:
    fn = WORKERS[name]
    res = Result()
    try:
        fn(work, res)
        verdict = res.verdict()
    except Exception as exc:  # noqa: BLE001 - a probe that crashes is a failed row with its traceback
        verdict = {"status": "fail", "reason": f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
                   "values": {**res.values, "checks": res.checks}, "traceback": traceback.format_exc()[-3000:]}
    if name in BUDGETS:
        path = work / "results" / f"{name}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(verdict, indent=2, default=str))
        if name == "fixture" and verdict["status"] == "pass":
            (work / "fixture" / "ok").write_text("ok\n")
    else:  # a helper process of a probe (train parts, torchrun ranks): its own file
        (work / f"{name}.{os.environ.get('RANK', '0')}.json").write_text(json.dumps(verdict, default=str))
    return 0


def cli(args: list[str], work: Path, what: str, timeout: float = 300, env: dict[str, str] | None = None
        ) -> tuple[int, str]:
    return run_cmd([*SNN, *args], timeout, _env(work, env), work / "logs" / f"{what}.log")


def lines_of(text: str) -> list[str]:
    return [ln for ln in text.strip().splitlines() if ln.strip()]


def fixture_paths(work: Path) -> tuple[Path, Path]:
    """The fixture's run folder and its --noise input graph."""
    run = work / "fixture" / "run"
    graphs = sorted((work / "fixture" / "onnx").glob("*.onnx"))
    if not graphs:
        raise RuntimeError("the fixture has no exported graph")
    return run, graphs[0]


def test_images(n: int, offset: int = 0) -> Any:
    """``n`` normalised test images of the bundled sample (the fixture's data), as float32 numpy."""
    from snndeploy.data.datasets import load_dataset, normalize_array
    data = load_dataset("sample", limit_test=offset + n)
    return normalize_array(data.test.images[offset:offset + n], data.spec)


# -- 1. environment ----------------------------------------------------------------------------------------------
REQUIRED = ["numpy", "torch", "onnx", "onnxruntime", "safetensors", "typer", "rich", "yaml", "matplotlib", "PIL",
            "snndeploy"]
OPTIONAL = ["cuda.bindings", "tensorrt", "triton", "polygraphy"]


def w_environment(work: Path, r: Result) -> None:
    import importlib
    required = [*REQUIRED, *(["snndeploy_gpu_check_no_such_module"] if broken("environment") else [])]
    versions: dict[str, str | None] = {}
    missing = []
    for mod in [*required, *OPTIONAL]:
        try:
            m = importlib.import_module(mod)
            versions[mod] = str(getattr(m, "__version__", "?"))
        except Exception as exc:  # noqa: BLE001 - an import that fails for any reason is missing here
            versions[mod] = None
            if mod in required:
                missing.append(f"{mod} ({type(exc).__name__})")
    r.values["python"] = platform.python_version()
    r.values["platform"] = platform.platform()
    r.values["cpus"] = os.cpu_count()
    r.values["versions"] = versions
    r.values["c_compiler"] = shutil.which("cc") or shutil.which("gcc")  # inductor (CPU) and Triton's launcher need one
    r.values["snndeploy_from"] = str(Path(importlib.import_module("snndeploy").__file__ or "").parent)
    r.check("imports", not missing, missing=missing)
    r.check("snndeploy_from_this_tree", r.values["snndeploy_from"] == str(ROOT / "snndeploy"))
    if versions["torch"] is None:
        return
    import torch
    info: dict[str, Any] = {"cuda_build": torch.version.cuda, "cuda_available": torch.cuda.is_available(),
                            "gpus": torch.cuda.device_count() if torch.cuda.is_available() else 0}
    if torch.cuda.is_available():
        p = torch.cuda.get_device_properties(0)
        nccl = torch.cuda.nccl.version()  # an int in old PyTorch, (major, minor, patch) since
        info.update(gpu=p.name, capability=f"{p.major}.{p.minor}", memory_gib=round(p.total_memory / 2**30, 1),
                    nccl=".".join(map(str, nccl)) if isinstance(nccl, tuple) else str(nccl),
                    cudnn=torch.backends.cudnn.version(), tf32=tf32_state())
    if shutil.which("nvidia-smi"):
        smi = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total,mig.mode.current",
                              "--format=csv,noheader"], capture_output=True, text=True, timeout=30)
        info["nvidia_smi"] = smi.stdout.strip() or smi.stderr.strip()
    r.values["torch"] = info
    if versions["onnxruntime"] is not None:
        import onnxruntime as ort
        r.values["ort_providers"] = ort.get_available_providers()
    if CUDA:
        r.check("cuda_visible", info["cuda_available"], gpus=info["gpus"])


# -- 2. fixture --------------------------------------------------------------------------------------------------
def w_fixture(work: Path, r: Result) -> None:
    fx = work / "fixture"
    shutil.rmtree(fx, ignore_errors=True)
    fx.mkdir(parents=True)
    env = {"SNNDEPLOY_COMPILE": "0"}
    rc, out = cli(["train", "--epochs", "1", "--device", DEV, "--lr", "1e-3", "--limit-train", str(TRAIN_IMAGES),
                   "--limit-test", str(TEST_IMAGES), "-o", str(fx / "run"), "-q"], work, "fixture-train", env=env)
    if not r.check("train", rc == 0, rc=rc, tail=out[-1500:] if rc else ""):
        return
    history = json.loads((fx / "run" / "model.json").read_text())["history"]
    r.values["history"] = history
    rc, out = cli(["export", str(fx / "run"), "--T", str(T), "--noise", "input", "-o", str(fx / "onnx")], work,
                  "fixture-export", env=env)
    graphs = sorted((fx / "onnx").glob("*.onnx"))
    r.check("export", rc == 0 and len(graphs) == 1, rc=rc, graphs=[g.name for g in graphs],
            tail=out[-1500:] if rc else "")


# -- 3. missing backends -----------------------------------------------------------------------------------------
def w_missing_backends(work: Path, r: Result) -> None:
    run, graph = fixture_paths(work)
    debug = ["--debug"] if broken("missing_backends") else []

    def one_line(name: str, args: list[str], names: tuple[str, ...]) -> None:
        rc, out = cli([*debug, *args], work, f"missing-{name}", timeout=120)
        lines = lines_of(out)
        error = rc == 2 and len(lines) == 1 and lines[0].startswith("error:") \
            and any(n.lower() in lines[0].lower() for n in names)
        r.check(name, error or rc == 0, rc=rc, outcome="one error line" if error else "ran" if rc == 0 else "other",
                output=out[-800:])

    one_line("build", ["build", str(graph), "-o", str(work / "missing.plan")], ("tensorrt",))
    one_line("eval_ort_cuda", ["eval", str(graph), "--device", "cuda", "--limit-test", "16"],
             ("CUDAExecutionProvider", "onnxruntime", "ONNX Runtime"))
    report = work / "missing-bench.json"
    rc, out = cli([*debug, "bench", "run", str(graph), "--backend", "tensorrt", "--backend", "onnxruntime", "--device",
                   "cuda", "--batch", "1", "--iters", "1", "--limit-test", "16", "--json", str(report), "--work",
                   str(work / "missing-bench")], work, "missing-bench", timeout=120)
    rows = json.loads(report.read_text())["results"] if rc in (0, 2) and report.is_file() else []
    statuses = {f"{row['backend']}": row["status"] for row in rows}
    measured = any(row["status"] == "ok" for row in rows)  # nothing measured: the rows, then exit 2 in one line
    r.check("bench_status_rows", len(rows) >= 2 and rc == (0 if measured else 2) and "Traceback" not in out, rc=rc,
            statuses=statuses, output=out[-800:] if rc else "")


# -- 4. engine/cuda.py against the driver -------------------------------------------------------------------------
def w_cuda_driver(work: Path, r: Result) -> None:
    import importlib.util
    if importlib.util.find_spec("cuda") is None or importlib.util.find_spec("cuda.bindings") is None:
        r.skip("cuda-bindings is not installed (carry its wheel, matching the driver's CUDA major, in .whl/)")
        return
    import numpy as np

    from snndeploy.core.errors import SnnDeployError
    from snndeploy.engine import cuda
    if not CUDA:  # no driver here: one CudaUnavailable line, not a crash
        if broken("cuda_driver"):
            cuda._UNAVAILABLE.clear()
        try:
            cuda.device_info(0)
            r.check("no_driver_is_one_line", False, got="device_info returned on a machine without a GPU")
        except SnnDeployError as exc:
            r.check("no_driver_is_one_line", isinstance(exc, cuda.CudaUnavailable) and "\n" not in str(exc),
                    error=type(exc).__name__, message=str(exc))
        return
    import torch
    name, cc = cuda.device_info(0)
    p = torch.cuda.get_device_properties(0)
    r.check("device_info", name == p.name and cc == f"{p.major}.{p.minor}", cuda=[name, cc],
            torch=[p.name, f"{p.major}.{p.minor}"])
    stream, buf = cuda.Stream(), cuda.DeviceBuffer()
    try:
        host = np.random.default_rng(0).standard_normal((64, 1, 28, 28)).astype(np.float32)
        buf.upload(host, stream)
        back = buf.download(host.shape, host.dtype, stream)
        stream.synchronize()
        if broken("cuda_driver"):
            back.view(np.uint8)[0] ^= 1
        r.check("round_trip", np.array_equal(host, back), stream=stream.handle, nbytes=buf.nbytes)
        first = buf.nbytes
        buf.reserve(first * 4)
        r.check("grows", buf.nbytes == first * 4 and buf.ptr != 0, nbytes=buf.nbytes)
        try:
            buf.download((first,), np.float32, stream)  # 4 * first bytes: fits exactly
            buf.download((first * 2,), np.float32, stream)
            r.check("oversized_download_refused", False)
        except SnnDeployError as exc:
            r.check("oversized_download_refused", "does not fit" in str(exc), message=str(exc))
        try:
            cuda.call(cuda.cudart.cudaSetDevice(9999), "cudaSetDevice")
            r.check("error_is_one_line", False)
        except SnnDeployError as exc:
            r.check("error_is_one_line", str(exc).startswith("CUDA error in cudaSetDevice") and "\n" not in str(exc),
                    message=str(exc))
    finally:
        stream.synchronize()
        buf.free()
        stream.close()
    r.check("freed", buf.ptr == 0 and buf.nbytes == 0)


# -- 5. TorchRunner ----------------------------------------------------------------------------------------------
def fed_draws(runner: Any, batch: int, rng: Any) -> dict[str, Any]:
    """Raw draws for every noise input of ``runner``'s network (what its --noise input graph takes)."""
    from snndeploy.runners.base import raw_draws
    kind = runner.facts.neuron.noise
    return {k: raw_draws(kind, rng, (batch, *s)) for k, s in runner.fed_shapes().items()}


def uncaptured(runner: Any, x: Any, noise: dict[str, Any]) -> Any:
    """The runner's own model called directly (no CUDA graph) on the same fed draws: the reference."""
    import torch

    from snndeploy.export.graph import fed_noise
    with torch.no_grad(), fed_noise(runner.model, noise):
        return runner.model(torch.from_numpy(x).to(runner.device), runner.T).float().cpu().numpy()


def break_output(cls: Any, name: str, when: Callable[[Any], bool]) -> None:
    """Break ``cls._infer_impl`` on purpose: add 1e-3 to the logits of the runs where ``when(feeds)``."""
    original = cls._infer_impl

    def perturbed(self: Any, feeds: dict[str, Any]) -> Any:
        out = original(self, feeds)
        return out + 1e-3 if when(feeds) else out

    cls._infer_impl = perturbed


def w_runner(work: Path, r: Result, compiled: bool = False) -> None:
    import numpy as np
    import torch

    from snndeploy.core.errors import SnnDeployError
    from snndeploy.neuron import fused
    from snndeploy.runners.torch_runner import TorchRunner
    run, _ = fixture_paths(work)
    if broken("runner_compiled" if compiled else "runner"):
        break_output(TorchRunner, "runner", lambda feeds: len(feeds["images"]) == 1)
    runner = TorchRunner(run, T=T, device=DEV, compiled=compiled).activate()
    images = test_images(20)
    batches = [images[:8], images[8:9], images[12:20], images[9:12]]  # 8, 1, 8 (other images), 3
    rng = np.random.default_rng(0)
    junk: list[Any] = []

    def allocate_between() -> None:
        # freed blocks are handed to the next allocations: a graph whose tensors were freed would read these NaNs
        junk.clear()
        for size in (1 << 22, 1 << 20, 1 << 18, 1 << 16, 1 << 12, 1 << 8):  # floats: large and small pools
            junk.extend(torch.full((size,), float("nan"), device=runner.device) for _ in range(4))
        junk.clear()

    def cycle(tag: str) -> list[float]:
        diffs = []
        for x in batches:
            noise = fed_draws(runner, len(x), rng)
            got = runner.infer(x, noise)
            allocate_between()
            ref = uncaptured(runner, x, noise)
            allocate_between()
            diffs.append(float(np.abs(got - ref).max()))
        return diffs

    def mem() -> int:
        if not CUDA:
            return 0
        torch.cuda.synchronize()
        return int(torch.cuda.memory_allocated())

    diffs = cycle("first")
    r.check("fed_matches_uncaptured", max(diffs) <= SAME_KERNELS_ATOL, batches=[len(x) for x in batches],
            max_abs_diff=diffs)
    # its own noise: fresh on every replay, repeatable after reseed
    x = batches[0]
    a, b = runner.infer(x), runner.infer(x)
    r.check("own_noise_fresh_per_run", float(np.abs(a - b).max()) > 0, max_abs_diff=float(np.abs(a - b).max()))
    runner.reseed(123)
    c = runner.infer(x)
    runner.reseed(123)
    d = runner.infer(x)
    runner.reseed(124)
    e = runner.infer(x)
    r.check("reseed_repeats", np.array_equal(c, d), max_abs_diff=float(np.abs(c - d).max()))
    r.check("other_seed_differs", not np.array_equal(c, e), max_abs_diff=float(np.abs(c - e).max()))
    r.values["cuda_graphs"] = {"enabled": runner.cuda_graphs, "captured": len(runner._graphs)}
    m1 = mem()
    more = [cycle(f"repeat{i}") for i in range(3)]
    m2 = mem()
    r.check("repeats_match_uncaptured", max(max(d) for d in more) <= SAME_KERNELS_ATOL,
            max_abs_diff=[max(d) for d in more])
    runner.deactivate()
    m_off = mem()
    try:
        runner.infer(x)
        r.check("inactive_refused", False)
    except SnnDeployError as exc:
        r.check("inactive_refused", "not active" in str(exc), message=str(exc))
    runner.activate()
    again = cycle("reactivated")
    m3 = mem()
    r.check("reactivated_matches_uncaptured", max(again) <= SAME_KERNELS_ATOL, max_abs_diff=again,
            captured=len(runner._graphs))
    if CUDA:
        r.check("memory_bounded", m2 - m1 <= MEMORY_SLACK and m3 - m1 <= MEMORY_SLACK,
                after_first_cycle=m1, after_three_more=m2, deactivated=m_off, reactivated=m3,
                peak=int(torch.cuda.max_memory_allocated()))
    else:
        r.values["memory_bounded"] = "not measured on the CPU (no CUDA allocator)"
    in_effect = compiled and fused.compile_available(runner.device.type)
    r.values["compiled"] = {"asked": compiled, "in_effect": in_effect,
                            "SNNDEPLOY_COMPILE": os.environ.get("SNNDEPLOY_COMPILE", "1")}
    if compiled:  # a fallback to the plain ops (one warning) would leave the compiled path unchecked
        r.check("compile_in_effect", in_effect)


def w_runner_compiled(work: Path, r: Result) -> None:
    w_runner(work, r, compiled=True)


# -- 6. fed noise against ONNX Runtime on the CPU ----------------------------------------------------------------
def _tf32_flags() -> list[tuple[Any, str]]:
    """(object, attribute) of the TF32 switches of cuDNN convolutions and cuBLAS matmuls: the legacy allow_tf32
    booleans, the API snndeploy's TorchRunner sets (snndeploy/runners/torch_runner.py, TF32_FLAGS). PyTorch docs,
    notes/cuda.rst "TensorFloat-32 (TF32) on Ampere (and later) devices": convolutions allow TF32 by default,
    matmuls do not; reading a legacy flag after the newer fp32_precision API set another value raises ("a mix of
    the legacy and new APIs"), so this script uses the runner's API only."""
    import torch
    return [(torch.backends.cudnn, "allow_tf32"), (torch.backends.cuda.matmul, "allow_tf32")]


def tf32_state() -> dict[str, Any]:
    return {f"{type(obj).__name__}.{attr}": getattr(obj, attr) for obj, attr in _tf32_flags()}


@contextlib.contextmanager
def tf32(on: bool) -> Iterator[None]:
    """TF32 for cuDNN convolutions and cuBLAS matmuls on or off inside the block."""
    flags = _tf32_flags()
    saved = [getattr(obj, attr) for obj, attr in flags]
    for obj, attr in flags:
        setattr(obj, attr, on)
    try:
        yield
    finally:
        for (obj, attr), value in zip(flags, saved, strict=True):
            setattr(obj, attr, value)


def w_ort_parity(work: Path, r: Result) -> None:
    import numpy as np

    from snndeploy.runners.onnxruntime import OnnxRuntimeRunner
    from snndeploy.runners.torch_runner import TorchRunner
    run, graph = fixture_paths(work)
    if broken("ort_parity"):
        break_output(OnnxRuntimeRunner, "ort", lambda feeds: True)
    r.values["tf32_defaults"] = tf32_state()
    ort = OnnxRuntimeRunner(graph, device="cpu").activate()
    x = test_images(32)
    noise = ort.draw_noise(len(x), np.random.default_rng(1))
    ref = ort.infer(x, noise)

    def compare(on: bool) -> dict[str, Any]:
        with tf32(on):  # graphs capture the convolution algorithms: a runner per setting
            torch_runner = TorchRunner(run, T=T, device=DEV, compiled=False).activate()
            got = torch_runner.infer(x, noise)
            torch_runner.deactivate()
        diff = np.abs(got - ref)
        return {"max_abs_diff": float(diff.max()), "rows_within": float((diff.max(1) <= PARITY_ATOL).mean()),
                "argmax_agree": float((got.argmax(1) == ref.argmax(1)).mean())}

    off = compare(False)
    need = PARITY_ROWS_CUDA if CUDA else 1.0
    r.check("tf32_off_matches_ort_cpu", off["rows_within"] >= need, **off, rows_needed=need, images=len(x))
    if CUDA:  # what cuDNN's default would give: measured, not judged (the runner may force fp32 itself)
        try:
            r.values["tf32_on_not_judged"] = compare(True)
        except Exception as exc:  # noqa: BLE001 - a measurement, not a check
            r.values["tf32_on_not_judged"] = f"{type(exc).__name__}: {exc}"


# -- 7. training: straight, straight, resumed ---------------------------------------------------------------------
def deterministic() -> None:
    """PyTorch's reproducibility settings (docs notes/randomness.rst): deterministic algorithms (warn where an op has
    none, so the comparison says what differs), cuDNN without benchmarking; CUBLAS_WORKSPACE_CONFIG is in the
    environment before CUDA starts."""
    import torch
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = True


def train_cfg(out: Path, epochs: int) -> Any:
    from snndeploy.core.config import TrainConfig
    return TrainConfig(epochs=epochs, lr=1e-3, device=DEV, limit_train=TRAIN_IMAGES // 2, limit_test=TEST_IMAGES // 2,
                       out=str(out), seed=0)


def _train_part(work: Path, r: Result, part: int) -> None:
    import warnings
    deterministic()
    from snndeploy.training import train as tr
    base = work / "train"
    caught: list[str] = []
    with warnings.catch_warnings(record=True) as ws:
        warnings.simplefilter("always")
        if part == 1:
            tr.train(train_cfg(base / "straight_a", 2), show_progress=False)
            tr.train(train_cfg(base / "resumed", 1), show_progress=False)
        else:
            tr.train(train_cfg(base / "straight_b", 2), show_progress=False)
            if broken("train_resume"):
                tr.restore_rng = lambda state, device: None
            tr.train(train_cfg(base / "resumed", 2), resume=True, show_progress=False)
        caught = sorted({str(w.message).splitlines()[0][:200] for w in ws if "determinis" in str(w.message).lower()})
    r.values["nondeterministic_warnings"] = caught
    r.check("ran", True)


def w_train_part1(work: Path, r: Result) -> None:
    _train_part(work, r, 1)


def w_train_part2(work: Path, r: Result) -> None:
    _train_part(work, r, 2)


def weights(run: Path) -> dict[str, Any]:
    from safetensors.numpy import load_file
    meta = json.loads((run / "model.json").read_text())
    return load_file(str(run / meta["weights"]["file"]))


def w_train_resume(work: Path, r: Result) -> None:
    import numpy as np
    shutil.rmtree(work / "train", ignore_errors=True)
    env = {"CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
    for part in (1, 2):  # the resume runs in another process than the epoch it continues
        rc, out = run_cmd([sys.executable, str(SCRIPT), "--worker", f"train_part{part}", "--work", str(work)],
                          budget_of("train_resume"), _env(work, env), work / "logs" / f"train_part{part}.log")
        part_file = work / f"train_part{part}.0.json"
        verdict = json.loads(part_file.read_text()) if part_file.is_file() else {"status": "fail"}
        if not r.check(f"part{part}_ran", rc == 0 and verdict["status"] == "pass", rc=rc,
                       warnings=verdict.get("values", {}).get("nondeterministic_warnings"),
                       tail="" if verdict["status"] == "pass" else out[-1500:]):
            return
    a, b, c = (weights(work / "train" / n) for n in ("straight_a", "straight_b", "resumed"))

    def max_diff(p: dict[str, Any], q: dict[str, Any]) -> float:
        return max(float(np.abs(p[k].astype(np.float64) - q[k].astype(np.float64)).max()) for k in p)

    def history(n: str) -> list[list[float]]:
        rows = json.loads((work / "train" / n / "model.json").read_text())["history"]
        return [[row["train_loss"], row["train_acc"], row["val_acc"]] for row in rows]

    r.check("straight_runs_identical", sorted(a) == sorted(b) and max_diff(a, b) == 0.0
            and history("straight_a") == history("straight_b"), max_abs_weight_diff=max_diff(a, b))
    r.check("resumed_identical_to_straight", sorted(a) == sorted(c) and max_diff(a, c) == 0.0
            and history("straight_a") == history("resumed"), max_abs_weight_diff=max_diff(a, c),
            straight=history("straight_a"), resumed=history("resumed"))
    r.values["compile"] = os.environ.get("SNNDEPLOY_COMPILE")


# -- 8. torchrun -------------------------------------------------------------------------------------------------
def w_ddp_rank(work: Path, r: Result) -> None:
    rank = int(os.environ.get("RANK", "0"))
    if CUDA:  # both ranks on GPU 0, NCCL told they are two hosts (module docstring)
        os.environ["LOCAL_RANK"] = "0"
        os.environ["NCCL_HOSTID"] = f"snndeploy-gpu-check-rank{rank}"
    import torch
    import torch.distributed as tdist

    from snndeploy.training import distributed
    from snndeploy.training.train import train
    seen: dict[str, Any] = {}
    original = distributed.teardown

    def recording_teardown(info: Any) -> None:
        if tdist.is_initialized():
            seen.update(backend=str(tdist.get_backend()), world=tdist.get_world_size(), rank=tdist.get_rank())
        original(info)

    distributed.teardown = recording_teardown
    result = train(train_cfg(work / "ddp" / "run", 1), show_progress=False)
    digest = hashlib.sha256()
    for k, v in sorted(result.model.state_dict().items()):
        digest.update(k.encode() + v.detach().float().cpu().numpy().tobytes())
    r.values.update(process_group=seen or None, weights_sha256=digest.hexdigest(),
                    device=str(result.model.head.weight.device),
                    history=result.history if result.main else None, torch=torch.__version__)
    r.check("ran", True)


def rank_logs(log_dir: Path) -> dict[str, str]:
    """Each rank's own output from torchrun's log folder (``--log-dir``, ``--redirects 3``): LOG/<run>/attempt_N/
    <local rank>/{stdout,stderr}.log."""
    out: dict[str, str] = {}
    for f in sorted(log_dir.rglob("*.log")):
        out[f.parent.name] = out.get(f.parent.name, "") + f.read_text(errors="replace")
    return out


def torchrun(work: Path, tag: str, nproc: int, target: list[str],
             env: dict[str, str]) -> tuple[int, str, dict[str, str]]:
    log_dir = work / "ddp" / f"logs-{tag}"
    shutil.rmtree(log_dir, ignore_errors=True)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", str(nproc),
           "--log-dir", str(log_dir), "--redirects", "3", *target]
    rc, out = run_cmd(cmd, (budget_of("ddp") - 2 * GRACE_S) / 2 - 5, _env(work, env), work / "logs" / f"ddp-{tag}.log")
    return rc, out, rank_logs(log_dir)


def w_ddp(work: Path, r: Result) -> None:
    shutil.rmtree(work / "ddp", ignore_errors=True)
    nproc = 1 if broken("ddp") else 2
    # sockets on loopback between the two "hosts"; no InfiniBand, NVLink SHARP or multi-node NVLink to probe for
    env = {"OMP_NUM_THREADS": "1", "SNNDEPLOY_COMPILE": "0", "NCCL_SOCKET_IFNAME": "lo", "NCCL_IB_DISABLE": "1",
           "NCCL_NVLS_ENABLE": "0", "NCCL_MNNVL_ENABLE": "0", "NCCL_DEBUG": "INFO", "NCCL_DEBUG_SUBSYS": "INIT,ENV"}
    rc, out, logs = torchrun(work, "train", nproc, [str(SCRIPT), "--worker", "ddp_rank", "--work", str(work)], env)
    ranks = []
    for k in range(2):
        f = work / f"ddp_rank.{k}.json"
        ranks.append(json.loads(f.read_text())["values"] if f.is_file() else {})
    groups = [v.get("process_group") or {} for v in ranks]
    want = "nccl" if CUDA else "gloo"
    r.check("torchrun_ok", rc == 0, rc=rc, tail="" if rc == 0 else out[-1500:],
            rank_tails={k: v[-800:] for k, v in logs.items()} if rc else {})
    r.check("backend", all(g.get("backend") == want and g.get("world") == 2 for g in groups),
            expected=want, process_groups=groups, devices=[v.get("device") for v in ranks])
    shas = [v.get("weights_sha256") for v in ranks]
    r.check("ranks_hold_same_weights", None not in shas and len(set(shas)) == 1, sha256=shas)
    if CUDA:
        inits = {k: [ln.strip()[-160:] for ln in v.splitlines() if "Init COMPLETE" in ln or "NCCL version" in ln][:3]
                 for k, v in logs.items()}
        r.check("nccl_init_complete", len(inits) == 2 and all(any("Init COMPLETE" in ln for ln in v)
                                                              for v in inits.values()), lines=inits)
    # The CLI's error under torchrun: one `error:` line from a rank, no traceback of ours (torchrun's own
    # ChildFailedError traceback is in the launcher's output, not in the ranks' logs, and is not counted).
    import torch
    gpus = torch.cuda.device_count() if CUDA and torch.cuda.is_available() else 0
    bad = [] if CUDA and gpus < 2 else ["--batch-size", "63"]  # one GPU: rank 1 has none; else an odd global batch
    rc2, out2, logs2 = torchrun(work, "cli-error", 2, ["-m", "snndeploy.cli.main", "train", "--epochs", "1",
                                                       "--device", DEV, "-q", "--limit-train", "256", "-o",
                                                       str(work / "ddp" / "cli-run"), *bad],
                                {"OMP_NUM_THREADS": "1", "SNNDEPLOY_COMPILE": "0"})
    errors = {k: [ln for ln in lines_of(v) if ln.startswith("error:")] for k, v in logs2.items()}
    r.check("cli_error_is_one_line_per_rank", rc2 != 0 and any(errors.values())
            and not any("Traceback" in v for v in logs2.values()), rc=rc2, cause=" ".join(bad) or "one GPU, two ranks",
            errors=errors, launcher_traceback="Traceback" in out2)


# -- 9. bench ----------------------------------------------------------------------------------------------------
def w_bench(work: Path, r: Result) -> None:
    run, _ = fixture_paths(work)
    backend = "tensorrt" if broken("bench") else "pytorch"
    report = work / "bench.json"
    rc, out = cli(["bench", "run", str(run), "--device", DEV, "--T", str(T), "--batch", "1", "--batch", "64",
                   "--backend", backend, "--backend", "onnxruntime", "--limit-test", "64", "--iters", "10",
                   "--json", str(report), "--work", str(work / "bench-work")], work, "bench",
                  timeout=budget_of("bench") - 5)
    if not r.check("ran", rc == 0 and report.is_file(), rc=rc, tail=out[-1500:] if rc else ""):
        return
    data = json.loads(report.read_text())
    rows = data["results"]
    keep = ("backend", "precision", "T", "batch", "status", "accuracy", "p50_ms", "p99_ms", "images_per_s", "noise")
    r.values["rows"] = [{k: row.get(k) for k in keep} for row in rows]
    r.values["environment"] = {k: data["environment"].get(k) for k in ("gpu", "device", "torch", "onnxruntime")
                               if k in data["environment"]}
    measured = {row["batch"] for row in rows if row["backend"].startswith("pytorch") and row["status"] == "ok"
                and row.get("p50_ms") and row.get("accuracy") is not None}
    r.check("pytorch_rows_measured", measured == {1, 64}, batches=sorted(measured))
    ort_rows = [row for row in rows if row["backend"].startswith("onnxruntime")]
    # on the CPU measured rows; on CUDA status rows naming the missing provider (ONNX Runtime for the CPU only), or
    # measured rows where onnxruntime-gpu is installed
    r.check("onnxruntime_rows", len(ort_rows) >= 2 and all(
        row["status"] == "ok" or (CUDA and "CUDAExecutionProvider" in row["status"]) for row in ort_rows),
        statuses=[row["status"] for row in ort_rows])
    r.values["compile"] = os.environ.get("SNNDEPLOY_COMPILE")


WORKERS: dict[str, Callable[[Path, Result], None]] = {
    "environment": w_environment, "fixture": w_fixture, "missing_backends": w_missing_backends,
    "cuda_driver": w_cuda_driver, "runner": w_runner, "runner_compiled": w_runner_compiled,
    "ort_parity": w_ort_parity, "train_resume": w_train_resume, "ddp": w_ddp, "bench": w_bench,
    # helper processes of probes
    "train_part1": w_train_part1, "train_part2": w_train_part2, "ddp_rank": w_ddp_rank,
}

if __name__ == "__main__":
    sys.exit(main())
