"""`snndeploy eval`."""

from __future__ import annotations

from typing import Any

import typer

from ..core import atomic
from ..core.neuron_config import parse_alpha
from ..evaluation.evaluate import AccuracyRow, evaluate
from ..runners import kind_of
from ..ui import plots
from .common import OVERWRITE, THREADS, check_output_file, console, json_safe, one_line_errors, parse_values, table


def result_line(r: AccuracyRow) -> str:
    """One line per (T, alpha) as it is measured: the progress shown where no bar can be drawn."""
    alpha = "" if r.alpha is None else f" alpha={r.alpha:g}"
    passes = "1 pass" if r.repeats == 1 else f"mean of {r.repeats} repeats"
    return f"  T={r.T}{alpha}: {100 * r.accuracy:.2f}% ({passes})"


def repeats_line(results: list[AccuracyRow]) -> str:
    """How many passes each accuracy averages, and why only one where the artifact has no randomness."""
    notes = {r.repeats_note for r in results} - {None}
    counts = sorted({r.repeats for r in results})
    text = f"repeats: {', '.join(map(str, counts))}"
    return f"{text} ({'; '.join(sorted(notes))})" if notes else text


def accuracy_table(results: list[AccuracyRow], title: str) -> Any:
    """Rows per T, one accuracy column per alpha."""
    alphas = list(dict.fromkeys(r.alpha for r in results))
    label = {a: "accuracy %" if a is None else f"alpha={a:g} %" for a in alphas}
    by_T: dict[int, dict[Any, float]] = {}
    for r in results:
        by_T.setdefault(r.T, {})[r.alpha] = r.accuracy
    rows = [[T] + [f"{100 * accs[a]:.2f}" if a in accs else "" for a in alphas] for T, accs in by_T.items()]
    return table(title, ["T"] + [label[a] for a in alphas], rows)


@one_line_errors
def eval_command(
    artifact: str = typer.Argument(..., help="checkpoint, exported .onnx or .plan engine."),
    T: list[str] | None = typer.Option(None, "--T", help="time steps; repeat or comma-list [default: 1,5,10]"),
    stage: int | None = typer.Option(None, "--stage", help="3: LIF with normalised potential; 2: none (a graph or "
                                     "engine runs at its own stage).", show_default="3; a graph's own"),
    alpha: list[str] | None = typer.Option(None, "--alpha", help="stage-3 alpha(s); 'inf' allowed [default: 4]"),
    data_dir: str | None = typer.Option(None, "--data-dir", help="where the test data lives, if not as trained."),
    limit_test: int | None = typer.Option(None, "--limit-test", help="first N test images only."),
    batch_size: int = typer.Option(256, "--batch-size", help="images per step (split to the artifact's max batch)."),
    device: str = typer.Option("cpu", "--device", help="checkpoints (PyTorch): cpu, cuda or cuda:N; .onnx graphs "
                               "(ONNX Runtime): cpu, cuda or tensorrt (its TensorRT provider); .plan engines run on "
                               "the GPU and ignore it."),
    seed: int = typer.Option(0, "--seed", help="seed for the inference noise (repeat r uses seed + r); --noise "
                             "graph graphs seed every random op from it; TensorRT engines draw no noise of their own."),
    repeats: int = typer.Option(3, "--repeats", help="average accuracy over this many noise draws (one pass for "
                                "an artifact without randomness: --noise frozen graphs and their engines)."),
    compiled: bool = typer.Option(False, "--compile/--no-compile",
                                  help="checkpoints: compiled neuron steps and channels-last convolutions (about 1.5x "
                                       "faster once PyTorch has cached the kernels; the first run compiles)."),
    json_path: str | None = typer.Option(None, "--json", help="write the results as JSON here."),
    plot: str | None = typer.Option(None, "--plot", help="write accuracy against T as a PNG here."),
    overwrite: bool = OVERWRITE,
    threads: int | None = THREADS,
) -> None:
    """Test accuracy of a trained network at several T (stage 2 or 3, any alpha)."""
    check_output_file(json_path, "--json", overwrite)
    check_output_file(plot, "--plot", overwrite)
    Ts = parse_values(T, int, "--T")
    alphas = [parse_alpha(a) for a in parse_values(alpha, str, "--alpha")] or None
    # a terminal gets a progress bar per (T, alpha), advancing per batch of every repeat; a log gets a line per
    # result instead, as it is measured
    bar = console.is_terminal
    common = {"data_dir": data_dir, "limit_test": limit_test, "batch_size": batch_size, "device": device,
              "seed": seed, "repeats": repeats, "show_progress": bar,
              "on_result": None if bar else lambda r: console.print(result_line(r), markup=False, highlight=False)}
    kind_of(artifact).require(artifact)  # one line where its backend is not installed
    if Ts and kind_of(artifact).network:  # PyTorch runs a batch's steps at once: refuse a T that cannot fit
        from ..runners.torch_runner import check_checkpoint_memory

        check_checkpoint_memory(artifact, Ts, min(batch_size, limit_test or batch_size), device)
    # the kind's evaluator: a checkpoint at every T, stage and alpha asked; a graph or engine at its own
    results = evaluate(artifact, Ts or None, stage, alphas, compiled=compiled, **common)
    title = f"{results[0].backend or kind_of(artifact).backend}, stage {results[0].stage}"
    console.print(accuracy_table(results, title))
    console.print(repeats_line(results), markup=False, highlight=False)
    rows = [r.to_dict() for r in results]
    if json_path:
        atomic.write_json(json_path, {"artifact": artifact, "results": json_safe(rows)})
        console.print(f"json: {json_path}", highlight=False)
    if plot:
        plots.accuracy_vs_T(rows, plot, f"{artifact}")
        console.print(f"plot: {plot}", highlight=False)
