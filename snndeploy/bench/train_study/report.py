"""The training-cost report: JSON, a Markdown page and PNG plots of the paper's Figs. 3-7 and Table 2."""

from __future__ import annotations

from collections.abc import Callable, Collection
from pathlib import Path
from typing import Any

from ...core import atomic
from ...ui.plots import finish, plt, save_png

# what `bench train` writes besides the report (here, free of PyTorch, for the CLI's help): the finished phases and
# their results
STATE = "train_cost.state.json"
PLOTS = {"time": "accuracy_vs_time.png", "target": "time_to_target.png", "T": "accuracy_vs_T.png",
         "alpha": "accuracy_vs_alpha.png", "conversion": "conversion_vs_T.png"}


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.2f}"


def _num(x: float | None, fmt: str = ".2f", suffix: str = "") -> str:
    return "-" if x is None else f"{x:{fmt}}{suffix}"


def keep_inside(ax: Any, references: list[float]) -> None:
    """Widen the y-axis so that every reference line drawn at these values lies inside it (a legend entry for a
    line off the axes misleads)."""
    if not references:
        return
    lo, hi = ax.get_ylim()
    low, high = min(references), max(references)
    if lo < low and high < hi:  # strictly: a line on the frame is hard to see
        return
    pad = 0.03 * ((max(hi, high) - min(lo, low)) or 1.0)
    ax.set_ylim(low - pad if low < lo else lo, high + pad if high > hi else hi)


def reference_lines(ax: Any, lines: list[tuple[float, str, str]]) -> list[float]:
    """Draw horizontal reference lines (value, colour, label), each dashed with its dashes shifted by its
    position, so that lines at the same value alternate their colours rather than hide one another; their
    values."""
    n = len(lines)
    for i, (y, color, label) in enumerate(lines):
        ax.axhline(y, color=color, linestyle=(4 * i, (4, 4 * (n - 1) or 4)), label=label)
    return [y for y, _, _ in lines]


# One colour per method in every figure of a report, by the start of its label ("bptt T=5", "noise (uniform)"):
# the longest matching name wins; a method missing here is grey.
METHOD_COLOURS = {"noise": "C0", "noise (uniform)": "C9", "ann": "C1", "bptt": "C2", "conversion": "C3",
                  "spikingjelly": "C4"}


def method_colour(label: str) -> str:
    """The colour of the method a row, line or bar label names ('noise', 'bptt T=5', 'ann (trained)')."""
    names = [name for name in METHOD_COLOURS if label == name or label.startswith((f"{name} ", f"{name},"))]
    return METHOD_COLOURS[max(names, key=len)] if names else "C7"


def _final(row: dict[str, Any]) -> float | None:
    accs = [h["accuracy"] for h in row["history"] if h.get("accuracy") is not None]
    return accs[-1] if accs else None


def plot_accuracy_vs_time(result: dict[str, Any], path: Path) -> Path:
    """Fig. 4: test accuracy against cumulative training time, one line per method."""
    fig, ax = plt.subplots(figsize=(6, 4))
    T = result["config"]["T"]
    for label, row in result["rows"].items():
        hist = [h for h in row["history"] if h.get("accuracy") is not None]
        if len(hist) < 1 or row["time_to_target"] is None:
            continue
        xs = [h["train_s_cum"] for h in hist]
        name = f"noise, stage 3 (T={T})" if label == "noise" else label
        ax.plot(xs, [100 * h["accuracy"] for h in hist], marker="o", label=name, color=method_colour(label))
        if label == "noise":
            ax.plot(xs, [100 * h["accuracy_stage1"] for h in hist], marker=".", linestyle="--",
                    label="noise, stage 1 (T=1)", color=method_colour(label), alpha=0.6)
    ax.axhline(100 * result["config"]["target"], color="grey", linestyle=":", label="target")
    keep_inside(ax, [100 * result["config"]["target"]])
    return finish(fig, ax, path, xlabel="training time (s, evaluation excluded)", ylabel="test accuracy (%)",
                  title="accuracy against training time (paper Fig. 4)", legend_size=8, legend_outside=True)


def plot_time_to_target(result: dict[str, Any], path: Path) -> Path:
    """Fig. 5: training seconds to the target; hatched bars mark runs that never reached it."""
    fig, ax = plt.subplots(figsize=(6, 3.5))
    labels, heights, hatches, notes = [], [], [], []
    for label, row in result["rows"].items():
        tt = row["time_to_target"]
        if tt is None:
            continue
        labels.append(label)
        heights.append(tt["train_s"] if tt["reached"] else (tt.get("trained_s") or 0.0))
        hatches.append("" if tt["reached"] else "//")
        notes.append(f"{heights[-1]:.3g} s" if tt["reached"] else f"not reached\nin {heights[-1]:.3g} s")
    bars = ax.bar(labels, heights, color=[method_colour(label) for label in labels])
    for bar, hatch, note in zip(bars, hatches, notes, strict=True):
        bar.set_hatch(hatch)
        ax.annotate(note, (bar.get_x() + bar.get_width() / 2, bar.get_height()), ha="center", va="bottom", fontsize=8)
    ax.set_ylabel("training time to target (s)")
    ax.set_title(f"time to {100 * result['config']['target']:.1f}% test accuracy (paper Fig. 5)")
    ax.margins(y=0.2)
    return save_png(fig, path)


def plot_accuracy_vs_T(result: dict[str, Any], path: Path) -> Path:
    """Fig. 3 and 7: stage-3 accuracy against T for Gaussian and uniform noise, baselines as lines."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for kind, accs in result["figures"].get("noise_types", {}).items():
        ax.plot(range(1, len(accs) + 1), [100 * a for a in accs], marker="o", label=f"noise ({kind}), stage 3",
                color=method_colour("noise" if kind == "gaussian" else f"noise ({kind})"))
    trained = [(k, v) for k, v in result["rows"].items() if k in ("ann", result["bptt_label"])]
    keep_inside(ax, reference_lines(ax, [(100 * _final(row), method_colour(label), f"{label} (trained)")
                                         for label, row in trained if _final(row) is not None]))
    return finish(fig, ax, path, xlabel="T (time steps)", ylabel="test accuracy (%)",
                  title="accuracy against T, alpha = 4 (paper Figs. 3, 7)", legend_size=8, legend_outside=True)


def plot_accuracy_vs_alpha(result: dict[str, Any], path: Path) -> Path:
    """Fig. 6: stage-3 accuracy against T, one line per alpha; dotted: the trained T = 1 network."""
    fig, ax = plt.subplots(figsize=(6, 4))
    for alpha, accs in result["figures"].get("alpha", {}).items():
        name = "alpha=inf (stage 2)" if alpha == "inf" else f"alpha={alpha}"
        ax.plot(range(1, len(accs) + 1), [100 * a for a in accs], marker="o", label=name)
    if result["figures"].get("stage1_T1") is not None:
        ax.axhline(100 * result["figures"]["stage1_T1"], color="black", linestyle=":", label="stage 1 (T=1)")
        keep_inside(ax, [100 * result["figures"]["stage1_T1"]])
    return finish(fig, ax, path, xlabel="T (time steps)", ylabel="test accuracy (%)",
                  title="stage-3 accuracy for several alpha (paper Fig. 6)", legend_size=8, legend_outside=True)


def plot_conversion(result: dict[str, Any], path: Path) -> Path:
    """Table 2 as a plot: converted SNN accuracy against T from T = 1, with the ANN, our stage-3 T = 5 accuracy
    and the first T at which conversion reaches it."""
    conv = result["conversion"]
    fig, ax = plt.subplots(figsize=(6, 4))
    accs = conv["accuracy_by_T"]
    ax.plot(range(1, len(accs) + 1), [100 * a for a in accs], label="ANN-to-SNN conversion (IF, reset by subtraction)",
            color=method_colour("conversion"))
    ax.plot([r["T"] for r in conv["table"]], [100 * r["accuracy"] for r in conv["table"]], "o",
            color=method_colour("conversion"),
            label="conversion, T in the report's table")
    references = [(100 * conv["ann_accuracy"], method_colour("ann"), "ANN")]
    if conv["reference"] is not None:
        references.append((100 * conv["reference"], method_colour("noise"), f"noise, stage 3, T={conv['reference_T']}"))
    keep_inside(ax, reference_lines(ax, references))
    if conv["first_T_reaching_reference"] is not None:
        ax.axvline(conv["first_T_reaching_reference"], color="grey", linestyle=":",
                   label=f"conversion reaches stage 3 T={conv['reference_T']} (T={conv['first_T_reaching_reference']})")
    ax.set_xscale("log", base=2)
    # from the first plotted T (no empty octave before it), a little room after the last for its marker
    ax.set_xlim(1, len(accs) * 2 ** 0.2)
    return finish(fig, ax, path, xlabel="T (time steps)", ylabel="test accuracy (%)",
                  title="ANN-to-SNN conversion against T (paper Table 2)", legend_size=8, legend_outside=True)


def _cost_table(result: dict[str, Any]) -> list[str]:
    bptt = result["bptt_label"]
    lines = [f"| method | train T | s / epoch | samples / s | vs {bptt} | peak memory (MiB) | vs {bptt} "
             "| final test % | time to target (s) | wall incl. eval (s) | epochs |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for label, row in result["rows"].items():
        job, tt = row["job"], row["time_to_target"]
        epoch = f"{row['epoch_s']:.2f}" + (f" ({row['batches_timed']} batches)" if "batches_timed" in row else "")
        if tt is None:
            reach = wall = n = "-"
        elif tt["reached"]:
            reach, wall, n = f"{tt['train_s']:.1f}", f"{tt['wall_s']:.1f}", str(tt["epoch"])
        else:
            reach, wall, n = f"not reached in {tt['trained_s']:.1f}", "-", f"> {job['epochs']}"
        lines.append(f"| {label} | {job['T']} | {epoch} | {row['samples_per_s']:.0f} | "
                     f"{_num(row['epoch_vs_bptt'], '.3f', 'x')} | {row['memory_mb']:.0f} | "
                     f"{_num(row['memory_vs_bptt'], '.3f', 'x')} | {_pct(_final(row))} | {reach} | {wall} | {n} |")
    return lines


def _figure_tables(result: dict[str, Any]) -> list[str]:
    fig = result["figures"]
    lines: list[str] = []
    if "alpha" in fig:
        alphas = list(fig["alpha"])
        lines += ["## Stage-3 accuracy against T and alpha (paper Figs. 3 and 6)", "",
                  "| T | " + " | ".join(f"alpha={a}" + (" (stage 2)" if a == "inf" else "") + " %" for a in alphas)
                  + " |", "|---" * (len(alphas) + 1) + "|"]
        for t in range(len(fig["alpha"][alphas[0]])):
            lines.append(f"| {t + 1} | " + " | ".join(_pct(fig["alpha"][a][t]) for a in alphas) + " |")
        lines += ["", f"Stage 1 (the trained single-step network, T = 1): {_pct(fig['stage1_T1'])} %.", ""]
    if "noise_types" in fig and len(fig["noise_types"]) > 1:
        kinds = list(fig["noise_types"])
        lines += ["## Gaussian against uniform training noise, stage 3, alpha = 4 (paper Fig. 7)", "",
                  "| T | " + " | ".join(f"{k} %" for k in kinds) + " |", "|---" * (len(kinds) + 1) + "|"]
        for t in range(len(fig["noise_types"][kinds[0]])):
            lines.append(f"| {t + 1} | " + " | ".join(_pct(fig["noise_types"][k][t]) for k in kinds) + " |")
        lines.append("")
    return lines


def _conversion_lines(conv: dict[str, Any]) -> list[str]:
    lines = ["## ANN-to-SNN conversion (paper Table 2)", "",
             f"The ANN (ReLU) reaches {_pct(conv['ann_accuracy'])} %. Thresholds: the {conv['percentile']}th "
             f"percentile of each layer's positive activations on {conv['calibration_images']} training images "
             f"({', '.join(f'{t:.3g}' for t in conv['thresholds'])}); integrate-and-fire neurons, reset by "
             "subtraction, spikes of the threshold's amplitude, the same analog input at every step.", "",
             "| T | conversion % |", "|---|---|"]
    lines += [f"| {r['T']} | {_pct(r['accuracy'])} |" for r in conv["table"]]
    ref, first = conv["reference"], conv["first_T_reaching_reference"]
    if ref is None:
        lines += ["", "No noisy model was trained in this run, so there is no stage-3 reference."]
    elif first is None:
        lines += ["", f"Conversion never reaches our stage-3 T = {conv['reference_T']} accuracy ({_pct(ref)} %) "
                      f"within T = {conv['max_T']} (more than {conv['max_T'] / conv['reference_T']:.0f}x the steps)."]
    else:
        lines += ["", f"Conversion first reaches our stage-3 T = {conv['reference_T']} accuracy ({_pct(ref)} %) "
                      f"at **T = {first}**: {conv['steps_ratio']:.1f}x the steps."]
    return lines + [""]


def verdict(check: dict[str, Any]) -> str:
    """One claim's line: 'holds', 'does not hold on this run: <why>' or 'not decided on this run: <why>'."""
    value = "-" if check["value"] is None else f"{'>= ' if check.get('lower_bound') else ''}{check['value']:.3g}x"
    if check["holds"]:
        return f"{check['claim']}: holds (measured {value})"
    state = "does not hold" if check["holds"] is False else "not decided"
    return f"{check['claim']}: {state} on this run: {check.get('why') or f'measured {value}'}"


def markdown(result: dict[str, Any]) -> str:
    """The report as a Markdown page."""
    c, m, d = result["config"], result["machine"], result["data"]
    cpu = f"CPU ({m['cpu']}, {m['cores']} cores, {m['threads']} threads)"
    device = (m.get("gpu") or "CUDA GPU") if c["device"].startswith("cuda") else cpu
    torch_version = m.get("versions", {}).get("torch", "?")
    lines = [f"# Training cost: noisy T = 1 against {result['bptt_label']} and the ANN", ""]
    if result.get("pending"):
        lines += [f"**Unfinished run**: still to do: {', '.join(result['pending'])}. Carry on with the same "
                  f"options and `--resume` (`snndeploy bench train ... --resume -o {c['out']}`).", ""]
    lines += [f"{c['model']} on {d['name']} ({d['train']} training / {d['test']} test images), batch "
              f"{c['batch_size']}, {c['epochs']} epochs"
              f"{' at most (each method halted at the target)' if c['stop_at_target'] else ''}, "
              f"Adam lr {c['lr']:g}, MSE; {device}, PyTorch {torch_version}.", "",
             f"Each method trained in its own fresh process. Target: {100 * c['target']:.2f} % test accuracy, judged "
             f"for noise at stage 3 with T = {c['T']} (alpha = 4), for BPTT at T = {c['T']}, for the ANN as an ANN. "
             "Time to target counts training only (the per-epoch test is excluded; 'wall' includes it). Peak memory "
             "is the first epoch's peak RSS above the process's baseline after imports, data and a one-image "
             "warm-up step (on CUDA: max allocated).", "", "## Cost per method", ""]
    lines += _cost_table(result) + ["", "## Claims checked", ""]
    lines += [f"- {verdict(ch)}" for ch in result["checks"]] or ["- none yet (they need the noisy and BPTT runs)"]
    lines.append("")
    lines += _figure_tables(result)
    if result["conversion"] is not None:
        lines += _conversion_lines(result["conversion"])
    if result.get("plots"):
        lines += ["## Plots", ""] + [f"![{name}]({name})" for name in result["plots"]]
    return "\n".join(lines) + "\n"


DRAW: dict[str, Callable[[dict[str, Any], Path], Path]] = {
    "time": plot_accuracy_vs_time, "target": plot_time_to_target, "T": plot_accuracy_vs_T,
    "alpha": plot_accuracy_vs_alpha, "conversion": plot_conversion}


def plots_for(result: dict[str, Any]) -> dict[str, str]:
    """The plots ``result`` has data for: file name by kind."""
    kinds = ["time", "target"] + ["T", "alpha"] * bool(result["figures"].get("noise_types"))
    kinds += ["conversion"] * (result["conversion"] is not None)
    return {k: PLOTS[k] for k in kinds}


def write_plots(result: dict[str, Any], out: str | Path, skip: Collection[str] = (),
                on_plot: Callable[[str], None] | None = None) -> dict[str, Path]:
    """Draw the PNGs (each written atomically) under ``out``, but those named in ``skip``; ``on_plot`` gets each
    file name once written."""
    paths = {}
    for kind, name in plots_for(result).items():
        if name in skip:
            continue
        paths[kind] = DRAW[kind](result, Path(out) / name)
        if on_plot is not None:
            on_plot(name)
    return paths


def write_text_report(result: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """Write train_cost.json and train_cost.md (listing ``result['plots']``) under ``out``."""
    return {"json": atomic.write_json(Path(out) / "train_cost.json", result),
            "markdown": atomic.write_text(Path(out) / "train_cost.md", markdown(result))}


def write_report(result: dict[str, Any], out: str | Path) -> dict[str, Path]:
    """Write the PNGs, train_cost.json and train_cost.md under ``out``; their paths by kind."""
    paths = write_plots(result, out)
    return {**paths, **write_text_report({**result, "plots": [p.name for p in paths.values()]}, out)}
