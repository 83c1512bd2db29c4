"""One training method in its own fresh process: seconds per epoch, peak memory, test accuracy per epoch.

Each job runs in a new 'spawn' process, so its peak RSS belongs to that method alone. Memory is the
peak over the first training epoch (Adam's state included) minus the process's RSS after imports,
data loading and one single-image warm-up step (which pages in the kernels' code, the same for every
method), the peak being reset there; it is read before any evaluation, whose own T-step batches would
otherwise set the high-water mark. On CUDA it is ``torch.cuda.max_memory_allocated`` over the same span.

The process reports each training batch and each test to its parent (a progress bar there). It ignores Ctrl-C:
the terminal sends SIGINT to the whole process group, and the parent, interrupted too, ends it (a child that
raised KeyboardInterrupt itself would print a traceback and race the parent over the pipe). A parent killed
outright (SIGKILL, out of memory) cannot end it: the process then ends itself, quietly, when the parent dies (on
Linux) or at its next report or output, whose reader has gone.
"""

from __future__ import annotations

import ctypes
import gc
import math
import multiprocessing as mp
import os
import signal
import statistics
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ...core.config import TrainConfig
from ...core.device import pick_device
from ...core.errors import SnnDeployError
from ...core.neuron_config import EVAL_MODE, STAGE_MODE, TRAIN_MODE
from ...data.datasets import iterate_batches, load_dataset
from ...models import SpikingNet, build_model
from ...training.accuracy import accuracy
from ...training.train import fit, loss_fn, make_optimizer, steps_per_epoch, sync, train_epoch
from ..memory import peak_rss_mb, rss_baseline_mb
from .peers import spikingjelly_net

PEER = "spikingjelly"


@dataclass(frozen=True)
class Job:
    """What one process trains (``train``: the run as `snndeploy train` makes it) and how the study judges it."""
    label: str
    train: TrainConfig
    eval_T: int  # steps of the evaluation that counts (N for noise and bptt, 1 for ann)
    peer: bool = False  # SpikingJelly's multi-step LIF BPTT at train.T (method bptt) instead, timed over max_batches
    eval_every_epoch: bool = True  # False: test only after the last epoch
    stop_at: float | None = None  # stop after the first epoch whose test accuracy reaches this
    max_batches: int = 20  # the peer's timed batches (after 2 untimed warm-up batches)
    checkpoint: bool = False  # commit the trained model to train.out (our methods)

    @property
    def method(self) -> str:
        """noise | bptt | ann | spikingjelly."""
        return PEER if self.peer else self.train.method

    def record(self) -> dict[str, Any]:
        """The job as the results' JSON holds it: one flat mapping."""
        train = {k: v for k, v in self.train.to_dict().items() if k != "out"}
        return {"label": self.label, **train, "method": self.method, "eval_T": self.eval_T,
                "eval_every_epoch": self.eval_every_epoch, "stop_at": self.stop_at, "max_batches": self.max_batches,
                "checkpoint": self.train.out if self.checkpoint else None}


def planned_steps(job: Job, train_images: int) -> int:
    """How many progress steps ``job`` reports: its training batches and its tests (fewer if it stops at a target)."""
    cfg = job.train
    if job.peer:
        return max(1, min(job.max_batches + 2, train_images // cfg.batch_size))
    tests = cfg.epochs if job.eval_every_epoch else 1
    return cfg.epochs * steps_per_epoch(train_images, cfg.batch_size, drop_last=False) + tests


def _evaluate(model: SpikingNet, job: Job, data: Any, device: torch.device, epoch: int) -> dict[str, float]:
    """Test accuracy as the method is judged (noise: stage 3 at T = N; also stage 1 at T = 1)."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # evaluation noise leaves training's random stream alone
        torch.manual_seed(job.train.seed + 1000 + epoch)
        method = job.train.method
        out = {"accuracy": accuracy(model, data.test, data.spec, job.eval_T, EVAL_MODE[method], device=device)}
        if method == "noise":
            out["accuracy_stage1"] = accuracy(model, data.test, data.spec, 1, STAGE_MODE[1], device=device)
    return out


def train_ours(job: Job, data: Any, device: torch.device, send: Callable[[str, Any], None]) -> dict[str, Any]:
    """Train per ``job`` with `snndeploy train`'s own loop (``fit``), judged and stopped as the study asks."""
    cfg = job.train
    memory: dict[str, float | None] = {}
    history: list[dict[str, Any]] = []

    def judge(model: SpikingNet, epoch: int) -> dict[str, Any]:
        if epoch == 0:  # the first epoch's peak, read before any evaluation's T-step batches can raise it
            cuda = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
            memory.update(peak_rss_mb=peak_rss_mb(), cuda_peak_mb=cuda)
        if not (job.eval_every_epoch or epoch == cfg.epochs - 1):
            return {}
        out = _evaluate(model, job, data, device, epoch)
        send("step", f"epoch {epoch + 1}/{cfg.epochs}, test {100 * out['accuracy']:.2f}%")
        return out

    def epoch_done(row: dict[str, Any]) -> bool:
        train_cum = (history[-1]["train_s_cum"] if history else 0.0) + row["epoch_s"]
        history.append({**row, "train_s": row["epoch_s"], "train_s_cum": train_cum, "wall_s_cum": row["wall_s"]})
        send("epoch", history[-1])
        return job.stop_at is not None and row.get("accuracy", -1.0) >= job.stop_at

    def batch_done(epoch: int, s: Any) -> None:
        send("step", f"epoch {epoch + 1}/{cfg.epochs}, loss {s.loss:.4f}")

    result = fit(cfg, epoch_done, data=data, device=device, evaluate=judge, commit=job.checkpoint,
                 on_batch=batch_done)
    epoch_s = statistics.median(h["train_s"] for h in history)
    return {"history": history, "epoch_s": epoch_s, "samples_per_s": len(data.train) / epoch_s,
            "checkpoint": str(result.path) if job.checkpoint else None, **memory}


def train_spikingjelly(job: Job, data: Any, device: torch.device, send: Callable[[str, Any], None]) -> dict[str, Any]:
    """SpikingJelly's multi-step LIF trained by BPTT at T steps, same architecture, timed over max_batches."""
    from spikingjelly.activation_based import functional, neuron, surrogate


    cfg = job.train
    torch.manual_seed(cfg.seed)
    model = build_model(cfg.model, data.spec.input_shape, data.spec.num_classes).to(device)
    net = spikingjelly_net(model).to(device).train()  # shares the stem, body and head weights with ``model``
    for m in net.modules():
        if isinstance(m, neuron.LIFNode):
            m.surrogate_function = surrogate.ATan(alpha=3.0)  # eq. 4 with a = 3, as ours
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    gen = torch.Generator().manual_seed(cfg.seed)
    times: list[float] = []
    losses: list[float] = []
    batches = iterate_batches(data.train, data.spec, cfg.batch_size, shuffle=True, generator=gen, device=device,
                              augment=cfg.augment, drop_last=True)
    for i, (x, y) in enumerate(batches):
        if i >= job.max_batches + 2:
            break
        sync(device)
        t0 = time.perf_counter()
        out = net(x.unsqueeze(0).repeat(cfg.T, *([1] * x.dim())))
        loss = loss_fn("mse", model.head(out.flatten(2)).mean(0), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        functional.reset_net(net)
        sync(device)
        losses.append(float(loss.detach()))
        if i >= 2:  # the first two batches warm up allocator and kernels
            times.append(time.perf_counter() - t0)
        send("step", f"batch {i + 1}, loss {losses[-1]:.4f}")
    if not times:
        raise SnnDeployError(f"{job.label}: the training set is smaller than 3 batches of {cfg.batch_size}")
    per_batch = statistics.median(times)
    send("epoch", {"epoch": 1, "train_s": sum(times), "batches": len(times)})
    return {"history": [], "batches_timed": len(times), "batch_s": per_batch, "losses": losses,
            "epoch_s": per_batch * math.ceil(len(data.train) / cfg.batch_size),
            "samples_per_s": cfg.batch_size / per_batch, "peak_rss_mb": peak_rss_mb(),
            "cuda_peak_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None}


def warm_up(job: Job, data: Any, device: torch.device) -> None:
    """One single-image training step on a throwaway copy of the network, so that the code pages of the
    kernels it loads count in the baseline rather than as the method's memory."""
    cfg = job.train
    model = build_model(cfg.model, data.spec.input_shape, data.spec.num_classes).to(device)
    opt, sched = make_optimizer(model, cfg.lr, cfg.t0_epochs)
    batch = next(iterate_batches(data.train, data.spec, 1, shuffle=False, device=device))
    train_epoch(model, [batch], opt, sched, epoch=0, steps=1, mode=TRAIN_MODE[cfg.method], T=cfg.T)


PR_SET_PDEATHSIG = 1  # prctl(2): the signal this process gets when the thread that started it dies
ORPHANED = 3  # the exit status of a process whose parent has gone (nobody reads it)


def die_with_parent(parent: int) -> None:
    """End this process when ``parent`` (its parent's pid) dies: Linux sends it SIGTERM then, and one whose
    parent died while it started (before it could ask) ends now. A write to a pipe whose reader has gone (the
    parent's end, a closed terminal) ends it quietly too, instead of raising BrokenPipeError."""
    if hasattr(signal, "SIGPIPE"):
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
        except (OSError, AttributeError):  # no prctl in this C library: the pipe still ends it
            pass
    if os.getppid() != parent:
        os._exit(ORPHANED)


def exit_on_sigterm() -> None:
    """End this process on SIGTERM (the parent ending it after a Ctrl-C, or the parent's death) by SystemExit,
    so that multiprocessing's exit handlers run: killed outright, the process left the semaphores that libraries
    made in it registered, and the resource tracker printed "leaked semaphore objects" at the parent's exit."""
    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def _child(job: Job, conn: Any, parent: int) -> None:
    """Entry point of the fresh process: load data, take the memory baseline, train, report."""
    def send(kind: str, payload: Any) -> None:
        try:
            conn.send((kind, payload))
        except (OSError, EOFError):  # the parent has gone: nobody to report to, nothing to print
            os._exit(ORPHANED)

    exit_on_sigterm()
    die_with_parent(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _sigint(signal.SIG_UNBLOCK)  # blocked by the parent while it started this process
    try:
        cfg = job.train
        device = pick_device(cfg.device)
        data = load_dataset(cfg.dataset, cfg.data_dir, limit_train=cfg.limit_train, limit_test=cfg.limit_test,
                            image_size=cfg.image_size)
        warm_up(job, data, device)
        gc.collect()
        baseline = rss_baseline_mb()
        cuda_base = 0.0
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            cuda_base = torch.cuda.memory_allocated(device) / 2**20
        run = train_spikingjelly if job.peer else train_ours
        result = run(job, data, device, send)
        result.update(label=job.label, job=job.record(), rss_baseline_mb=baseline,
                      memory_mb=result["peak_rss_mb"] - baseline, threads=torch.get_num_threads(),
                      train_images=len(data.train), test_images=len(data.test))
        if result["cuda_peak_mb"] is not None:
            result["memory_mb"] = result["cuda_peak_mb"] - cuda_base
        send("done", result)
    except SnnDeployError as exc:
        send("error", str(exc))
    except SystemExit:  # ended by the parent (exit_on_sigterm): nothing to report
        raise
    except BaseException:  # noqa: BLE001 - a bug: hand the whole traceback to the parent
        send("crash", traceback.format_exc())
    finally:
        conn.close()


def _sigint(how: int) -> None:
    """Block or unblock SIGINT in this thread (POSIX; elsewhere a no-op)."""
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(how, {signal.SIGINT})


def run_isolated(job: Job, on_epoch: Callable[[Job, dict[str, Any]], None] | None = None,
                 on_step: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run ``job`` in a fresh 'spawn' process and return its measurements; ``on_step`` gets a status line
    after each training batch and each test.

    Whatever ends the wait early (Ctrl-C, an error) ends the process too, and waits for it to be gone."""
    if job.checkpoint:
        Path(job.train.out).mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(job, send, os.getpid()), daemon=True)
    # the child inherits the blocked SIGINT, so a Ctrl-C while it imports cannot give it a traceback; it then
    # ignores SIGINT for good, and a Ctrl-C that came meanwhile reaches the parent when unblocked below
    _sigint(signal.SIG_BLOCK)
    try:
        proc.start()
    finally:
        _sigint(signal.SIG_UNBLOCK)
    send.close()  # only the child holds the sending end now, so its death ends recv() with EOFError
    finished = False
    try:
        while True:
            try:
                kind, payload = receive.recv()
            except EOFError:
                proc.join()
                raise SnnDeployError(f"{job.label}: training process ended without a result "
                                     f"(exit code {proc.exitcode}; out of memory?)") from None
            if kind == "step":
                if on_step is not None:
                    on_step(payload)
            elif kind == "epoch":
                if on_epoch is not None:
                    on_epoch(job, payload)
            elif kind == "done":
                finished = True
                return payload
            elif kind == "error":
                raise SnnDeployError(f"{job.label}: {payload}")
            else:
                raise RuntimeError(f"{job.label} failed in its process:\n{payload}")
    finally:
        receive.close()
        if finished:  # the child only has to exit
            proc.join(timeout=60)
        if proc.is_alive():
            proc.terminate()
            proc.join(timeout=10)
        if proc.is_alive():
            proc.kill()
            proc.join()
