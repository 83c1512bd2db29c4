"""`snndeploy bench ARTIFACTS...` (deployment) and `snndeploy bench train ...` (training cost)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from snndeploy.bench import output
from snndeploy.bench.deploy import OK, BenchConfig, run_bench
from snndeploy.core.errors import SnnDeployError

from .bench_train_cmd import bench_train_command
from .common import check_output_file, console, json_safe, one_line_errors, parse_values, table


class BenchGroup(TyperGroup):
    """`bench A B --batch 1` runs `bench run A B ...`; `bench train ...` is its own command."""

    def parse_args(self, ctx: typer.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


def progress_line(r: dict[str, Any]) -> str:
    """One line per row as it is measured (or why it was not)."""
    where = f"  {r['backend']} {r['precision']} T={r['T']}" + (f" batch={r['batch']}" if r["batch"] else "")
    if r["status"] != OK:
        return f"{where}: {r['status']}"
    return f"{where}: {r['p50_ms']:.2f} ms, {r['images_per_s']:.0f} img/s, {100 * r['accuracy']:.2f}%"


bench_app = typer.Typer(cls=BenchGroup, no_args_is_help=True, add_completion=False,
                        help="Benchmarks: deployment (bench ARTIFACTS...) and training cost (bench train).")


@bench_app.command("run")
@one_line_errors
def bench_run_command(
    artifacts: list[str] = typer.Argument(..., help="checkpoints, .onnx files or .plan engines."),
    backend: list[str] | None = typer.Option(None, "--backend", help="pytorch, onnxruntime, tensorrt "
                                             "[default: pytorch, onnxruntime]"),
    batch: list[str] | None = typer.Option(None, "--batch", help="batch sizes [default: 1,64]"),
    T: list[str] | None = typer.Option(None, "--T", help="time steps for checkpoints [default: 1,5,10]"),
    precision: list[str] | None = typer.Option(None, "--precision", help="fp32, fp16, int8 [default: fp32]"),
    device: str = typer.Option("cpu", "--device", help="cpu, cuda, or tensorrt (ONNX Runtime's TensorRT provider)."),
    limit_test: int | None = typer.Option(None, "--limit-test", help="accuracy on the first N test images."),
    iters: int = typer.Option(20, "--iters", help="timed runs per row (after warm-up)."),
    json_path: str | None = typer.Option(None, "--json"),
    csv_path: str | None = typer.Option(None, "--csv"),
    md_path: str | None = typer.Option(None, "--md"),
    plot: str | None = typer.Option(None, "--plot", help="PNG of accuracy against latency across T."),
    work: str = typer.Option("runs/bench", "--work", help="where graphs exported for checkpoints go."),
) -> None:
    """Accuracy, latency p50/p90/p99, throughput and size for every backend, precision, T and batch."""
    for path, option in ((json_path, "--json"), (csv_path, "--csv"), (md_path, "--md"), (plot, "--plot")):
        check_output_file(path, option)
    if iters < 1:
        raise SnnDeployError(f"--iters must be >= 1, got {iters}")
    cfg = BenchConfig(backends=tuple(parse_values(backend, str, "--backend")) or BenchConfig.backends,
                      batches=tuple(parse_values(batch, int, "--batch")) or BenchConfig.batches,
                      Ts=tuple(parse_values(T, int, "--T")) or BenchConfig.Ts,
                      precisions=tuple(parse_values(precision, str, "--precision")) or BenchConfig.precisions,
                      device=device, limit_test=limit_test, iters=iters, work=work)
    rows = run_bench(artifacts, cfg, on_row=lambda r: console.print(escape(progress_line(r)), highlight=False))
    console.print(table("snndeploy bench", list(output.HEADERS), output.rows_as_table(rows)))
    writers = ((json_path, output.write_json), (csv_path, output.write_csv), (md_path, output.write_markdown))
    for path, writer in writers:
        if path:
            writer(path, json_safe(rows))
            console.print(f"wrote {path}", highlight=False)
    if plot and output.measured(rows):
        output.plot_front(plot, rows)
        console.print(f"wrote {Path(plot)}", highlight=False)
    elif plot:
        console.print(f"no plot written to {plot}: no row was measured", highlight=False)


bench_app.command("train")(bench_train_command)
