"""Writing benchmark rows: JSON, CSV, Markdown, and the accuracy-against-latency front as a PNG."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from ..core import atomic
from ..core.errors import SnnDeployError
from ..plots import finish, plt

COLUMNS = ("backend", "precision", "T", "batch", "accuracy", "p50_ms", "p90_ms", "p99_ms", "images_per_s", "size_mb",
           "status")
HEADERS = ("backend", "precision", "T", "batch", "accuracy %", "p50 ms", "p90 ms", "p99 ms", "images/s", "MB", "status")


def measured(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows that carry measurements (status ok)."""
    return [r for r in rows if r.get("status", "ok") == "ok"]


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key == "accuracy":
        return f"{100 * value:.2f}"
    if isinstance(value, float):
        return f"{value:.2f}" if key != "images_per_s" else f"{value:.0f}"
    return str(value)


def rows_as_table(rows: list[dict[str, Any]]) -> list[list[str]]:
    """Formatted cells in COLUMNS order."""
    return [[_fmt(k, r.get(k, "ok" if k == "status" else None)) for k in COLUMNS] for r in rows]


def write_json(path: str | Path, rows: list[dict[str, Any]], extra: dict[str, Any] | None = None) -> Path:
    """{"results": [...]} plus anything extra."""
    return atomic.write_json(path, {**(extra or {}), "results": rows})


def write_csv(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    """One line per row, every field."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(rows[0]) if rows else list(COLUMNS))
    writer.writeheader()
    writer.writerows(rows)
    return atomic.write_text(path, buf.getvalue())


def write_markdown(path: str | Path, rows: list[dict[str, Any]], title: str = "snndeploy bench") -> Path:
    """A Markdown table with accuracy in percent."""
    lines = [f"# {title}", "", "| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in rows_as_table(rows)]
    return atomic.write_text(path, "\n".join(lines) + "\n")


def plot_front(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    """Accuracy against batch-1 (or smallest batch) p50 latency, one line per backend and precision (measured
    rows only)."""
    rows = measured(rows)
    if not rows:
        raise SnnDeployError("no measured rows to plot (every backend reported a status)")
    batch = min(r["batch"] for r in rows)
    fig, ax = plt.subplots(figsize=(6, 4))
    series: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["batch"] == batch:
            series.setdefault(f"{r['backend']} {r['precision']}", []).append(r)
    for label, points in series.items():
        points.sort(key=lambda r: r["T"])
        ax.plot([p["p50_ms"] for p in points], [100 * p["accuracy"] for p in points], marker="o", label=label)
        for p in points:
            ax.annotate(f"T={p['T']}", (p["p50_ms"], 100 * p["accuracy"]), textcoords="offset points", xytext=(4, 4),
                        fontsize=8)
    return finish(fig, ax, path, xlabel=f"latency p50 at batch {batch} (ms)", ylabel="test accuracy (%)",
                  title="accuracy against latency: pick T for a latency budget", legend_size=8)
