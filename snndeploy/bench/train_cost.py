"""The paper's cost claims in one run: noisy T = 1 against direct BPTT at T = N and the ReLU ANN.

Each method trains in its own fresh process (time per epoch, peak memory, wall time to a target
accuracy), then the trained models give the paper's figures: stage-3 accuracy against T and alpha
(Figs. 3 and 6), Gaussian against uniform noise (Fig. 7) and ANN-to-SNN conversion against T (Table 2).
"""

from __future__ import annotations

import dataclasses
import math
import platform
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from .. import checkpoint, conversion
from ..accuracy import accuracy, accuracy_by_T
from ..core.atomic import check_writable
from ..core.config import METHODS
from ..core.device import check_device_name, pick_device
from ..core.errors import SnnDeployError
from ..data import DATASETS, Dataset, load_dataset
from ..models import MODELS, SpikingNet, build_model
from .peers import spikingjelly_available, spikingjelly_net
from .train_worker import PEER, Job, run_isolated

SWEEP_T = 10  # paper Figs. 3, 6 and 7: T = 1..10
ALPHAS = (2.0, 3.0, 4.0, 8.0, math.inf)  # paper Fig. 6
REFERENCE_T = 5  # conversion is compared with our stage-3 accuracy at this T (paper Table 2)
# (batch, steps per chunk) of the converted network's long runs: small tensors stay in the CPU's
# caches (the IF update is memory-bound there); a GPU wants big ones
CONVERSION_BATCH = {"cpu": (8, 16), "cuda": (128, 32)}

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainCostConfig:
    """What `snndeploy bench train` measures."""
    model: str = "paper-cnn"
    dataset: str = "sample"
    data_dir: str | None = None
    T: int = 10
    epochs: int = 10
    target: float = 0.92
    stop_at_target: bool = False  # halt each method at the target, as the paper's Fig. 5 does
    batch_size: int = 64
    lr: float = 1e-4
    limit_train: int | None = None
    limit_test: int | None = None
    seed: int = 0
    device: str = "cpu"
    augment: bool = False
    methods: tuple[str, ...] = ("noise", "bptt", "ann")
    uniform: bool = True  # also train with uniform noise (Fig. 7)
    peer: bool = True  # SpikingJelly multi-step LIF BPTT at T, when installed
    peer_batches: int = 20
    calib_images: int = 512
    conversion_max_T: int = 512
    repeats: int = 3  # noise draws averaged in the stage-3 sweeps
    out: str = "runs/bench-train"

    def __post_init__(self) -> None:
        unknown = [m for m in self.methods if m not in METHODS]
        if unknown:
            raise SnnDeployError(f"unknown method '{unknown[0]}'; choose from: {', '.join(METHODS)}")
        if not self.methods or len(set(self.methods)) != len(self.methods):
            raise SnnDeployError(f"methods must be a non-empty list without repeats, got {','.join(self.methods)}")
        if self.T < 1:
            raise SnnDeployError(f"T must be >= 1 (the steps of bptt training and of stage-3 evaluation), got {self.T}")
        if not 0 < self.target <= 1:
            raise SnnDeployError(f"target accuracy must be in (0, 1], got {self.target}")
        if self.model not in MODELS:
            raise SnnDeployError(f"unknown model '{self.model}'; choose one of: {', '.join(MODELS)}")
        if self.dataset not in DATASETS:
            raise SnnDeployError(f"unknown dataset '{self.dataset}'; choose one of: {', '.join(DATASETS)}")
        for name in ("epochs", "batch_size", "peer_batches", "calib_images", "conversion_max_T", "repeats"):
            if getattr(self, name) < 1:
                raise SnnDeployError(f"{name.replace('_', '-')} must be >= 1, got {getattr(self, name)}")
        if not (self.lr > 0 and math.isfinite(self.lr)):
            raise SnnDeployError(f"lr must be a positive number, got {self.lr}")
        check_device_name(self.device)


def _job(cfg: TrainCostConfig, label: str, method: str, **changes: Any) -> Job:
    T = cfg.T if method in ("bptt", PEER) else 1
    eval_T = 1 if method == "ann" else cfg.T
    folder = str(Path(cfg.out) / "checkpoints" / re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-"))
    job = Job(label=label, method=method, model=cfg.model, dataset=cfg.dataset, T=T, eval_T=eval_T, epochs=cfg.epochs,
              batch_size=cfg.batch_size, lr=cfg.lr, seed=cfg.seed, device=cfg.device, data_dir=cfg.data_dir,
              limit_train=cfg.limit_train, limit_test=cfg.limit_test, augment=cfg.augment, max_batches=cfg.peer_batches,
              checkpoint=None if method == PEER else folder, stop_at=cfg.target if cfg.stop_at_target else None)
    return dataclasses.replace(job, **changes)


def _peer_job(cfg: TrainCostConfig, data: Dataset, log: Log) -> Job | None:
    """The SpikingJelly row's job, or None (with the reason logged) when it cannot run."""
    if not cfg.peer:
        return None
    if not spikingjelly_available():
        log("peer skipped: spikingjelly is not installed (pip install snndeploy[peers])")
        return None
    try:
        spikingjelly_net(build_model(cfg.model, data.spec.input_shape, data.spec.num_classes))
    except SnnDeployError as exc:
        log(f"peer skipped: {exc}")
        return None
    return _job(cfg, f"spikingjelly bptt T={cfg.T}", PEER)


def time_to_target(history: list[dict[str, Any]], target: float) -> dict[str, Any]:
    """The first epoch whose test accuracy reaches ``target``, with training-only and wall seconds to it."""
    for row in history:
        if row.get("accuracy") is not None and row["accuracy"] >= target:
            return {"reached": True, "epoch": row["epoch"], "train_s": row["train_s_cum"], "wall_s": row["wall_s_cum"]}
    last = history[-1] if history else {}
    return {"reached": False, "epoch": None, "train_s": None, "wall_s": None,
            "trained_s": last.get("train_s_cum"), "best_accuracy": max((h.get("accuracy") or 0.0 for h in history),
                                                                       default=None)}


def stage3_curves(model: SpikingNet, data: Dataset, alphas: tuple[float, ...], repeats: int, seed: int,
                  device: torch.device) -> dict[str, list[float]]:
    """Stage-3 accuracy at T = 1..SWEEP_T per alpha ('inf' is stage 2), each the mean of ``repeats`` draws."""
    curves: dict[str, list[float]] = {}
    for alpha in alphas:
        with model.using(alpha=alpha):
            runs = []
            for rep in range(repeats):
                torch.manual_seed(seed + rep)
                runs.append(accuracy_by_T(model, data.test, data.spec, SWEEP_T, mode="stage3", device=device))
        curves[f"{alpha:g}"] = [statistics.fmean(col) for col in zip(*runs, strict=True)]
    return curves


def _stage1(model: SpikingNet, data: Dataset, repeats: int, seed: int, device: torch.device) -> float:
    accs = []
    for rep in range(repeats):
        torch.manual_seed(seed + rep)
        accs.append(accuracy(model, data.test, data.spec, 1, "stage1", device=device))
    return statistics.fmean(accs)


def conversion_study(ann: SpikingNet, data: Dataset, cfg: TrainCostConfig, reference: float | None,
                     device: torch.device) -> dict[str, Any]:
    """Calibrate, convert and sweep T; the first T at which conversion reaches ``reference``."""
    thresholds = conversion.calibrate(ann, data.train, data.spec, images=cfg.calib_images, device=device,
                                      seed=cfg.seed)
    snn = conversion.convert(ann, thresholds)
    batch, chunk = CONVERSION_BATCH.get(device.type, CONVERSION_BATCH["cpu"])
    accs = conversion.conversion_accuracy(snn, data.test, data.spec, cfg.conversion_max_T, chunk=chunk,
                                          batch_size=batch, device=device)
    Ts = [T for T in conversion.CONVERSION_TS if T <= cfg.conversion_max_T] or [cfg.conversion_max_T]
    first = None if reference is None else conversion.first_T_reaching(accs, reference)
    return {"ann_accuracy": accuracy(ann, data.test, data.spec, 1, "ann", device=device),
            "thresholds": thresholds, "calibration_images": min(cfg.calib_images, len(data.train)),
            "percentile": 99.9, "max_T": cfg.conversion_max_T, "accuracy_by_T": accs,
            "table": [{"T": T, "accuracy": accs[T - 1]} for T in Ts],
            "reference": reference, "reference_T": REFERENCE_T, "first_T_reaching_reference": first,
            "steps_ratio": None if first is None else first / REFERENCE_T}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def checks(rows: dict[str, dict[str, Any]], conv: dict[str, Any] | None, bptt_label: str) -> list[dict[str, Any]]:
    """Each target (a claim and its threshold) against the measurement (holds: True, False or None = not measured)."""
    noise, bptt = rows.get("noise"), rows.get(bptt_label)
    out: list[dict[str, Any]] = []
    if noise and bptt:
        r = _ratio(noise["epoch_s"], bptt["epoch_s"])
        out.append({"claim": f"noise T=1 time per epoch <= 0.2x {bptt_label}", "value": r, "holds": r <= 0.2})
        m = _ratio(noise["memory_mb"], bptt["memory_mb"])
        out.append({"claim": f"noise T=1 peak memory <= 0.3x {bptt_label}", "value": m,
                    "holds": None if m is None else m <= 0.3})
        tn, tb = noise["time_to_target"], bptt["time_to_target"]
        claim = f"time to target >= 3x faster than {bptt_label}"
        if tn["reached"] and tb["reached"]:
            s = tb["train_s"] / tn["train_s"]
            out.append({"claim": claim, "value": s, "holds": s >= 3})
        elif tn["reached"]:  # BPTT never got there: the speed-up is at least its whole run over ours
            s = (tb.get("trained_s") or 0.0) / tn["train_s"]
            out.append({"claim": claim, "value": s, "holds": True if s >= 3 else None, "lower_bound": True})
        else:
            out.append({"claim": claim, "value": None, "holds": False if tb["reached"] else None})
    if conv is not None and conv["reference"] is not None:
        first, ratio = conv["first_T_reaching_reference"], conv["steps_ratio"]
        claim = f"conversion needs >= 20x the steps of stage 3 at T={REFERENCE_T} to reach its accuracy"
        if first is None:  # never within max_T: the ratio is above max_T / 5, which decides only if that is >= 20
            bound = conv["max_T"] / REFERENCE_T
            out.append({"claim": claim, "value": bound, "holds": True if bound >= 20 else None, "lower_bound": True})
        else:
            out.append({"claim": claim, "value": ratio, "holds": ratio >= 20})
    return out


def run_train_cost(cfg: TrainCostConfig, log: Log | None = None) -> dict[str, Any]:
    """Train every method in its own process, then the figures' sweeps; the whole result as a JSON-able dict."""
    say: Log = log or (lambda _msg: None)
    out = Path(cfg.out)
    data = load_dataset(cfg.dataset, cfg.data_dir, limit_train=cfg.limit_train, limit_test=cfg.limit_test)
    check_writable(out)
    device = pick_device(cfg.device)
    bptt_label = f"bptt T={cfg.T}"
    jobs = [_job(cfg, {"bptt": bptt_label}.get(m, m), m) for m in cfg.methods]
    if cfg.uniform and "noise" in cfg.methods:
        jobs.append(_job(cfg, "noise (uniform)", "noise", noise="uniform", eval_every_epoch=False, stop_at=None))
    peer = _peer_job(cfg, data, say)
    jobs += [peer] if peer else []

    def on_epoch(job: Job, row: dict[str, Any]) -> None:
        acc = f", test {100 * row['accuracy']:.2f}%" if row.get("accuracy") is not None else ""
        say(f"{job.label}: epoch {row['epoch']}/{job.epochs if job.method != PEER else 1} "
            f"{row['train_s']:.1f} s{acc}")

    rows: dict[str, dict[str, Any]] = {}
    for job in jobs:
        if job.label == "noise (uniform)" and "noise" in rows:  # as many epochs as the Gaussian run took
            job = dataclasses.replace(job, epochs=len(rows["noise"]["history"]))
        say(f"{job.label}: training in a fresh process")
        result = run_isolated(job, on_epoch)
        timed = job.method != PEER and job.eval_every_epoch
        result["time_to_target"] = time_to_target(result["history"], cfg.target) if timed else None
        rows[job.label] = result
    base = rows.get(bptt_label)
    for r in rows.values():
        r["epoch_vs_bptt"] = _ratio(r["epoch_s"], base and base["epoch_s"])
        r["memory_vs_bptt"] = _ratio(r["memory_mb"], base and base["memory_mb"])

    figures: dict[str, Any] = {}
    if "noise" in rows:
        say(f"stage-3 sweep: alpha in {', '.join(f'{a:g}' for a in ALPHAS)}, T = 1..{SWEEP_T}, {cfg.repeats} draws")
        noisy = checkpoint.load(rows["noise"]["checkpoint"], device).model
        figures["alpha"] = stage3_curves(noisy, data, ALPHAS, cfg.repeats, cfg.seed, device)
        figures["stage1_T1"] = _stage1(noisy, data, cfg.repeats, cfg.seed, device)
        figures["noise_types"] = {"gaussian": figures["alpha"]["4"]}
        if "noise (uniform)" in rows:
            uni = checkpoint.load(rows["noise (uniform)"]["checkpoint"], device).model
            figures["noise_types"]["uniform"] = stage3_curves(uni, data, (4.0,), cfg.repeats, cfg.seed, device)["4"]
    conv = None
    if "ann" in rows:
        say(f"ANN-to-SNN conversion: thresholds from {cfg.calib_images} training images, T = 1..{cfg.conversion_max_T}")
        ann = checkpoint.load(rows["ann"]["checkpoint"], device).model
        reference = figures["alpha"]["4"][REFERENCE_T - 1] if "alpha" in figures and SWEEP_T >= REFERENCE_T else None
        conv = conversion_study(ann, data, cfg, reference, device)
    machine = {"cpu": platform.processor() or platform.machine(), "threads": torch.get_num_threads(),
               "torch": torch.__version__, "python": platform.python_version(),
               "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None}
    return {"config": {**dataclasses.asdict(cfg), "methods": list(cfg.methods)}, "machine": machine,
            "data": {"name": cfg.dataset, "train": len(data.train), "test": len(data.test)},
            "bptt_label": bptt_label, "rows": rows, "figures": figures, "conversion": conv,
            "checks": checks(rows, conv, bptt_label)}
