"""`snndeploy bench ARTIFACTS...` (deployment) and `snndeploy bench train ...` (training cost)."""

from __future__ import annotations

from pathlib import Path

import typer
from typer.core import TyperGroup

from ..bench import output
from ..bench.deploy import OK, BenchConfig, bench_environment, run_bench
from ..bench.environment import summary
from ..bench.rows import BenchRow
from ..core.errors import SnnDeployError
from .bench_serve_cmd import bench_serve_command
from .bench_train_cmd import bench_train_command
from .common import (
    OVERWRITE,
    THREADS,
    check_output_file,
    check_work_folder,
    console,
    json_safe,
    one_line_errors,
    parse_values,
    table,
)


class BenchGroup(TyperGroup):
    """`bench A B --batch 1` runs `bench run A B ...`; `bench train ...` is its own command."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def say(text: str) -> None:
    """Print plain text: paths and install hints ('snndeploy[gpu]') are never markup."""
    console.print(text, markup=False, highlight=False)


def progress_line(r: BenchRow) -> str:
    """One line per row as it is measured (or why it was not): the progress shown where no bar can be drawn."""
    where = f"  {r.artifact} {r.backend} {r.precision} T={r.T}" + (f" batch={r.batch}" if r.batch else "")
    if r.status != OK:
        return f"{where}: {r.status}"
    return f"{where}: {r.p50_ms:.2f} ms, {r.images_per_s:.0f} img/s, {100 * (r.accuracy or 0):.2f}%"


def nothing_measured(rows: list[BenchRow]) -> str:
    """The one line of a bench that measured no row: the first row's reason, and how many others the table has."""
    reasons = list(dict.fromkeys(r.status for r in rows))
    why = reasons[0] if len(reasons[0]) <= 160 else reasons[0][:160] + "..."
    more = len(reasons) - 1
    return f"nothing was measured: {why}" + (f" (and {more} other reason{'s' * (more > 1)} in the status column)"
                                             if more else "")


bench_app = typer.Typer(cls=BenchGroup, no_args_is_help=True, add_completion=False,
                        help="Benchmarks: deployment (bench ARTIFACTS...), training cost (bench train), serving load "
                        "(bench serve).")


@bench_app.command("run")
@one_line_errors
def bench_run_command(
    artifacts: list[str] = typer.Argument(..., help="checkpoints, .onnx files or .plan engines."),
    backend: list[str] | None = typer.Option(None, "--backend", help="pytorch, onnxruntime, tensorrt "
                                             "[default: pytorch, onnxruntime]"),
    batch: list[str] | None = typer.Option(None, "--batch", help="batch sizes [default: 1,64]"),
    T: list[str] | None = typer.Option(None, "--T", help="time steps for checkpoints [default: 1,5,10]"),
    precision: list[str] | None = typer.Option(None, "--precision", help="fp32, fp16, int8 [default: fp32 for "
                                               "checkpoints; a graph or engine at its own]"),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, or tensorrt (ONNX Runtime's TensorRT provider)."),
    limit_test: int | None = typer.Option(None, "--limit-test", help="accuracy on the first N test images."),
    data_dir: str | None = typer.Option(None, "--data-dir", help="where the test data lives, if not as trained."),
    iters: int = typer.Option(20, "--iters", help="timed runs per row (after warm-up)."),
    json_path: str | None = typer.Option(None, "--json", help="write the rows as JSON here, with the environment "
                                         "(host, CPU, threads, versions, GPU, noise, device, artifact sha256)."),
    csv_path: str | None = typer.Option(None, "--csv", help="write the rows as CSV here, after the environment as "
                                        "'# key: value' lines (pandas.read_csv(path, comment='#'))."),
    md_path: str | None = typer.Option(None, "--md", help="write the environment and the rows as Markdown here."),
    plot: str | None = typer.Option(None, "--plot", help="PNG of accuracy against latency across T."),
    work: str = typer.Option("runs/bench", "--work", help="where graphs exported for checkpoints go (a used "
                              "folder is refused without --overwrite)."),
    seed: int = typer.Option(0, "--seed", help="seed of the accuracy pass's noise (PyTorch's generator, fed draws, "
                             "ONNX Runtime's random ops): repeated runs give the same accuracy."),
    with_stats: bool = typer.Option(False, "--stats", help="add each checkpoint's firing rate, accumulates per "
                                    "image and energy estimate at each T (as `snndeploy stats`, default constants)."),
    overwrite: bool = OVERWRITE,
    threads: int | None = THREADS,
) -> None:
    """Accuracy, latency p50/p90/p99, throughput and size for every backend, precision, T and batch."""
    for path, option in ((json_path, "--json"), (csv_path, "--csv"), (md_path, "--md"), (plot, "--plot")):
        check_output_file(path, option, overwrite)
    check_work_folder(work, "--work", overwrite)  # its graphs are replaced below only with --overwrite
    if iters < 1:
        raise SnnDeployError(f"--iters must be >= 1, got {iters}")
    cfg = BenchConfig(backends=tuple(parse_values(backend, str, "--backend")) or BenchConfig.backends,
                      batches=tuple(parse_values(batch, int, "--batch")) or BenchConfig.batches,
                      Ts=tuple(parse_values(T, int, "--T")) or BenchConfig.Ts,
                      precisions=tuple(parse_values(precision, str, "--precision")) or BenchConfig.precisions,
                      device=device, limit_test=limit_test, data_dir=data_dir, iters=iters, work=work,
                      stats=with_stats, seed=seed)
    # a terminal gets a progress bar (a task per export, build, accuracy pass and timed batch); a log gets a line
    # per row instead, as it is measured
    bar = console.is_terminal
    rows = run_bench(artifacts, cfg, on_row=None if bar else lambda r: say(progress_line(r)), show_progress=bar)
    env = bench_environment(artifacts, cfg, rows)
    say(summary(env))
    cells, notes = output.rows_with_notes(rows)
    headers = [h for _, h in output.table_columns(rows, stats=False, console=True)]
    console.print(table("snndeploy bench", headers, cells))
    for note in notes:
        say(note)
    headers, stats_cells = output.stats_table(rows)
    if stats_cells:
        console.print(table("spiking statistics per image (see snndeploy stats)",
                            headers, stats_cells))
    writers = ((json_path, output.write_json), (csv_path, output.write_csv), (md_path, output.write_markdown))
    for path, writer in writers:
        if path:
            writer(path, json_safe([r.to_dict() for r in rows]), json_safe(env))
            say(f"wrote {path}")
    if plot and output.measured(rows):
        output.plot_front(plot, rows)
        say(f"wrote {Path(plot)}")
    elif plot:
        say(f"no plot written to {plot}: no row was measured")
    if not output.measured(rows):  # the table says why per row; a script sees that nothing ran
        raise SnnDeployError(nothing_measured(rows))


bench_app.command("train")(bench_train_command)
bench_app.command("serve")(bench_serve_command)
