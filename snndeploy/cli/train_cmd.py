"""`snndeploy train`."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from .. import presets
from ..core.config import TrainConfig, from_mapping, load_yaml
from ..core.errors import SnnDeployError
from ..core.outputs import path_text
from ..core.validate import flag_name
from ..ui import plots
from .common import THREADS, config_default, console, err_console, one_line_errors, table

if TYPE_CHECKING:
    from ..data.datasets import Dataset


def _default(name: str, flags: tuple[str, str] | None = None) -> str | bool:
    """TrainConfig's default of an option that defaults to None (the config file or TrainConfig fills it)."""
    return config_default(TrainConfig, name, flags)


def _noise_range(text: str | None) -> tuple[float | None, float | None]:
    if text is None:
        return None, None
    try:
        lo, hi = (float(p) for p in text.split(","))
    except ValueError:
        raise SnnDeployError(f"--noise-range must be 'lo,hi' (e.g. 0,1), got '{text}'") from None
    return lo, hi


# Adam moves each weight by about lr per step, so lr x steps bounds how far a run can take its initial weights. An
# easy 3-class folder of 240 training images (4 batches x 30 epochs) reached 65 % at 1e-4 (0.012) and 95 % by
# epoch 13 at 1e-3 (0.052); the bundled sample's default run has 0.126. Below this, `train` suggests --lr 1e-3.
LR_STEPS_LOW = 0.05
SMALL_LR = 1e-3
CLASSES_SHOWN = 8


def _number(x: float) -> str:
    """A learning rate as one writes it: 1e-4, 2.5e-4."""
    mantissa, exponent = f"{x:.3e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


def _count(n: int, noun: str, plural: str = "") -> str:
    """'1 epoch', '4 epochs'; '1 batch', '4 batches' (``plural`` given)."""
    return f"{n} {noun}" if n == 1 else f"{n} {plural or noun + 's'}"


def _classes(names: tuple[str, ...]) -> str:
    """The class names for the data summary, each cut short, at most CLASSES_SHOWN of them."""
    shown = [n if len(n) <= 24 else n[:21] + "..." for n in names[:CLASSES_SHOWN]]
    more = f", ... ({len(names) - CLASSES_SHOWN} more)" if len(names) > CLASSES_SHOWN else ""
    return ", ".join(shown) + more


def data_summary(cfg: TrainConfig, data: Dataset, lr_given: bool) -> list[str]:
    """The lines `train` prints before its first epoch: the classes, images per split and how the split was made,
    image size and channels (and resizing), and a hint when an lr that was not given moves the weights little."""
    spec = data.spec
    where = f" {path_text(cfg.data_dir)}" if cfg.data_dir else ""
    limits = [f"{flag_name(k)} {getattr(cfg, k)}" for k in ("limit_train", "limit_test") if getattr(cfg, k)]
    lines = [f"data: {cfg.dataset}{where}: {len(spec.class_names)} classes ({_classes(spec.class_names)})",
             f"split: {len(data.train)} train / {len(data.test)} test images"
             + (f" ({', '.join(limits)})" if limits else "") + f" from {data.split}"]
    kind = {1: "gray", 3: "RGB"}.get(spec.channels, f"{spec.channels} channels")
    size = f"images: {spec.channels} x {spec.height} x {spec.width} ({kind})"
    if cfg.dataset == "folder":
        to = "--image-size" if cfg.image_size else "the first image's size"
        total = len(data.train) + len(data.test)
        size += f"; {data.resized} of {total} resized to {spec.height} x {spec.width} ({to})" if data.resized else \
            "; none resized"
    lines.append(size)
    batches = math.ceil(len(data.train) / cfg.batch_size)
    steps = batches * cfg.epochs
    if not lr_given and cfg.lr * steps < LR_STEPS_LOW and cfg.lr < SMALL_LR:
        per = f"{_count(batches, 'batch', 'batches')} x {_count(cfg.epochs, 'epoch')}"
        lines.append(f"hint: --lr {_number(cfg.lr)} for {_count(steps, 'step')} ({per}) barely moves the weights: "
                     f"try --lr {_number(SMALL_LR)} (small datasets) or more --epochs")
    return lines


@one_line_errors
def train_command(
    config: str | None = typer.Option(None, "--config", help=f"a preset ({', '.join(presets.names('train'))}: the "
                                      "paper's runs) or a YAML file of train options; the flags below override it."),
    model: str | None = typer.Option(None, help="small-cnn, paper-cnn, vgg16, resnet18.",
                                     show_default=_default("model")),
    dataset: str | None = typer.Option(None, help="sample (bundled), mnist, fashion-mnist, cifar10, folder.",
                                       show_default=_default("dataset")),
    data_dir: str | None = typer.Option(None, "--data-dir", help="torchvision root or image folder; works offline."),
    method: str | None = typer.Option(None, help="noise (the paper's T=1 method), bptt, ann.",
                                      show_default=_default("method")),
    T: int | None = typer.Option(None, "--T", help="time steps for --method bptt (noise and ann train at T=1).",
                                 show_default=_default("T")),
    epochs: int | None = typer.Option(None, help="epochs.", show_default=_default("epochs")),
    batch_size: int | None = typer.Option(None, "--batch-size", help="batch size.",
                                          show_default=_default("batch_size")),
    lr: float | None = typer.Option(None, help="Adam learning rate.", show_default=_default("lr")),
    t0_epochs: int | None = typer.Option(None, "--t0-epochs", help="cosine warm-restart period in epochs.",
                                         show_default=_default("t0_epochs")),
    loss: str | None = typer.Option(None, help="mse (against one-hot targets) or ce.", show_default=_default("loss")),
    noise: str | None = typer.Option(None, help="gaussian or uniform.", show_default=_default("noise")),
    noise_range: str | None = typer.Option(None, "--noise-range", help="lo,hi of the noise.",
                                           show_default=f"{_default('noise_lo')},{_default('noise_hi')}"),
    noise_draws: str | None = typer.Option(None, "--noise-draws",
                                           help="bank (pre-drawn, read at random offsets) or fresh.",
                                           show_default=_default("noise_draws")),
    seed: int | None = typer.Option(None, help="random seed.", show_default=_default("seed")),
    device: str | None = typer.Option(None, help="cpu, cuda or cuda:N.", show_default=_default("device")),
    limit_train: int | None = typer.Option(None, "--limit-train", help="use only the first N training images."),
    limit_test: int | None = typer.Option(None, "--limit-test", help="use only the first N test images."),
    image_size: int | None = typer.Option(None, "--image-size", help="resize folder datasets to N x N."),
    augment: bool | None = typer.Option(None, "--augment/--no-augment", help="random crop + flip (RGB data).",
                                        show_default=_default("augment", ("augment", "no-augment"))),
    out: str | None = typer.Option(None, "--out", "-o", help="run folder for the checkpoint.",
                                   show_default=_default("out")),
    resume: bool = typer.Option(False, "--resume", help="continue the run in --out from its last epoch; only "
                                "--epochs (and -q) may differ from the run's own options."),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace the run in --out (the files snndeploy "
                                   "wrote there; others are kept)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar."),
    threads: int | None = THREADS,
) -> None:
    """Train an SNN: by default the paper's noisy single-step (T=1) network on the bundled MNIST sample."""
    # PyTorch: the other commands run without it
    from ..training.train import curves_target, resume_config, train

    if resume and overwrite:
        raise SnnDeployError("--resume continues a run and --overwrite replaces it: give one")
    path = presets.resolve(config, "train") if config else None
    where = presets.where(config, path) if config and path else ""  # how messages name the file
    yaml = load_yaml(path) if path else {}
    lo, hi = _noise_range(noise_range)
    flags = {"model": model, "dataset": dataset, "data_dir": data_dir, "method": method, "T": T, "epochs": epochs,
             "batch_size": batch_size, "lr": lr, "t0_epochs": t0_epochs, "loss": loss, "noise": noise,
             "noise_lo": lo, "noise_hi": hi, "noise_draws": noise_draws, "seed": seed, "device": device,
             "limit_train": limit_train, "limit_test": limit_test, "image_size": image_size, "augment": augment,
             "out": out}
    given_flags = {k: v for k, v in flags.items() if v is not None}
    if resume:  # the run's own options, with only those the user gave (file or flags) checked against them
        if path:  # unknown keys and bad values: one line, naming the file or the flag that gave the value
            from_mapping(TrainConfig, yaml, "train", where, over=given_flags)
        given = {**yaml, **given_flags}
        cfg = resume_config(given.pop("out", TrainConfig.out), given)
    else:  # the flags win over the file; an error names the file and key, or the flag, that gave the value
        cfg = from_mapping(TrainConfig, yaml, "train", where, over=given_flags) if path else TrainConfig().replace(
            **flags)
    lr_given = lr is not None or "lr" in yaml or resume

    def describe(data: Dataset) -> None:
        console.print("\n".join(data_summary(cfg, data, lr_given)), highlight=False, soft_wrap=True)

    try:
        result = train(cfg, resume=resume, overwrite=overwrite, show_progress=not quiet,
                       on_data=None if quiet else describe)
    except KeyboardInterrupt:  # say what is kept and how to go on; one_line_errors ends it ("interrupted", 130)
        kept = (Path(cfg.out) / "model.json").is_file()
        err_console.print(f"stopped: the last finished epoch is kept in {cfg.out}; carry on with snndeploy train "
                          f"-o {cfg.out} --resume" if kept else f"stopped before the first epoch finished: nothing "
                          f"was written to {cfg.out}", highlight=False, soft_wrap=True)
        raise
    if not result.main:
        return
    rows = [[h["epoch"], f"{h['train_loss']:.4f}", f"{100 * h['train_acc']:.2f}", f"{100 * h['val_acc']:.2f}",
             f"{h['epoch_s']:.1f}"] for h in result.history]
    console.print(table(f"{cfg.method} training of {cfg.model} on {cfg.dataset}",
                        ["epoch", "loss", "train %", f"test % (T={cfg.T})", "time s"], rows[-10:]))
    curves = plots.training_curves(result.history, curves_target(cfg.out, result.curves_found),
                                   f"{cfg.model} on {cfg.dataset}", loss=cfg.loss, T=cfg.T)
    console.print(f"checkpoint: {result.path}\ncurves: {curves}", highlight=False)
