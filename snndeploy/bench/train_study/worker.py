"""One training method in its own fresh process: seconds per epoch, peak memory, test accuracy per epoch.

Each job runs in a new 'spawn' process, so its peak RSS belongs to that method alone. Memory is the
peak over the first training epoch (Adam's state included) minus the process's RSS after imports,
data loading and one single-image warm-up step (which pages in the kernels' code, the same for every
method), the peak being reset there; it is read before any evaluation, whose own T-step batches would
otherwise set the high-water mark. On CUDA it is ``torch.cuda.max_memory_allocated`` over the same span.

The process reports each training batch and each test to its parent (a progress bar there). It ignores Ctrl-C:
the terminal sends SIGINT to the whole process group, and the parent, interrupted too, ends it (a child that
raised KeyboardInterrupt itself would print a traceback and race the parent over the pipe).
"""

from __future__ import annotations

import dataclasses
import gc
import math
import multiprocessing as mp
import signal
import statistics
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
from ...core.neuron_config import NeuronConfig
from ...data.datasets import iterate_batches, load_dataset
from ...models import build_model
from ...training import checkpoint
from ...training.accuracy import accuracy
from ...training.train import (
    TRAIN_MODE,
    EpochStats,
    epoch_batches,
    loss_fn,
    make_optimizer,
    seeded_model,
    steps_per_epoch,
    train_epoch,
)
from ..memory import peak_rss_mb, rss_baseline_mb
from .peers import spikingjelly_net

PEER = "spikingjelly"
EVAL_MODE = {"noise": "stage3", "bptt": "lif", "ann": "ann"}


@dataclass(frozen=True)
class Job:
    """What one process trains and how it is judged."""
    label: str
    method: str  # noise | bptt | ann | spikingjelly (multi-step LIF BPTT, timed over max_batches)
    model: str
    dataset: str
    T: int  # training steps (1 for noise and ann)
    eval_T: int  # steps of the evaluation that counts (N for noise and bptt, 1 for ann)
    epochs: int = 1
    batch_size: int = 64
    lr: float = 1e-4
    t0_epochs: int = 100
    noise: str = "gaussian"
    seed: int = 0
    device: str = "cpu"
    data_dir: str | None = None
    limit_train: int | None = None
    limit_test: int | None = None
    augment: bool = False  # random crop + flip of RGB training images
    eval_every_epoch: bool = True  # False: test only after the last epoch
    stop_at: float | None = None  # stop after the first epoch whose test accuracy reaches this
    max_batches: int = 20  # the peer's timed batches (after 2 untimed warm-up batches)
    checkpoint: str | None = None  # folder for the trained model (our methods)


def planned_steps(job: Job, train_images: int) -> int:
    """How many progress steps ``job`` reports: its training batches and its tests (fewer if it stops at a target)."""
    if job.method == PEER:
        return max(1, min(job.max_batches + 2, train_images // job.batch_size))
    tests = job.epochs if job.eval_every_epoch else 1
    return job.epochs * steps_per_epoch(train_images, job.batch_size, drop_last=False) + tests


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _evaluate(model: Any, job: Job, data: Any, device: torch.device, epoch: int) -> dict[str, float]:
    """Test accuracy as the method is judged (noise: stage 3 at T = N; also stage 1 at T = 1)."""
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):  # evaluation noise leaves training's random stream alone
        torch.manual_seed(job.seed + 1000 + epoch)
        out = {"accuracy": accuracy(model, data.test, data.spec, job.eval_T, EVAL_MODE[job.method], device=device)}
        if job.method == "noise":
            out["accuracy_stage1"] = accuracy(model, data.test, data.spec, 1, "stage1", device=device)
    return out


def _save(model: Any, job: Job, data: Any, neuron: Any, history: list[dict[str, Any]]) -> str:
    cfg = TrainConfig(model=job.model, dataset=job.dataset, data_dir=job.data_dir, method=job.method, T=job.T,
                      epochs=len(history), batch_size=job.batch_size, lr=job.lr, t0_epochs=job.t0_epochs,
                      noise=job.noise, seed=job.seed, device=job.device, limit_train=job.limit_train,
                      limit_test=job.limit_test, augment=job.augment, out=str(job.checkpoint))
    facts = checkpoint.ArtifactFacts(model=job.model, data=data.spec, neuron=neuron, training=cfg)
    return str(checkpoint.save(job.checkpoint, model, facts, {"history": history}))


def train_ours(job: Job, data: Any, device: torch.device, send: Callable[[str, Any], None]) -> dict[str, Any]:
    """Train per ``job`` with the epoch function, optimizer, scheduler and seeding of `snndeploy train`."""
    neuron = NeuronConfig(noise=job.noise)
    model = seeded_model(job.model, data.spec, neuron, job.seed, device)
    opt, sched = make_optimizer(model, job.lr, job.t0_epochs)
    steps = steps_per_epoch(len(data.train), job.batch_size, drop_last=False)
    history: list[dict[str, Any]] = []
    memory: dict[str, float | None] = {}
    train_cum = wall_cum = 0.0
    for epoch in range(job.epochs):
        batches = epoch_batches(data, job.batch_size, seed=job.seed, epoch=epoch, augment=job.augment, device=device)

        def batch_done(s: EpochStats, epoch: int = epoch) -> None:
            send("step", f"epoch {epoch + 1}/{job.epochs}, loss {s.loss:.4f}")

        stats = train_epoch(model, batches, opt, sched, epoch=epoch, steps=steps, mode=TRAIN_MODE[job.method],
                            T=job.T, on_batch=batch_done)
        train_s = stats.seconds
        if epoch == 0:
            cuda = torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None
            memory = {"peak_rss_mb": peak_rss_mb(), "cuda_peak_mb": cuda}
        row: dict[str, Any] = {"epoch": epoch + 1, "train_loss": stats.loss, "train_s": train_s}
        t1 = time.perf_counter()
        if job.eval_every_epoch or epoch == job.epochs - 1:
            row.update(_evaluate(model, job, data, device, epoch))
            send("step", f"epoch {epoch + 1}/{job.epochs}, test {100 * row['accuracy']:.2f}%")
        train_cum += train_s
        wall_cum += train_s + time.perf_counter() - t1
        row.update(eval_s=time.perf_counter() - t1, train_s_cum=train_cum, wall_s_cum=wall_cum)
        history.append(row)
        send("epoch", row)
        if job.stop_at is not None and row.get("accuracy", -1.0) >= job.stop_at:
            break
    model.eval()
    path = _save(model, job, data, neuron, history) if job.checkpoint else None
    epoch_s = statistics.median(h["train_s"] for h in history)
    return {"history": history, "epoch_s": epoch_s, "samples_per_s": len(data.train) / epoch_s,
            "checkpoint": path, **memory}


def train_spikingjelly(job: Job, data: Any, device: torch.device, send: Callable[[str, Any], None]) -> dict[str, Any]:
    """SpikingJelly's multi-step LIF trained by BPTT at T steps, same architecture, timed over max_batches."""
    from spikingjelly.activation_based import functional, neuron, surrogate


    torch.manual_seed(job.seed)
    model = build_model(job.model, data.spec.input_shape, data.spec.num_classes).to(device)
    net = spikingjelly_net(model).to(device).train()  # shares the stem, body and head weights with ``model``
    for m in net.modules():
        if isinstance(m, neuron.LIFNode):
            m.surrogate_function = surrogate.ATan(alpha=3.0)  # eq. 4 with a = 3, as ours
    opt = torch.optim.Adam(model.parameters(), lr=job.lr)
    gen = torch.Generator().manual_seed(job.seed)
    times: list[float] = []
    losses: list[float] = []
    batches = iterate_batches(data.train, data.spec, job.batch_size, shuffle=True, generator=gen, device=device,
                              augment=job.augment, drop_last=True)
    for i, (x, y) in enumerate(batches):
        if i >= job.max_batches + 2:
            break
        _sync(device)
        t0 = time.perf_counter()
        out = net(x.unsqueeze(0).repeat(job.T, *([1] * x.dim())))
        loss = loss_fn("mse", model.head(out.flatten(2)).mean(0), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        functional.reset_net(net)
        _sync(device)
        losses.append(float(loss.detach()))
        if i >= 2:  # the first two batches warm up allocator and kernels
            times.append(time.perf_counter() - t0)
        send("step", f"batch {i + 1}, loss {losses[-1]:.4f}")
    if not times:
        raise SnnDeployError(f"{job.label}: the training set is smaller than 3 batches of {job.batch_size}")
    per_batch = statistics.median(times)
    send("epoch", {"epoch": 1, "train_s": sum(times), "batches": len(times)})
    return {"history": [], "batches_timed": len(times), "batch_s": per_batch, "losses": losses,
            "epoch_s": per_batch * math.ceil(len(data.train) / job.batch_size),
            "samples_per_s": job.batch_size / per_batch, "peak_rss_mb": peak_rss_mb(),
            "cuda_peak_mb": torch.cuda.max_memory_allocated(device) / 2**20 if device.type == "cuda" else None}


def warm_up(job: Job, data: Any, device: torch.device) -> None:
    """One single-image training step on a throwaway copy of the network, so that the code pages of the
    kernels it loads count in the baseline rather than as the method's memory."""
    model = build_model(job.model, data.spec.input_shape, data.spec.num_classes).to(device)
    opt, sched = make_optimizer(model, job.lr, job.t0_epochs)
    batch = next(iterate_batches(data.train, data.spec, 1, shuffle=False, device=device))
    train_epoch(model, [batch], opt, sched, epoch=0, steps=1, mode=TRAIN_MODE.get(job.method, "lif"), T=job.T)


def _child(job: Job, conn: Any) -> None:
    """Entry point of the fresh process: load data, take the memory baseline, train, report."""
    def send(kind: str, payload: Any) -> None:
        conn.send((kind, payload))

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _sigint(signal.SIG_UNBLOCK)  # blocked by the parent while it started this process
    try:
        device = pick_device(job.device)
        data = load_dataset(job.dataset, job.data_dir, limit_train=job.limit_train, limit_test=job.limit_test)
        warm_up(job, data, device)
        gc.collect()
        baseline = rss_baseline_mb()
        cuda_base = 0.0
        if device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(device)
            cuda_base = torch.cuda.memory_allocated(device) / 2**20
        run = train_spikingjelly if job.method == PEER else train_ours
        result = run(job, data, device, send)
        result.update(label=job.label, job=dataclasses.asdict(job), rss_baseline_mb=baseline,
                      memory_mb=result["peak_rss_mb"] - baseline, threads=torch.get_num_threads(),
                      train_images=len(data.train), test_images=len(data.test))
        if result["cuda_peak_mb"] is not None:
            result["memory_mb"] = result["cuda_peak_mb"] - cuda_base
        send("done", result)
    except SnnDeployError as exc:
        send("error", str(exc))
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
    if job.method not in (*TRAIN_MODE, PEER):
        raise SnnDeployError(f"unknown method '{job.method}'; choose one of: {', '.join(TRAIN_MODE)}")
    if job.checkpoint:
        Path(job.checkpoint).mkdir(parents=True, exist_ok=True)
    ctx = mp.get_context("spawn")
    receive, send = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_child, args=(job, send), daemon=True)
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
