"""Training: noisy single-step SNN (the paper's method), direct BPTT, or the ReLU ANN.

One loop, ``fit``, trains for `snndeploy train` (``train``: torchrun, lock, progress bar) and for the training-cost
study's worker (snndeploy/bench/train_study/worker.py): epochs, evaluation and checkpoint commits are written once.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..core import atomic
from ..core.atomic import check_writable
from ..core.config import LR_MAX, TrainConfig
from ..core.device import pick_device
from ..core.errors import SnnDeployError, first_line, short
from ..core.neuron_config import TRAIN_MODE, NeuronConfig
from ..core.outputs import path_text, refuse_existing
from ..core.spec import DataSpec
from ..core.validate import flag_name
from ..data.datasets import Dataset, iterate_batches, load_dataset
from ..models import SpikingNet, build_model
from ..neuron.fused import compile_available
from ..ui.progress import Bar
from . import checkpoint as ckpt
from . import distributed, resume_state
from .accuracy import count_correct


@dataclass
class TrainResult:
    """Where the checkpoint went and what each epoch measured."""

    path: Path
    history: list[dict[str, Any]]
    dataset: Dataset
    model: SpikingNet
    main: bool = True  # False on the other processes of a torchrun job, which write nothing
    # what stood at curves.png when the run started and was approved for replacing (curves_target); None: nothing
    curves_found: tuple[int, ...] | None = None


@dataclass
class EpochStats:
    """Running sums over the batches one process trained on in an epoch, and the epoch's seconds."""

    loss_sum: float = 0.0
    correct: int = 0
    seen: int = 0
    seconds: float = 0.0

    @property
    def loss(self) -> float:
        return self.loss_sum / max(self.seen, 1)

    @property
    def acc(self) -> float:
        return self.correct / max(self.seen, 1)


Scheduler = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts
Batches = Iterable[tuple[torch.Tensor, torch.Tensor]]


def loss_fn(kind: str, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """MSE against one-hot labels (the paper) or cross-entropy."""
    if kind == "mse":
        return F.mse_loss(logits, F.one_hot(labels, logits.shape[1]).to(logits.dtype))
    return F.cross_entropy(logits, labels)


def seeded_model(name: str, spec: DataSpec, neuron: NeuronConfig, seed: int,
                 device: str | torch.device = "cpu", draws: str = "bank") -> SpikingNet:
    """The network every training run starts from: global RNG seeded, then built, taking its noise from
    ``draws`` (a bank read at random offsets, or fresh draws)."""
    torch.manual_seed(seed)
    return build_model(name, spec.input_shape, spec.num_classes, neuron).to(device).set_draws(draws)


def check_lr(lr: float) -> float:
    """``lr`` if Adam can take a step with it (``core.config.LR_MAX``: Adam's first step moves each weight by
    lr / (1 - beta1) = 10 lr, which overflows float32 from lr = 3.4e37 on); one line otherwise. `train`'s
    options are checked by TrainConfig already; this guards the other callers (the `bench train` study)."""
    if not lr <= LR_MAX:
        raise SnnDeployError(f"--lr must be at most {LR_MAX:g} (Adam's steps grow with it; larger values only "
                             f"diverge), got {lr:g}")
    return lr


def make_optimizer(model: nn.Module, lr: float, t0_epochs: int) -> tuple[torch.optim.Adam, Scheduler]:
    """Adam with cosine warm restarts every ``t0_epochs`` epochs (stepped per batch by ``train_epoch``)."""
    opt = torch.optim.Adam(model.parameters(), lr=check_lr(lr))
    return opt, Scheduler(opt, T_0=t0_epochs)


def steps_per_epoch(images: int, batch_size: int, drop_last: bool) -> int:
    """Batches in one epoch of ``images``."""
    return images // batch_size if drop_last else math.ceil(images / batch_size)


def epoch_batches(data: Dataset, batch_size: int, *, seed: int, epoch: int, augment: bool = False,
                  device: str | torch.device = "cpu", drop_last: bool = False,
                  shard: tuple[int, int] = (0, 1)) -> Batches:
    """One epoch of shuffled training batches; the order (and augmentation) depends on seed and epoch only."""
    # folded into the 64 bits torch takes (the identity below 2**64, where every seed up to 1.8e14 lands)
    gen = torch.Generator().manual_seed((seed * 100_003 + epoch) % 2**64)
    return iterate_batches(data.train, data.spec, batch_size, shuffle=True, generator=gen, augment=augment,
                           device=device, drop_last=drop_last, shard=shard)


def sync(device: torch.device) -> None:
    """Wait for the work queued on ``device`` (CUDA), so that a clock read after it counts that work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_epoch(model: SpikingNet, batches: Batches, opt: torch.optim.Optimizer, sched: Scheduler, *, epoch: int,
                steps: int, mode: str, T: int, loss: str = "mse", net: nn.Module | None = None,
                on_batch: Callable[[EpochStats], None] | None = None) -> EpochStats:
    """Train ``model`` on ``batches`` (one epoch of ``steps`` batches, or fewer): forward at T steps with the
    spiking layers in ``mode``, loss, backward, Adam step and a scheduler step at ``epoch + (i + 1) / steps``.

    ``net`` is what the forward goes through when it is not ``model`` itself (the DistributedDataParallel
    wrapper, with ``batches`` this process's shard). The model's mode and train flag are restored afterwards.
    """
    forward = model if net is None else net
    device = next(model.parameters()).device
    stats = EpochStats()
    sync(device)
    t0 = time.perf_counter()
    # A new noise bank every epoch, drawn from the global RNG: a resumed run draws the same one.
    model.renew_noise()
    with model.using(mode, training=True):
        for i, (x, y) in enumerate(batches):
            logits = forward(x, T)
            value = loss_fn(loss, logits, y)
            opt.zero_grad(set_to_none=True)
            value.backward()
            opt.step()
            sched.step(epoch + (i + 1) / steps)
            stats.loss_sum += float(value.detach()) * len(y)
            stats.correct += int((logits.argmax(1) == y).sum())
            stats.seen += len(y)
            if on_batch is not None:
                on_batch(stats)
    sync(device)
    stats.seconds = time.perf_counter() - t0
    return stats


def _optim_tensors(opt: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], list[dict[str, Any]]]:
    """Adam's state as flat tensors plus its JSON-safe param groups."""
    sd = opt.state_dict()
    tensors = {f"opt.{i}.{k}": torch.as_tensor(v) for i, st in sd["state"].items() for k, v in st.items()}
    return tensors, sd["param_groups"]


def _restore_optim(opt: torch.optim.Optimizer, tensors: dict[str, torch.Tensor], groups: list[dict[str, Any]]) -> None:
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        if key.startswith("opt."):
            _, idx, name = key.split(".", 2)
            state.setdefault(int(idx), {})[name] = value
    opt.load_state_dict({"state": state, "param_groups": groups})


def rng_state(device: torch.device) -> dict[str, torch.Tensor]:
    """The random state a resumed run continues from: the CPU generator, and on CUDA the device's own
    generator too, since the training noise is drawn there."""
    state = {"rng.cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["rng.cuda"] = torch.cuda.get_rng_state(device)
    return state


def restore_rng(state: dict[str, torch.Tensor], device: torch.device) -> None:
    """Put back what ``rng_state`` saved. A CPU checkpoint resumed on CUDA has no CUDA stream to continue:
    it resumes from the CUDA generator's current state (correct, but not bit-identical to an uninterrupted run)."""
    if "rng.cpu" not in state:
        raise SnnDeployError("cannot resume: the training state holds no random-generator state")
    torch.set_rng_state(state["rng.cpu"])
    if device.type == "cuda" and "rng.cuda" in state:
        torch.cuda.set_rng_state(state["rng.cuda"], device)


# What a resumed run may change: how long it trains, and where things are (not what they are).
RESUMABLE = ("epochs", "out", "data_dir")


def _resume_config(cfg: TrainConfig, saved: TrainConfig) -> None:
    """A resumed run trains the same thing: every option but RESUMABLE must equal the checkpoint's."""
    for f in dataclasses.fields(TrainConfig):
        if f.name not in RESUMABLE and getattr(saved, f.name) != getattr(cfg, f.name):
            flag = flag_name(f.name)
            had, asked = (f"no {flag}" if v is None else f"{flag} {short(v)}"  # None: the option was not given
                          for v in (getattr(saved, f.name), getattr(cfg, f.name)))
            raise SnnDeployError(f"cannot resume with a different {flag}: the run was trained with {had}, this "
                                 f"command gives {asked}")


def resume_config(out: str | Path, given: dict[str, Any]) -> TrainConfig:
    """The configuration to resume the run in ``out`` with: the run's own, with the options the user gave
    (``given``, unset ones left out) applied; one line naming any given option that would change the result."""
    loaded = ckpt.read_meta(out)[1].training
    if loaded is None:
        raise SnnDeployError(f"cannot resume: {out} holds no training configuration")
    cfg = loaded.replace(**given, out=str(out))
    _resume_config(cfg, loaded)
    return cfg


Evaluate = Callable[[SpikingNet, int], dict[str, Any]]
CURVES = "curves.png"  # the training curves `snndeploy train` draws beside the checkpoint


def _identity(path: Path) -> tuple[int, ...] | None:
    """Which file stands at ``path`` (not following a link), as its metadata tells; None when nothing does."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _check_curves(out: Path) -> tuple[int, ...] | None:
    """Refuse a curves.png in the run folder that the run could not replace: one with no snndeploy checkpoint
    beside it (the record that a run drew it), or a link; what stands there (None: nothing). Called once the
    folder's model.json, if any, is known to be a snndeploy checkpoint the run may replace or resume."""
    curves = out / CURVES
    refuse_existing(curves, True, lambda p: p.is_file() and os.path.lexists(out / ckpt.META))
    return _identity(curves)


def curves_target(out: str | Path, found: tuple[int, ...] | None) -> Path:
    """Where the run's training curves go, once it has trained: ``out``/curves.png, refused (one line) if what
    stands there now is not what the start of the run found and approved (``found``, TrainResult.curves_found):
    a file that appeared during the run was not written by it."""
    curves = Path(out) / CURVES
    if os.path.lexists(curves) and _identity(curves) != found:
        raise SnnDeployError(f"{path_text(curves)} appeared during the run and is never replaced: the checkpoint is "
                             "written, the curves are not drawn")
    return curves


def _check_out_free(cfg: TrainConfig, overwrite: bool) -> None:
    """Refuse a run folder that already holds a checkpoint JSON unless ``overwrite``, in one line that offers
    only what fits: --resume for an unfinished run of the same options, --overwrite for a snndeploy run, -o
    always. A model.json that is not a snndeploy checkpoint is never replaced, --overwrite or not."""
    meta = Path(cfg.out) / ckpt.META
    if not os.path.lexists(meta):
        return
    where = path_text(meta)
    try:
        _, facts, extra = ckpt.read_meta(meta)
    except SnnDeployError:
        raise SnnDeployError(f"{where} is not a snndeploy checkpoint and is never replaced: give -o another "
                             "folder") from None
    if overwrite:
        return
    saved, done = facts.training, extra.get("train_state", {}).get("epoch")
    same = saved is not None and all(getattr(saved, f.name) == getattr(cfg, f.name)
                                     for f in dataclasses.fields(TrainConfig) if f.name not in RESUMABLE)
    if same and isinstance(done, int) and done < cfg.epochs:
        raise SnnDeployError(f"{where} already holds an unfinished run of these options ({done}/{cfg.epochs} epochs): "
                             "--resume continues it, --overwrite replaces it, or give -o another folder")
    what = "a finished run of these options" if same else "a run of other options"
    raise SnnDeployError(f"{where} already holds {what}: --overwrite replaces it, or give -o another folder")


def train(cfg: TrainConfig, *, resume: bool = False, overwrite: bool = False, show_progress: bool = True,
          log: Any = None, on_data: Callable[[Dataset], None] | None = None) -> TrainResult:
    """`snndeploy train`: ``fit`` per ``cfg`` under torchrun when launched by it, with a progress bar, committing
    a checkpoint to ``cfg.out`` after every epoch. The run folder is locked for the run; a folder that already
    holds a checkpoint is refused unless ``resume`` or ``overwrite``. ``log(row)``: each epoch's row (main process);
    ``on_data(data)``: the loaded dataset, before the first epoch (main process)."""
    job = distributed.setup(cfg.device)
    try:
        lock = atomic.RunLock(cfg.out, "-o") if job.main else contextlib.nullcontext()
        with lock:
            if job.main and not resume:
                _check_out_free(cfg, overwrite)
            found = _check_curves(Path(cfg.out)) if job.main else None
            device = pick_device(cfg.device, job.local_rank)
            data = load_dataset(cfg.dataset, cfg.data_dir, limit_train=cfg.limit_train, limit_test=cfg.limit_test,
                                image_size=cfg.image_size)
            if on_data is not None and job.main:
                on_data(data)
            with Bar(enabled=show_progress and job.main) as bar:
                tasks: list[int] = []

                def start(epoch: int, steps: int) -> None:
                    tasks.append(bar.start(f"epoch {epoch + 1}/{cfg.epochs}", steps))
                    if len(tasks) == 1 and cfg.method == "noise" and compile_available(device.type):
                        # the first batch compiles the fused neuron kernels: seconds of a still bar otherwise
                        bar.advance(tasks[-1], "compiling the neuron kernels (PyTorch caches them for later runs)",
                                    steps=0)

                def batch(epoch: int, s: EpochStats) -> None:
                    bar.advance(tasks[-1], f"loss {s.loss:.4f} acc {s.acc:.3f}")

                def epoch_done(row: dict[str, Any]) -> None:
                    bar.finish(tasks[-1], f"loss {row['train_loss']:.4f} acc {row['train_acc']:.3f} "
                                          f"val {row['val_acc']:.3f} ({row['epoch_s']:.1f}s)")
                    if log is not None and job.main:
                        log(row)

                result = fit(cfg, epoch_done, data=data, device=device, dist=job, resume=resume, on_start=start,
                             on_batch=batch)
            return dataclasses.replace(result, curves_found=found)
    finally:
        distributed.teardown(job)


def with_absolute_data_dir(cfg: TrainConfig) -> TrainConfig:
    """``cfg`` with its data folder made absolute (``~`` expanded, links kept): the checkpoint saves it, and a
    relative one would name whatever folder of that name is beside the command that reads the checkpoint."""
    if cfg.data_dir is None:
        return cfg
    return cfg.replace(data_dir=os.path.abspath(os.path.expanduser(cfg.data_dir)))


def fit(cfg: TrainConfig, on_epoch: Callable[[dict[str, Any]], bool | None] | None = None, *,
        data: Dataset | None = None, device: torch.device | None = None, dist: distributed.Dist | None = None,
        resume: bool = False, evaluate: Evaluate | None = None, commit: bool = True,
        on_start: Callable[[int, int], None] | None = None,
        on_batch: Callable[[int, EpochStats], None] | None = None) -> TrainResult:
    """The one training loop (`snndeploy train`, the `bench train` study): the seeded model, Adam with warm
    restarts, then epoch by epoch: ``train_epoch`` over this process's shard of the epoch's batches, the
    evaluation, the epoch's row in the history, ``on_epoch(row)`` (True: stop after this epoch) and, with
    ``commit``, the checkpoint committed to ``cfg.out`` by the main process: weights, history and the training
    state (optimizer, scheduler, random generators) a resumed run continues from bit for bit.

    A row: epoch (from 1), train_loss and train_acc (summed over the processes), the evaluation's numbers, lr,
    epoch_s (training seconds), eval_s, wall_s (training and evaluation seconds since the run began).
    ``evaluate(model, epoch)`` gives the evaluation's numbers (epoch from 0; {} to skip it); by default val_acc,
    the test accuracy at ``cfg.T`` in the training mode over every process's shard.

    ``data``: loaded per ``cfg`` when None; ``device``: ``cfg.device`` (this process's GPU under torchrun);
    ``dist``: this process's place in a torchrun job (none: a single process); ``resume``: continue the run in
    ``cfg.out``; ``on_start(epoch, steps)`` before an epoch's first batch and ``on_batch(epoch, stats)`` after
    each batch: progress. A run stopped by ``on_epoch`` records the epochs it trained as its ``epochs``.
    """
    dist = dist or distributed.Dist()
    cfg = with_absolute_data_dir(cfg)
    check_lr(cfg.lr)
    device = device or pick_device(cfg.device, dist.local_rank)
    distributed.check_batch(cfg.batch_size, dist)
    out = Path(cfg.out)
    if data is None:
        data = load_dataset(cfg.dataset, cfg.data_dir, limit_train=cfg.limit_train, limit_test=cfg.limit_test,
                            image_size=cfg.image_size)
    model = seeded_model(cfg.model, data.spec, cfg.neuron, cfg.seed, device, cfg.noise_draws)
    if commit and dist.main:
        check_writable(out)
    net = DistributedDataParallel(model) if dist.active else model
    opt, sched = make_optimizer(model, cfg.lr, cfg.t0_epochs)
    history: list[dict[str, Any]] = []
    start_epoch, wall = 0, 0.0
    if resume:
        start_epoch, history = _resume(cfg, model, opt, sched, device)
        wall = history[-1]["wall_s"] if history else 0.0
    if dist.rank:  # every process draws its own noise; rank 0 keeps the single-process stream
        torch.manual_seed(cfg.seed + 7919 * dist.rank + start_epoch)
    mode, T = TRAIN_MODE[cfg.method], cfg.T
    shard = (dist.rank, dist.world)

    def val_acc(model: SpikingNet, epoch: int) -> dict[str, Any]:
        right, total = count_correct(model, data.test, data.spec, T, mode, device=device, shard=shard)
        right, total = distributed.all_sum([right, total], dist, device)
        return {"val_acc": right / max(total, 1)}

    evaluate = evaluate or val_acc
    # Several processes drop the last partial batch, so every process gets an equal share of each one.
    drop_last = dist.active
    steps = steps_per_epoch(len(data.train), cfg.batch_size, drop_last)
    for epoch in range(start_epoch, cfg.epochs):
        if on_start is not None:
            on_start(epoch, steps)
        batches = epoch_batches(data, cfg.batch_size, seed=cfg.seed, epoch=epoch, augment=cfg.augment,
                                device=device, drop_last=drop_last, shard=shard)
        stats = train_epoch(model, batches, opt, sched, epoch=epoch, steps=steps, mode=mode, T=T, loss=cfg.loss,
                            net=net, on_batch=None if on_batch is None else functools.partial(on_batch, epoch))
        t_eval = time.perf_counter()
        loss_sum, correct, seen = distributed.all_sum([stats.loss_sum, stats.correct, stats.seen], dist, device)
        _check_converging(model, loss_sum / seen, epoch, commit)
        judged = evaluate(model, epoch)
        eval_s = time.perf_counter() - t_eval
        wall += stats.seconds + eval_s
        row = {"epoch": epoch + 1, "train_loss": loss_sum / seen, "train_acc": correct / seen, **judged,
               "lr": opt.param_groups[0]["lr"], "epoch_s": stats.seconds, "eval_s": eval_s, "wall_s": wall}
        history.append(row)
        stop = bool(on_epoch(row)) if on_epoch is not None else False
        if commit and dist.main:
            trained = dataclasses.replace(cfg, epochs=epoch + 1) if stop else cfg
            _commit(out, model, opt, sched, device, data, trained, history)
        if stop:
            break
    distributed.barrier(dist)
    model.eval()
    return TrainResult(path=out / ckpt.META, history=history, dataset=data, model=model, main=dist.main)


def _check_converging(model: SpikingNet, loss: float, epoch: int, commit: bool) -> None:
    """Stop a run whose loss or weights stopped being finite: one line naming the epoch (from 0 here), before its
    row is recorded or anything is written; the last good checkpoint stays as it is."""
    if math.isfinite(loss) and all(bool(torch.isfinite(p).all()) for p in model.parameters()):
        return
    why = f"loss is {loss}" if not math.isfinite(loss) else "its weights are not finite"
    # a committing run has a checkpoint of every epoch before this one (trained or resumed from)
    kept = f"the checkpoint of epoch {epoch} is kept; " if epoch else "no checkpoint was written; "
    kept = kept if commit else ""
    raise SnnDeployError(f"training diverged in epoch {epoch + 1} ({why}); {kept}lower --lr")


def _resume(cfg: TrainConfig, model: SpikingNet, opt: torch.optim.Optimizer, sched: Scheduler,
            device: torch.device) -> tuple[int, list[dict[str, Any]]]:
    """Put the training state of the run in ``cfg.out`` back into model, optimizer, scheduler and random
    generators: (the epochs it trained, its history)."""
    out = Path(cfg.out)
    loaded = ckpt.load(out, device, with_train_state=True)
    if "train_state" not in loaded.extra or loaded.facts.training is None:
        raise SnnDeployError(f"cannot resume: {out} holds no training state")
    _resume_config(cfg, loaded.facts.training)
    info = loaded.extra["train_state"]
    where = str(loaded.path)
    history = resume_state.check_history(loaded.extra.get("history", []), info["epoch"], where)
    resume_state.check_scheduler(info["scheduler"], sched.state_dict(), where)
    template = opt.state_dict()["param_groups"]
    resume_state.check_param_groups(info["param_groups"], template, where)
    resume_state.check_tensors(loaded.train_state, list(model.parameters()), bool(template[0]["amsgrad"]), where)
    if info["epoch"] >= cfg.epochs:
        raise SnnDeployError(f"cannot resume: {out} already trained {info['epoch']} of {cfg.epochs} epochs; "
                             "raise --epochs")
    try:  # checked above; a torch that still refuses is one line too
        _restore_optim(opt, loaded.train_state, info["param_groups"])
        sched.load_state_dict(dict(info["scheduler"]))
        restore_rng(loaded.train_state, device)
    except (RuntimeError, ValueError, TypeError, KeyError) as exc:
        raise SnnDeployError(f"cannot resume: {where}: the training state does not fit this run "
                             f"({short(first_line(exc))})") from None
    model.load_state_dict(loaded.model.state_dict())
    return info["epoch"], history


def _commit(out: Path, model: SpikingNet, opt: torch.optim.Optimizer, sched: Scheduler, device: torch.device,
            data: Dataset, cfg: TrainConfig, history: list[dict[str, Any]]) -> None:
    """Commit the checkpoint after an epoch: weights, facts, history, and the state a resumed run needs."""
    opt_tensors, groups = _optim_tensors(opt)
    state = {**opt_tensors, **rng_state(device)}
    facts = ckpt.ArtifactFacts(model=cfg.model, data=data.spec, neuron=cfg.neuron, training=cfg)
    extra = {"history": history,
             "train_state": {"epoch": len(history), "param_groups": groups, "scheduler": sched.state_dict()}}
    ckpt.save(out, model, facts, json.loads(json.dumps(extra, default=float)), state)
