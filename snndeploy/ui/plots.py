"""PNG plots: training curves, accuracy against T, inference latency against T."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, MaxNLocator  # noqa: E402

from ..core import atomic  # noqa: E402
from ..core.errors import SnnDeployError  # noqa: E402


def save_png(fig: Any, path: str | Path) -> Path:
    """Write a figure as PNG atomically and free it."""
    atomic.write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    plt.close(fig)
    return Path(path)


def finish(fig: Any, ax: Any, path: str | Path, *, xlabel: str, ylabel: str, title: str,
           legend_size: float | None = None, legend_outside: bool = False) -> Path:
    """Label, grid and legend one axes, then write the figure; ``legend_outside`` puts the legend right of the
    axes, where it covers no data whatever the data."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    if legend_outside:
        ax.legend(fontsize=legend_size, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)
    else:
        ax.legend(fontsize=legend_size)
    ax.set_title(title)
    return save_png(fig, path)


LOSS_NAMES = {"mse": "MSE", "ce": "cross-entropy"}  # TrainConfig.loss -> how the plot names it


def training_curves(history: list[dict[str, Any]], path: str | Path, title: str = "", *, loss: str = "mse",
                    T: int = 1) -> Path:
    """Loss and accuracy per epoch: ``loss`` names the training loss (TrainConfig.loss), ``T`` the time steps
    both accuracies were measured at (TrainConfig.T: 1 for noise training and the ANN)."""
    name = LOSS_NAMES.get(loss, loss)
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], marker="o", label=f"train loss ({name})")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel(f"{name} loss")
    ax_loss.legend()
    ax_acc.plot(epochs, [h["train_acc"] for h in history], marker="o", label=f"train (T = {T})")
    ax_acc.plot(epochs, [h["val_acc"] for h in history], marker="s", label=f"test (T = {T})")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel(f"accuracy at T = {T}")
    ax_acc.legend()
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epoch 1.5 does not exist
    fig.suptitle(title)
    return save_png(fig, path)


def log_latency_axis(axis: Any, set_scale: Any) -> None:
    """A log latency axis read as 0.2, 0.5, 1, 2, 5 ms rather than 2x10^-1, with few enough labels between
    decades to stay legible; ``set_scale`` is the axes' set_xscale or set_yscale."""
    set_scale("log")
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:.0e}"[0] in "25" else ""))


def place_labels(ax: Any, points: list[tuple[float, float]], texts: list[str], fontsize: float = 8) -> list[Any]:
    """Annotate each data point with its text, each label at the first of a few offsets around its point where
    its box overlaps no label placed before (points at one spot, "T=5" of two backends, would otherwise print
    their labels on top of each other). Call once the axes' scales and data are final."""
    ax.autoscale_view()
    to_points = 72.0 / ax.figure.dpi
    height = 1.3 * fontsize
    placed: list[tuple[float, float, float, float]] = []
    labels = []
    for (x, y), text in zip(points, texts, strict=True):
        px, py = (v * to_points for v in ax.transData.transform((x, y)))
        width = 0.62 * fontsize * len(text)
        candidates = [(4.0, 4.0 + k * height) for k in range(6)] + [(-4.0 - width, 4.0 + k * height) for k in range(6)]
        for dx, dy in candidates:
            box = (px + dx, py + dy, px + dx + width, py + dy + height)
            if not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3] for b in placed):
                break
        placed.append(box)
        labels.append(ax.annotate(text, (x, y), textcoords="offset points", xytext=(dx, dy), fontsize=fontsize))
    return labels


def series_label(stage: int, alpha: float | None) -> str:
    """How a plot names the results of one stage and alpha: stage 3 at alpha = inf is stage 2 (the potential's
    weight 1 / alpha vanishes)."""
    if alpha is None:
        return f"stage {stage}"
    return "stage 2 (alpha = inf)" if math.isinf(float(alpha)) else f"stage {stage} (alpha = {float(alpha):g})"


def accuracy_vs_T(results: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Accuracy against T, one line per (stage, alpha), with +-1 standard deviation bars over the repeats where
    the rows carry ``accuracy_std``; ticks at the evaluated T."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    series: dict[str, list[tuple[int, float, float | None]]] = {}
    for row in results:
        series.setdefault(series_label(row["stage"], row.get("alpha")), []).append(
            (row["T"], row["accuracy"], row.get("accuracy_std")))
    Ts = sorted({row["T"] for row in results})
    # series side by side around each T, so that equal accuracies and their bars do not hide each other
    step = 0.04 * min((b - a for a, b in zip(Ts, Ts[1:], strict=False)), default=1)
    for i, (label, points) in enumerate(series.items()):
        points.sort(key=lambda p: p[0])
        xs = [p[0] + (i - (len(series) - 1) / 2) * step for p in points]
        ys = [100 * p[1] for p in points]
        if any(p[2] is not None for p in points):
            ax.errorbar(xs, ys, yerr=[100 * (p[2] or 0.0) for p in points], marker="o", capsize=3, label=label)
        else:
            ax.plot(xs, ys, marker="o", label=label)
    if len(Ts) <= 12:
        ax.set_xticks(Ts)  # the evaluated T, and only integers: T = 1.5 does not exist
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return finish(fig, ax, path, xlabel="T (time steps)", ylabel="test accuracy (%)", title=title)


def latency_vs_T(rows: list[dict[str, Any]], mac_growth: dict[int, float], path: str | Path, title: str = "") -> Path:
    """Batch-1 latency against T, one series per backend: p50 points with p10-p90 bars and no line between them
    (noisy timings joined in T order zigzag like a trend), and a dashed line growing as the MAC count
    (``mac_growth``: T -> MACs / MACs at T=1) from the fastest backend's T=1 p50, the one relation that is a
    trend. Rows need backend, status, T, batch, p10_ms, p50_ms, p90_ms; only ok rows count."""
    points = [r for r in rows if r.get("status", "ok") == "ok" and r["batch"] == 1]
    if not points:
        raise SnnDeployError("no measured batch-1 rows to plot (every backend reported a status)")
    series: dict[str, list[dict[str, Any]]] = {}
    for r in points:
        series.setdefault(r["backend"], []).append(r)
    Ts = sorted({r["T"] for r in points} | set(mac_growth))
    # Backends side by side around each T, so that their bars do not hide each other.
    step = 0.06 * min((b - a for a, b in zip(Ts, Ts[1:], strict=False)), default=1)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for i, (label, rs) in enumerate(series.items()):
        rs.sort(key=lambda r: r["T"])
        x = [r["T"] + (i - (len(series) - 1) / 2) * step for r in rs]
        p50 = [r["p50_ms"] for r in rs]
        bars = [[r["p50_ms"] - r["p10_ms"] for r in rs], [r["p90_ms"] - r["p50_ms"] for r in rs]]
        ax.errorbar(x, p50, yerr=bars, fmt="o", linestyle="none", markersize=4, capsize=3, label=label)
    base = [r["p50_ms"] for r in points if r["T"] == 1]
    if base:
        ref = sorted(mac_growth)
        ax.plot(ref, [min(base) * mac_growth[t] for t in ref], "k--", linewidth=1,
                label="MAC count growth from the fastest T=1")
    values = [r[k] for r in points for k in ("p10_ms", "p90_ms")]
    if max(values) > 4 * min(values) > 0:
        log_latency_axis(ax.yaxis, ax.set_yscale)
    ax.set_xticks(Ts)
    return finish(fig, ax, path, xlabel="T (time steps)", ylabel="batch-1 latency (ms), p50 with p10-p90",
                  title=title, legend_size=8)
