"""`snndeploy stats`: firing rates, synaptic operations and energy of a checkpoint at several T."""

from __future__ import annotations

from typing import Any

import typer

from ..core import atomic
from ..evaluation import stats
from .common import OVERWRITE, THREADS, check_output_file, console, json_safe, one_line_errors, parse_values, table


def _ops(n: float) -> str:
    """Operation counts in engineering units: 1.23 M."""
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.3g}"


def _rate(r: float | None) -> str:
    return "-" if r is None else f"{100 * r:.2f}"


def _energy(uj: float) -> str:
    """Microjoules at a fixed two decimals, so that a column's values line up (1.60 beside 3.85)."""
    return f"{uj:.2f}"


def rate_table(report: stats.Report) -> Any:
    """Firing rate of every spiking layer (rows, named as ops_table names the input they feed: "conv1 spikes") at
    every T (columns), and of the whole network."""
    names = stats.layer_names(report)
    rows: list[list[Any]] = []
    for i, layer in enumerate(report.spiking_layers):
        rows.append([f"{names[layer.name]} ({layer.name})", layer.neurons]
                    + [f"{100 * res.spiking[i].firing_rate:.2f}" for res in report.results])
    total = sum(layer.neurons for layer in report.spiking_layers)
    rows.append(["all", total] + [f"{100 * res.totals.firing_rate:.2f}" for res in report.results])
    return table("firing rate % (of neurons per step)", ["spiking layer", "neurons"] + [f"T={T}" for T in report.Ts],
                 rows)


def ops_table(report: stats.Report) -> Any:
    """Per T and synaptic layer: its input (the image, or the spikes of the layer rate_table names so) and input
    rate, the SNN's ACs and MACs, the ANN's MACs, per image."""
    names, inputs = stats.layer_names(report), stats.layer_inputs(report)
    kinds = {s.name: s.kind for s in report.synaptic_layers}
    rows = [[res.T, f"{names[s.name]} ({s.name})", kinds[s.name], inputs[s.name], _rate(s.input_rate), _ops(s.acs),
             _ops(s.macs), _ops(s.ann_macs)]
            for res in report.results for s in res.synaptic]
    return table("synaptic operations per image", ["T", "layer", "op", "input", "input rate %", "SNN ACs", "SNN MACs",
                                                   "ANN MACs"], rows)


def totals_table(report: stats.Report) -> Any:
    """Per T: overall firing rate, ACs and MACs, SNN and ANN energy and their ratio."""
    rows = []
    for res in report.results:
        t = res.totals
        rows.append([res.T, f"{100 * t.firing_rate:.2f}", _ops(t.acs), _ops(t.macs), _ops(t.ann_macs),
                     _energy(t.snn_energy_uj), _energy(t.ann_energy_uj), f"{t.energy_ratio:.3f}"])
    e = report.energy_model
    title = f"totals per image (e_ac = {e.e_ac_pj:g} pJ, e_mac = {e.e_mac_pj:g} pJ)"
    return table(title, ["T", "firing rate %", "SNN ACs", "SNN MACs", "ANN MACs", "SNN uJ", "ANN uJ", "SNN/ANN"],
                 rows)


@one_line_errors
def stats_command(
    artifact: str = typer.Argument(..., help="checkpoint (run folder, its model.json or a .safetensors file); "
                                   "graphs and engines are refused: run stats on the checkpoint they were exported "
                                   "from."),
    T: list[str] | None = typer.Option(None, "--T", help="time steps; repeat or comma-list [default: 1,5,10]"),
    stage: int = typer.Option(3, "--stage", help="3: LIF with normalised potential; 2: fresh noise, no potential."),
    data_dir: str | None = typer.Option(None, "--data-dir", help="where the test data lives, if not as trained."),
    limit_test: int | None = typer.Option(None, "--limit-test", help="first N test images only."),
    batch_size: int = typer.Option(256, "--batch-size", help="images per forward pass."),
    device: str = typer.Option("cpu", "--device", help="where the checkpoint runs: cpu, cuda or cuda:N."),
    seed: int = typer.Option(0, "--seed", help="seed for the inference noise."),
    e_ac: float = typer.Option(stats.E_AC_PJ, "--e-ac", help="pJ per accumulate (default: 45 nm CMOS, Horowitz "
                               "2014)."),
    e_mac: float = typer.Option(stats.E_MAC_PJ, "--e-mac", help="pJ per multiply-accumulate (default: 45 nm CMOS, "
                                "Horowitz 2014)."),
    json_path: str | None = typer.Option(None, "--json", help="write the report (with the constants, the rules and "
                                         "the checkpoint's facts and sha256) as JSON here."),
    plot: str | None = typer.Option(None, "--plot", help="write firing rate per layer and energy against T as a PNG."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress bar."),
    overwrite: bool = OVERWRITE,
    threads: int | None = THREADS,
) -> None:
    """Firing rates per layer, synaptic operations (ACs against the ANN's MACs) and an energy estimate at several T.

    Spikes into a conv or linear layer cost accumulates (ACs): its MACs x its input's firing rate, per step, over T.
    The first layer, fed the image, counts as MACs once (the image is the same at every step); the ANN runs every
    layer once, densely.
    """
    check_output_file(json_path, "--json", overwrite)
    check_output_file(plot, "--plot", overwrite)
    energy = stats.EnergyModel(e_ac, e_mac)
    Ts = stats.check_Ts(parse_values(T, int, "--T") or None)
    report = stats.checkpoint_stats(artifact, Ts, stage=stage, data_dir=data_dir, limit_test=limit_test,
                                    batch_size=batch_size, device=device, seed=seed, energy=energy,
                                    show_progress=not quiet)
    console.print(rate_table(report))
    console.print(ops_table(report))
    console.print(totals_table(report))
    for rule in report.rules:
        console.print(f"- {rule}", highlight=False)
    console.print(f"energy constants: {stats.ENERGY_SOURCE} (override with --e-ac, --e-mac); "
                  f"{report.images} test images, stage {stage}, seed {seed}", highlight=False)
    if json_path:
        atomic.write_json(json_path, json_safe(report.to_dict()))
        console.print(f"json: {json_path}", highlight=False)
    if plot:
        stats.plot(report, plot, f"{report.source['facts']['model']}, stage {stage}")
        console.print(f"plot: {plot}", highlight=False)
