"""The paper's cost claims in one run: noisy T = 1 against direct BPTT at T = N and the ReLU ANN.

Each method trains in its own fresh process (time per epoch, peak memory, wall time to a target
accuracy), then the trained models give the paper's figures: stage-3 accuracy against T and alpha
(Figs. 3 and 6), Gaussian against uniform noise (Fig. 7) and ANN-to-SNN conversion against T (Table 2).

The run is a list of phases (one per trained method, the stage-3 sweep, the uniform-noise sweep, the
conversion, the plots). Each finished phase is saved at once in STATE (atomically) with the partial report,
so an interrupted run keeps what it finished and ``resume=True`` carries on from there.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import statistics
from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

import torch

from ...conversion import ann_to_snn as conversion
from ...core import atomic
from ...core.atomic import check_writable
from ...core.config import TrainConfig
from ...core.device import pick_device
from ...core.errors import SnnDeployError
from ...core.install import hint
from ...data.datasets import Dataset, Split, load_dataset
from ...models import SpikingNet, build_model
from ...training import checkpoint
from ...training.accuracy import accuracy, accuracy_by_T
from ...ui.progress import Bar
from ..environment import environment
from . import state as state_file
from .config import TrainCostConfig, config_record, differing_options
from .peers import spikingjelly_available, spikingjelly_net
from .report import PLOTS, STATE, plots_for, write_plots, write_text_report
from .worker import PEER, Job, planned_steps, run_isolated

SWEEP_T = 10  # paper Figs. 3, 6 and 7: T = 1..10
ALPHAS = (2.0, 3.0, 4.0, 8.0, math.inf)  # paper Fig. 6
REFERENCE_T = 5  # conversion is compared with our stage-3 accuracy at this T (paper Table 2)
# (batch, steps per chunk) of the converted network's long runs: small tensors stay in the CPU's
# caches (the IF update is memory-bound there); a GPU wants big ones
CONVERSION_BATCH = {"cpu": (8, 16), "cuda": (128, 32)}
PEER_LABEL = "spikingjelly bptt T={T}"  # the SpikingJelly row's label
SWEEP_PIECE = 256  # test images per progress step of the stage-3 sweep (the accuracy functions' batch)
CONVERSION_PIECES = 8  # conversion batches per progress step

Log = Callable[[str], None]
Step = Callable[[str], None]


def _job(cfg: TrainCostConfig, label: str, method: str, noise: str = "gaussian", **changes: Any) -> Job:
    """The job that trains ``method`` (or the peer) as the study's options say; ``changes``: the Job's own fields."""
    folder = str(Path(cfg.out) / "checkpoints" / re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-"))
    train = TrainConfig(model=cfg.model, dataset=cfg.dataset, data_dir=cfg.data_dir,
                        method="bptt" if method == PEER else method, T=cfg.T if method in ("bptt", PEER) else 1,
                        epochs=cfg.epochs, batch_size=cfg.batch_size, lr=cfg.lr, noise=noise, seed=cfg.seed,
                        device=cfg.device, limit_train=cfg.limit_train, limit_test=cfg.limit_test,
                        augment=cfg.augment, out=folder)
    job = Job(label=label, train=train, eval_T=1 if method == "ann" else cfg.T, peer=method == PEER,
              max_batches=cfg.peer_batches, checkpoint=method != PEER,
              stop_at=cfg.target if cfg.stop_at_target else None)
    return dataclasses.replace(job, **changes)


def _peer_job(cfg: TrainCostConfig, data: Dataset, log: Log) -> Job | None:
    """The SpikingJelly row's job, or None (with the reason logged) when it cannot run."""
    if not cfg.peer:
        return None
    if not spikingjelly_available():
        log(f"peer skipped: spikingjelly is not installed ({hint('peers')})")
        return None
    try:
        spikingjelly_net(build_model(cfg.model, data.spec.input_shape, data.spec.num_classes))
    except SnnDeployError as exc:
        log(f"peer skipped: {exc}")
        return None
    return _job(cfg, PEER_LABEL.format(T=cfg.T), PEER)


def time_to_target(history: list[dict[str, Any]], target: float) -> dict[str, Any]:
    """The first epoch whose test accuracy reaches ``target``, with training-only and wall seconds to it."""
    for row in history:
        if row.get("accuracy") is not None and row["accuracy"] >= target:
            return {"reached": True, "epoch": row["epoch"], "train_s": row["train_s_cum"], "wall_s": row["wall_s_cum"]}
    last = history[-1] if history else {}
    return {"reached": False, "epoch": None, "train_s": None, "wall_s": None,
            "trained_s": last.get("train_s_cum"), "best_accuracy": max((h.get("accuracy") or 0.0 for h in history),
                                                                       default=None)}


def _pieces(split: Split, size: int) -> list[Split]:
    return [Split(split.images[i:i + size], split.labels[i:i + size]) for i in range(0, len(split), size)]


def _by_T_in_pieces(run: Callable[[Split], list[float]], split: Split, size: int,
                    on_piece: Callable[[], None]) -> list[float]:
    """Accuracy at every T over ``split``, run ``size`` images at a time (a progress step each): batches and
    noise draws in the same order as one call over the whole split, so the same numbers."""
    right: list[int] = []
    for piece in _pieces(split, size):
        counts = [round(a * len(piece)) for a in run(piece)]
        right = counts if not right else [r + c for r, c in zip(right, counts, strict=True)]
        on_piece()
    return [r / max(len(split), 1) for r in right]


def stage3_steps(test_images: int, alphas: int, repeats: int) -> int:
    """Progress steps of stage3_curves."""
    return alphas * repeats * max(1, math.ceil(test_images / SWEEP_PIECE))


def stage3_curves(model: SpikingNet, data: Dataset, alphas: tuple[float, ...], repeats: int, seed: int,
                  device: torch.device, on_step: Step | None = None) -> dict[str, list[float]]:
    """Stage-3 accuracy at T = 1..SWEEP_T per alpha ('inf' is stage 2), each the mean of ``repeats`` draws;
    ``on_step`` gets a status line per SWEEP_PIECE test images of each (alpha, draw)."""
    curves: dict[str, list[float]] = {}
    for alpha in alphas:
        with model.using(alpha=alpha):
            runs = []
            for rep in range(repeats):
                torch.manual_seed(seed + rep)
                status = f"alpha={alpha:g}, draw {rep + 1}/{repeats}, T=1..{SWEEP_T}"
                runs.append(_by_T_in_pieces(
                    lambda piece: accuracy_by_T(model, piece, data.spec, SWEEP_T, mode="stage3", device=device),
                    data.test, SWEEP_PIECE, lambda status=status: on_step and on_step(status)))
        curves[f"{alpha:g}"] = [statistics.fmean(col) for col in zip(*runs, strict=True)]
    return curves


def _stage1(model: SpikingNet, data: Dataset, repeats: int, seed: int, device: torch.device) -> float:
    accs = []
    for rep in range(repeats):
        torch.manual_seed(seed + rep)
        accs.append(accuracy(model, data.test, data.spec, 1, "stage1", device=device))
    return statistics.fmean(accs)


def conversion_steps(test_images: int, device: torch.device) -> int:
    """Progress steps of conversion_study: calibration, the test images in pieces, the ANN's own test."""
    batch, _ = CONVERSION_BATCH.get(device.type, CONVERSION_BATCH["cpu"])
    return 2 + max(1, math.ceil(test_images / (batch * CONVERSION_PIECES)))


def conversion_study(ann: SpikingNet, data: Dataset, cfg: TrainCostConfig, reference: float | None,
                     device: torch.device, on_step: Step | None = None) -> dict[str, Any]:
    """Calibrate, convert and sweep T; the first T at which conversion reaches ``reference``."""
    say = on_step or (lambda _status: None)
    thresholds = conversion.calibrate(ann, data.train, data.spec, images=cfg.calib_images, device=device,
                                      seed=cfg.seed)
    calibration_images = min(cfg.calib_images, len(data.train))
    say(f"thresholds from {calibration_images} training images")
    snn = conversion.convert(ann, thresholds)
    batch, chunk = CONVERSION_BATCH.get(device.type, CONVERSION_BATCH["cpu"])
    accs = _by_T_in_pieces(
        lambda piece: conversion.conversion_accuracy(snn, piece, data.spec, cfg.conversion_max_T, chunk=chunk,
                                                     batch_size=batch, device=device),
        data.test, batch * CONVERSION_PIECES, lambda: say(f"T=1..{cfg.conversion_max_T}"))
    Ts = [T for T in conversion.CONVERSION_TS if T <= cfg.conversion_max_T] or [cfg.conversion_max_T]
    first = None if reference is None else conversion.first_T_reaching(accs, reference)
    ann_accuracy = accuracy(ann, data.test, data.spec, 1, "ann", device=device)
    say("ANN tested")
    return {"ann_accuracy": ann_accuracy, "thresholds": thresholds, "calibration_images": calibration_images,
            "percentile": 99.9, "max_T": cfg.conversion_max_T, "accuracy_by_T": accs,
            "table": [{"T": T, "accuracy": accs[T - 1]} for T in Ts],
            "reference": reference, "reference_T": REFERENCE_T, "first_T_reaching_reference": first,
            "steps_ratio": None if first is None else first / REFERENCE_T}


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def checks(rows: dict[str, dict[str, Any]], conv: dict[str, Any] | None, bptt_label: str) -> list[dict[str, Any]]:
    """Each paper claim (with its threshold) against the measurement: holds True, False or None (this run cannot
    decide), and ``why`` when it does not hold or is not decided."""
    noise, bptt = rows.get("noise"), rows.get(bptt_label)
    out: list[dict[str, Any]] = []
    if noise and bptt:
        r = _ratio(noise["epoch_s"], bptt["epoch_s"])
        out.append({"claim": f"noise T=1 time per epoch <= 0.2x {bptt_label}", "value": r, "holds": r <= 0.2,
                    "why": f"measured {r:.3g}x, above 0.2x"})
        m = _ratio(noise["memory_mb"], bptt["memory_mb"])
        out.append({"claim": f"noise T=1 peak memory <= 0.3x {bptt_label}", "value": m,
                    "holds": None if m is None else m <= 0.3,
                    "why": "peak memory was not measured" if m is None else f"measured {m:.3g}x, above 0.3x"})
        tn, tb = noise["time_to_target"], bptt["time_to_target"]
        claim = f"time to target >= 3x faster than {bptt_label}"
        if tn["reached"] and tb["reached"]:
            s = tb["train_s"] / tn["train_s"]
            out.append({"claim": claim, "value": s, "holds": s >= 3, "why": f"measured {s:.3g}x, below 3x"})
        elif tn["reached"]:  # BPTT never got there: the speed-up is at least its whole run over ours
            s = (tb.get("trained_s") or 0.0) / tn["train_s"]
            out.append({"claim": claim, "value": s, "holds": True if s >= 3 else None, "lower_bound": True,
                        "why": f"{bptt_label} did not reach the target in its epochs, which took only {s:.3g}x our "
                               "time to it: raise --epochs"})
        else:
            out.append({"claim": claim, "value": None, "holds": False if tb["reached"] else None,
                        "why": f"the noisy network did not reach the target and {bptt_label} did" if tb["reached"]
                        else "neither method reached the target: raise --epochs or lower --target"})
    if conv is not None and conv["reference"] is not None:
        first, ratio = conv["first_T_reaching_reference"], conv["steps_ratio"]
        claim = f"conversion needs >= 20x the steps of stage 3 at T={REFERENCE_T} to reach its accuracy"
        if first is None:  # never within max_T: the ratio is above max_T / 5, which decides only if that is >= 20
            bound = conv["max_T"] / REFERENCE_T
            out.append({"claim": claim, "value": bound, "holds": True if bound >= 20 else None, "lower_bound": True,
                        "why": f"conversion did not reach it within T = {conv['max_T']}, which shows only "
                               f"{bound:.3g}x: raise --conversion-max-T to {20 * REFERENCE_T} or more"})
        else:
            out.append({"claim": claim, "value": ratio, "holds": ratio >= 20,
                        "why": f"conversion reached it at T = {first}: {ratio:.3g}x the steps"})
    return out


def _phases(cfg: TrainCostConfig, jobs: list[Job]) -> list[str]:
    """The run's phases in order."""
    phases = [f"train {job.label}" for job in jobs]
    if "noise" in cfg.methods:
        phases.append("stage-3 sweep")
        if cfg.uniform:
            phases.append("uniform-noise sweep")
    if "ann" in cfg.methods:
        phases.append("conversion")
    return [*phases, "plots"]


def _jobs(cfg: TrainCostConfig) -> list[Job]:
    """The jobs that train our methods (the peer's aside), in order."""
    jobs = [_job(cfg, {"bptt": f"bptt T={cfg.T}"}.get(m, m), m) for m in cfg.methods]
    if cfg.uniform and "noise" in cfg.methods:
        jobs.append(_job(cfg, "noise (uniform)", "noise", noise="uniform", eval_every_epoch=False, stop_at=None))
    return jobs


def _plan(cfg: TrainCostConfig) -> state_file.Plan:
    """What a state of this configuration may hold (the peer's row and phase included when asked for)."""
    jobs = _jobs(cfg) + [_job(cfg, PEER_LABEL.format(T=cfg.T), PEER)] * cfg.peer
    return state_file.Plan(
        path=Path(cfg.out) / STATE, out=Path(cfg.out), phases=_phases(cfg, jobs),
        checkpoints={j.label: Path(j.train.out) / checkpoint.META if j.checkpoint else None for j in jobs},
        timed={j.label: not j.peer and j.eval_every_epoch for j in jobs}, job_keys=set(jobs[0].record()),
        epochs=cfg.epochs, alphas=tuple(f"{a:g}" for a in ALPHAS), sweep_T=SWEEP_T,
        conversion_max_T=cfg.conversion_max_T, reference_T=REFERENCE_T)


REPORT = ("train_cost.json", "train_cost.md")  # the text report beside STATE and the PNGs (report.py)


def _earlier(path: Path) -> dict[str, Any] | None:
    """The state of the run at ``path`` as plain JSON; None if unreadable."""
    try:
        obj = state_file.load(path)
    except SnnDeployError:
        return None
    return obj if isinstance(obj, dict) else None


def _refuse_used(out: Path, cfg: TrainCostConfig, there: bool) -> None:
    """Refuse a folder an earlier run used (its STATE, or a report or plot of ours beside none) in one line that
    offers only what fits: --resume for an unfinished run of the same options, --overwrite, another -o."""
    earlier = _earlier(out / STATE) if there else None
    done = earlier.get("done") if earlier is not None else None
    if isinstance(done, list) and "plots" not in done and \
            not differing_options(earlier.get("config", {}), config_record(cfg)):
        n = len(done)
        raise SnnDeployError(f"{out} holds an unfinished run of these options ({n} phase{'s' * (n != 1)} done): "
                             "--resume continues it, --overwrite replaces it, or give -o another folder")
    if there or any(os.path.lexists(out / name) for name in (*REPORT, *PLOTS.values())):
        what = "a finished run" if isinstance(done, list) and "plots" in done else "an earlier run"
        raise SnnDeployError(f"{out} already holds {what}: --overwrite replaces it, or give -o another folder")


def _open_state(out: Path, cfg: TrainCostConfig, resume: bool, overwrite: bool = False) -> dict[str, Any]:
    """The earlier run's state to carry on (``resume``), checked like user input, else a fresh one; refuses a
    resume whose options differ and, without ``overwrite``, a fresh start in a folder an earlier run used."""
    path = out / STATE
    record = config_record(cfg)
    there = state_file.exists(path)  # one line for a link, a FIFO or a folder in its place
    if not resume:
        if not overwrite:
            _refuse_used(out, cfg, there)
        return {"config": record, "done": [], "rows": {}, "figures": {}, "conversion": None, "plots": []}
    if not there:
        raise SnnDeployError(f"nothing to resume in {out}: no {STATE} there; run without --resume")
    plan = _plan(cfg)
    earlier = state_file.read(plan, record)
    diff = differing_options(earlier["config"], record)
    if diff:
        raise SnnDeployError(f"cannot resume {out}: options differ from the earlier run's: {', '.join(diff)}; "
                             "give the same options, --overwrite, or another -o")
    state_file.check(plan, earlier)
    return {**earlier, "config": record}


def _earlier_plots(out: Path) -> set[str]:
    """The PNGs the STATE in ``out`` says its run wrote (ours to remove once a new run has replaced the rest)."""
    earlier = _earlier(out / STATE)
    plots = earlier.get("plots") if earlier is not None else None
    return {p for p in plots if p in PLOTS.values()} if isinstance(plots, list) else set()


def _result(cfg: TrainCostConfig, state: dict[str, Any], data: Dataset, env: dict[str, Any],
            pending: list[str]) -> dict[str, Any]:
    """The report's content from the phases finished so far."""
    bptt_label = f"bptt T={cfg.T}"
    rows = state["rows"]
    base = rows.get(bptt_label)
    for r in rows.values():
        r["epoch_vs_bptt"] = _ratio(r["epoch_s"], base and base["epoch_s"])
        r["memory_vs_bptt"] = _ratio(r["memory_mb"], base and base["memory_mb"])
    return {"config": state["config"], "machine": env, "data": {"name": cfg.dataset, "train": len(data.train),
                                                                "test": len(data.test)},
            "bptt_label": bptt_label, "rows": rows, "figures": state["figures"], "conversion": state["conversion"],
            "checks": checks(rows, state["conversion"], bptt_label), "pending": pending,
            "plots": [name for name in PLOTS.values() if name in state["plots"]]}


def run_train_cost(cfg: TrainCostConfig, log: Log | None = None, *, resume: bool = False, overwrite: bool = False,
                   show_progress: bool = False, env: dict[str, Any] | None = None) -> dict[str, Any]:
    """Train every method in its own process, then the figures' sweeps and the report; the result as a JSON-able
    dict. Each finished phase is saved in ``cfg.out``/STATE and the report there rewritten; ``resume`` skips
    the phases an earlier run with the same configuration finished. A folder an earlier run used is refused
    unless ``resume`` or ``overwrite``; ``overwrite`` deletes nothing at start: the new STATE and report are
    written at once (they never describe the old run), each old PNG is replaced as the new one is committed,
    and the old PNGs the new run does not draw are removed at its end. ``env``: the environment record (else
    taken now)."""
    say: Log = log or (lambda _msg: None)
    out = Path(cfg.out)
    data = load_dataset(cfg.dataset, cfg.data_dir, limit_train=cfg.limit_train, limit_test=cfg.limit_test)
    device = pick_device(cfg.device)
    env = env if env is not None else environment(device=cfg.device)
    with atomic.RunLock(out, "bench folder"):
        check_writable(out)
        stale = _earlier_plots(out) if overwrite and not resume else set()
        state = _open_state(out, cfg, resume, overwrite)
        atomic.remove_stale_temps(out)
        try:
            return _run(cfg, state, data, device, env, say, show_progress, stale)
        except KeyboardInterrupt:
            done = len(state["done"])
            say(f"stopped: {done} finished phase{'s' * (done != 1)} kept in {out}; carry on with the same options "
                "and --resume")
            raise


def _run(cfg: TrainCostConfig, state: dict[str, Any], data: Dataset, device: torch.device, env: dict[str, Any],
         say: Log, show_progress: bool, stale: Collection[str] = ()) -> dict[str, Any]:
    """The phases ``state`` has not finished; ``stale``: PNGs of a replaced run, removed at the end unless
    this run drew them again."""
    out = Path(cfg.out)
    jobs = _jobs(cfg)
    peer = _peer_job(cfg, data, say)
    jobs += [peer] if peer else []
    phases = _phases(cfg, jobs)
    rows, figures, done = state["rows"], state["figures"], state["done"]

    def finished(phase: str) -> None:
        """Save the phase's results (the state, then the report so far) before the next one starts."""
        done.append(phase)
        atomic.write_json(out / STATE, state)
        pending = [p for p in phases if p not in done]
        if pending:
            write_text_report(_result(cfg, state, data, env, pending), out)

    def on_epoch(job: Job, row: dict[str, Any]) -> None:
        acc = f", test {100 * row['accuracy']:.2f}%" if row.get("accuracy") is not None else ""
        say(f"{job.label}: epoch {row['epoch']}/{job.train.epochs if not job.peer else 1} "
            f"{row['train_s']:.1f} s{acc}")

    atomic.write_json(out / STATE, state)
    if not state["done"] and any(os.path.lexists(out / name) for name in REPORT):  # a replaced run's report
        write_text_report(_result(cfg, state, data, env, phases), out)  # must not stand beside this state
    with Bar(enabled=show_progress) as bar:
        for job in jobs:
            phase = f"train {job.label}"
            kept = rows.get(job.label, {}).get("checkpoint")
            if phase in done and (kept is None or Path(kept).is_file()):
                bar.finish(bar.start(phase, 1), "finished earlier")
                continue
            if phase in done:  # its checkpoint is gone: train it again
                done.remove(phase)
            if job.label == "noise (uniform)" and "noise" in rows:  # as many epochs as the Gaussian run took
                job = dataclasses.replace(job, train=job.train.replace(epochs=len(rows["noise"]["history"])))
            if job.checkpoint and Path(job.train.out).is_dir():  # what a killed run's writes left
                atomic.remove_stale_temps(job.train.out)
            # what came after this phase came from the model it replaces (a resumed run whose checkpoint is gone)
            done[:] = [p for p in done if p.startswith("train ")]
            figures.clear()
            state["conversion"] = None
            state["plots"].clear()
            task = bar.start(phase, planned_steps(job, len(data.train)))
            result = run_isolated(job, on_epoch, lambda status, task=task: bar.advance(task, status))
            timed = not job.peer and job.eval_every_epoch
            result["time_to_target"] = time_to_target(result["history"], cfg.target) if timed else None
            rows[job.label] = result
            bar.finish(task, f"{result['epoch_s']:.2f} s / epoch")
            finished(phase)

        if "stage-3 sweep" in phases and "stage-3 sweep" not in done:
            say(f"stage-3 sweep: alpha in {', '.join(f'{a:g}' for a in ALPHAS)}, T = 1..{SWEEP_T}, "
                f"{cfg.repeats} draw(s) of {len(data.test)} test images")
            task = bar.start("stage-3 sweep", stage3_steps(len(data.test), len(ALPHAS), cfg.repeats) + 1)
            noisy = checkpoint.load(rows["noise"]["checkpoint"], device).model
            curves = figures.setdefault("alpha", {})
            for alpha in ALPHAS:  # each alpha saved once swept: a resumed sweep starts at the next one
                if f"{alpha:g}" in curves:
                    for _ in range(stage3_steps(len(data.test), 1, cfg.repeats)):
                        bar.advance(task, f"alpha={alpha:g}: swept earlier")
                    continue
                curves.update(stage3_curves(noisy, data, (alpha,), cfg.repeats, cfg.seed, device,
                                            lambda status: bar.advance(task, status)))
                atomic.write_json(out / STATE, state)
            figures["stage1_T1"] = _stage1(noisy, data, cfg.repeats, cfg.seed, device)
            bar.advance(task, "stage 1, T=1")
            figures["noise_types"] = {"gaussian": figures["alpha"]["4"]}
            bar.finish(task, f"alpha=4, T={SWEEP_T}: {100 * figures['alpha']['4'][-1]:.2f}%")
            finished("stage-3 sweep")
        elif "stage-3 sweep" in phases:
            bar.finish(bar.start("stage-3 sweep", 1), "finished earlier")
        if "uniform-noise sweep" in phases and "uniform-noise sweep" not in done:
            task = bar.start("uniform-noise sweep", stage3_steps(len(data.test), 1, cfg.repeats))
            uni = checkpoint.load(rows["noise (uniform)"]["checkpoint"], device).model
            figures["noise_types"]["uniform"] = stage3_curves(uni, data, (4.0,), cfg.repeats, cfg.seed, device,
                                                              lambda status: bar.advance(task, status))["4"]
            bar.finish(task, f"T={SWEEP_T}: {100 * figures['noise_types']['uniform'][-1]:.2f}%")
            finished("uniform-noise sweep")
        elif "uniform-noise sweep" in phases:
            bar.finish(bar.start("uniform-noise sweep", 1), "finished earlier")
        if "conversion" in phases and "conversion" not in done:
            say(f"ANN-to-SNN conversion: thresholds from {min(cfg.calib_images, len(data.train))} training images, "
                f"T = 1..{cfg.conversion_max_T} on {len(data.test)} test images")
            task = bar.start("conversion", conversion_steps(len(data.test), device))
            ann = checkpoint.load(rows["ann"]["checkpoint"], device).model
            alpha4 = figures.get("alpha", {}).get("4")
            reference = alpha4[REFERENCE_T - 1] if alpha4 and SWEEP_T >= REFERENCE_T else None
            state["conversion"] = conversion_study(ann, data, cfg, reference, device,
                                                   lambda status: bar.advance(task, status))
            bar.finish(task, f"T={cfg.conversion_max_T}: {100 * state['conversion']['accuracy_by_T'][-1]:.2f}%")
            finished("conversion")
        elif "conversion" in phases:
            bar.finish(bar.start("conversion", 1), "finished earlier")

        # the record names the checkpoints the figures came from, by hash (each run of the plots phase: cheap)
        checkpoints = [r["checkpoint"] for r in rows.values() if r.get("checkpoint")]
        env = {**env, "artifacts": environment(checkpoints)["artifacts"]}
        result = _result(cfg, state, data, env, ["plots"])
        task = bar.start("plots", len(plots_for(result)))

        def plotted(name: str) -> None:
            state["plots"].append(name)
            atomic.write_json(out / STATE, state)
            bar.advance(task, name)

        write_plots(result, out, skip=set(state["plots"]), on_plot=plotted)
        bar.finish(task, f"in {out}")
        if "plots" not in done:
            finished("plots")
    result = _result(cfg, state, data, env, [])
    write_text_report(result, out)
    for name in sorted(set(stale) - set(state["plots"])):  # the replaced run's, not drawn by this one
        (out / name).unlink(missing_ok=True)
    return result
