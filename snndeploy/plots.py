"""PNG plots: training curves and accuracy against T."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from .core import atomic  # noqa: E402


def save_png(fig: Any, path: str | Path) -> Path:
    """Write a figure as PNG atomically and free it."""
    atomic.write_with(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120, bbox_inches="tight"))
    plt.close(fig)
    return Path(path)


def finish(fig: Any, ax: Any, path: str | Path, *, xlabel: str, ylabel: str, title: str,
           legend_size: float | None = None) -> Path:
    """Label, grid and legend one axes, then write the figure."""
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=legend_size)
    ax.set_title(title)
    return save_png(fig, path)


def training_curves(history: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Loss and accuracy per epoch."""
    epochs = [h["epoch"] for h in history]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.5))
    ax_loss.plot(epochs, [h["train_loss"] for h in history], marker="o", label="train loss")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("loss")
    ax_acc.plot(epochs, [h["train_acc"] for h in history], marker="o", label="train")
    ax_acc.plot(epochs, [h["val_acc"] for h in history], marker="s", label="test")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.legend()
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    return save_png(fig, path)


def accuracy_vs_T(results: list[dict[str, Any]], path: str | Path, title: str = "") -> Path:
    """Accuracy against T, one line per (stage, alpha)."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    series: dict[str, list[tuple[int, float]]] = {}
    for row in results:
        label = f"stage {row['stage']}" + (f", alpha={row['alpha']:g}" if row.get("alpha") is not None else "")
        series.setdefault(label, []).append((row["T"], row["accuracy"]))
    for label, points in series.items():
        points.sort()
        ax.plot([p[0] for p in points], [100 * p[1] for p in points], marker="o", label=label)
    return finish(fig, ax, path, xlabel="T (time steps)", ylabel="test accuracy (%)", title=title)
