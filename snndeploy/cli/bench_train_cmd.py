"""`snndeploy bench train`: the paper's training-cost claims, measured side by side in one run."""

from __future__ import annotations

import typer

from ..bench.train_study.config import QUICK, TrainCostConfig, config_from_options
from ..bench.train_study.report import STATE, verdict
from ..core.errors import SnnDeployError
from .common import THREADS, console, one_line_errors, parse_values, table


def _summary(result: dict) -> None:
    rows = []
    for label, row in result["rows"].items():
        tt = row["time_to_target"]
        reach = "-" if tt is None else (f"{tt['train_s']:.1f}" if tt["reached"] else "not reached")
        ratio = row["epoch_vs_bptt"]
        rows.append([label, f"{row['epoch_s']:.2f}", f"{row['samples_per_s']:.0f}",
                     "-" if ratio is None else f"{ratio:.3f}x", f"{row['memory_mb']:.0f}", reach])
    console.print(table(f"training cost, {result['config']['model']} on {result['data']['name']} "
                        f"(target {100 * result['config']['target']:.1f}%)",
                        ["method", "s / epoch", "samples / s", f"vs {result['bptt_label']}", "peak MiB",
                         "s to target"], rows))
    conv = result["conversion"]
    if conv is not None and conv["reference"] is not None:
        first = conv["first_T_reaching_reference"]
        where = f"at T = {first}" if first is not None else f"never within T = {conv['max_T']}"
        console.print(f"conversion reaches the stage-3 T = {conv['reference_T']} accuracy "
                      f"({100 * conv['reference']:.2f}%) {where}", highlight=False)
    for ch in result["checks"]:
        console.print(verdict(ch), highlight=False)


D = TrainCostConfig  # the options' defaults: one source for the command, its help and the library


def _preset(name: str) -> str:
    """The default --help shows for an option that --quick changes: TrainCostConfig's, then the preset's."""
    default = getattr(TrainCostConfig, name)
    return f"{'all' if default is None else default}; --quick: {QUICK[name]}"


@one_line_errors
def bench_train_command(
    model: str = typer.Option(D.model, help="small-cnn, paper-cnn, vgg16, resnet18."),
    dataset: str = typer.Option(D.dataset, help="sample (bundled), mnist, fashion-mnist, cifar10, folder."),
    data_dir: str | None = typer.Option(None, "--data-dir", help="torchvision root or image folder; works offline."),
    T: int = typer.Option(D.T, "--T", help="N: BPTT trains at T = N; the noisy model is judged at stage 3, T = N."),
    epochs: int | None = typer.Option(None, help="epochs of every method.", show_default=_preset("epochs")),
    target: float = typer.Option(D.target, help="test accuracy whose training time is compared, in (0, 1]."),
    stop_at_target: bool = typer.Option(D.stop_at_target, "--stop-at-target",
                                        help="halt each method once it reaches --target."),
    batch_size: int = typer.Option(D.batch_size, "--batch-size", help="training batch size of every method."),
    lr: float | None = typer.Option(None, help="Adam learning rate.", show_default=_preset("lr")),
    limit_train: int | None = typer.Option(None, "--limit-train", help="first N training images only (every phase).",
                                           show_default=_preset("limit_train")),
    limit_test: int | None = typer.Option(None, "--limit-test", help="first N test images only (every phase).",
                                          show_default=_preset("limit_test")),
    seed: int = typer.Option(D.seed, "--seed", help="random seed, the same for every method: initial weights, "
                             "batch order, noise draws."),
    device: str = typer.Option(D.device, "--device", help="cpu or cuda."),
    augment: bool = typer.Option(D.augment, "--augment/--no-augment", help="random crop + flip (RGB data)."),
    methods: list[str] | None = typer.Option(None, "--methods", help="which of noise, bptt, ann to train.",
                                             show_default=",".join(D.methods)),
    uniform: bool = typer.Option(D.uniform, "--uniform/--no-uniform", help="also train with uniform noise (Fig. 7)."),
    peer: bool = typer.Option(D.peer, "--peer/--no-peer", help="time SpikingJelly's BPTT when installed."),
    peer_batches: int | None = typer.Option(None, "--peer-batches", help="batches timed for the SpikingJelly row.",
                                            show_default=_preset("peer_batches")),
    calib_images: int | None = typer.Option(None, "--calib-images", help="training images for conversion thresholds.",
                                            show_default=_preset("calib_images")),
    conversion_max_T: int | None = typer.Option(None, "--conversion-max-T", help="longest T run by the converted SNN.",
                                                show_default=_preset("conversion_max_T")),
    repeats: int | None = typer.Option(None, "--repeats", help="noise draws averaged in the stage-3 sweeps.",
                                       show_default=_preset("repeats")),
    quick: bool = typer.Option(False, "--quick", help="a first look in minutes: the --quick values shown here "
                               "(options given explicitly win)."),
    resume: bool = typer.Option(False, "--resume", help="carry on an interrupted run in --out (same options): "
                                "finished phases are kept."),
    overwrite: bool = typer.Option(False, "--overwrite", help="replace the run in --out: its report and PNGs are "
                                   "replaced as the new ones are written (foreign files are kept)."),
    out: str = typer.Option(D.out, "--out", "-o", help="folder for the report, the PNGs, the "
                            f"checkpoints and {STATE} (the finished phases)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bars or per-epoch lines."),
    threads: int | None = THREADS,
) -> None:
    """Time per epoch, peak memory and time to a target accuracy: noisy T=1 vs BPTT T=N vs the ANN; Figs. 3-7."""
    # training needs PyTorch; `bench run` of graphs does not
    from ..bench.environment import environment, summary
    from ..bench.train_study.study import run_train_cost

    if resume and overwrite:
        raise SnnDeployError("--resume continues a run and --overwrite replaces it: give one")
    chosen = tuple(parse_values(methods, str, "--methods")) or None
    cfg = config_from_options(quick, model=model, dataset=dataset, data_dir=data_dir, T=T, epochs=epochs,
                              target=target, stop_at_target=stop_at_target, batch_size=batch_size, lr=lr,
                              limit_train=limit_train, limit_test=limit_test, seed=seed, device=device,
                              augment=augment, methods=chosen, uniform=uniform, peer=peer, peer_batches=peer_batches,
                              calib_images=calib_images, conversion_max_T=conversion_max_T, repeats=repeats, out=out)
    env = environment(device=cfg.device)
    console.print(summary(env), highlight=False)
    log = None if quiet else (lambda msg: console.print(msg, highlight=False))
    result = run_train_cost(cfg, log, resume=resume, overwrite=overwrite, show_progress=not quiet, env=env)
    _summary(result)
    files = [STATE, "train_cost.json", "train_cost.md", *result["plots"]]
    console.print(f"results in {out}: {', '.join(files)}", highlight=False)
