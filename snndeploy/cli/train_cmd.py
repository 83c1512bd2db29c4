"""`snndeploy train`."""

from __future__ import annotations

from pathlib import Path

import typer

from ..core.config import TrainConfig, from_mapping, load_yaml
from ..core.errors import SnnDeployError
from ..ui import plots
from .common import THREADS, config_default, console, err_console, one_line_errors, table


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


@one_line_errors
def train_command(
    config: Path | None = typer.Option(None, "--config", metavar="FILE",
                                       help="YAML file of train options (CLI flags override it)."),
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
    yaml = load_yaml(config) if config else {}
    lo, hi = _noise_range(noise_range)
    flags = {"model": model, "dataset": dataset, "data_dir": data_dir, "method": method, "T": T, "epochs": epochs,
             "batch_size": batch_size, "lr": lr, "t0_epochs": t0_epochs, "loss": loss, "noise": noise,
             "noise_lo": lo, "noise_hi": hi, "noise_draws": noise_draws, "seed": seed, "device": device,
             "limit_train": limit_train, "limit_test": limit_test, "image_size": image_size, "augment": augment,
             "out": out}
    if resume:  # the run's own options, with only those the user gave (file or flags) checked against them
        if config:
            from_mapping(TrainConfig, yaml, "train", str(config))  # unknown keys and bad values: one line
        given = {**yaml, **{k: v for k, v in flags.items() if v is not None}}
        cfg = resume_config(given.pop("out", TrainConfig.out), given)
    else:
        base = from_mapping(TrainConfig, yaml, "train", str(config)) if config else TrainConfig()
        cfg = base.replace(**flags)
    try:
        result = train(cfg, resume=resume, overwrite=overwrite, show_progress=not quiet)
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
