"""Writing benchmark rows: JSON, CSV, Markdown, and the accuracy-against-latency front as a PNG.

Every file carries the environment record (snndeploy.bench.environment) of the run:

* JSON: ``{"environment": {...}, "results": [...]}``;
* CSV: leading comment lines ``# key: value`` (nested records flattened: ``# versions.torch: 2.14.1``,
  ``# artifacts.runs/a/checkpoint.json: <sha256>``; a value that is not a one-line string is written as JSON),
  then the header row and one line per row: ``pandas.read_csv(path, comment="#")`` reads it, and so does
  ``csv.DictReader(line for line in open(path) if not line.startswith("#"))``;
* Markdown: an environment list above the results table.

Rows are BenchRow records (snndeploy.bench.rows; a measurement added later is a new field there), or mappings of
the same keys (rows read back from a JSON file). The columns are every key of the rows, the known ones (COLUMNS)
first: a field added to BenchRow appears in JSON and CSV without a change here.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ..core import atomic
from ..core.errors import SnnDeployError
from ..ui.plots import finish, log_latency_axis, place_labels, plt
from .rows import BenchRow, as_dict

Rows = Sequence[BenchRow | Mapping[str, Any]]

COLUMNS = ("artifact", "backend", "precision", "T", "batch", "noise", "accuracy", "p50_ms", "p90_ms", "p99_ms",
           "images_per_s", "size_mb", "status")
HEADERS = ("artifact", "backend", "prec", "T", "batch", "noise", "acc %", "p50 ms", "p90 ms", "p99 ms", "img/s", "MB",
           "status")
# `bench --stats` columns (snndeploy.evaluation.stats.bench_columns), shown before the status when a row has them
STATS_COLUMNS = {"firing_rate": "firing rate %", "acs": "ACs/img", "snn_energy_uj": "SNN uJ", "ann_energy_uj": "ANN uJ",
                 "energy_ratio": "SNN/ANN"}


# what the console table leaves to the files, so that it fits a 120-column terminal
CONSOLE_OMITS = ("p99_ms", "size_mb")


def table_columns(rows: Rows, stats: bool = True, console: bool = False) -> list[tuple[str, str]]:
    """(key, header) of the table's columns: COLUMNS (on the ``console`` without CONSOLE_OMITS), then
    (``stats``) the stats columns any row carries, status last."""
    rows = _dicts(rows)
    extra = [(k, h) for k, h in STATS_COLUMNS.items() if stats and any(r.get(k) is not None for r in rows)]
    known = [(k, h) for k, h in zip(COLUMNS, HEADERS, strict=True) if not (console and k in CONSOLE_OMITS)]
    return known[:-1] + extra + known[-1:]


def stats_table(rows: Rows) -> tuple[list[str], list[list[str]]]:
    """The stats columns once per artifact and T (they describe the network at T, whatever the backend or batch):
    headers and cells, none when no row has them."""
    rows = _dicts(rows)
    keys = [k for k in STATS_COLUMNS if any(r.get(k) is not None for r in rows)]
    seen: dict[tuple[str, int], dict[str, Any]] = {}
    for r in rows:
        if any(r.get(k) is not None for k in keys):
            seen.setdefault((r["artifact"], r["T"]), r)
    cells = [[artifact, str(T), *(_fmt(k, r[k]) for k in keys)] for (artifact, T), r in seen.items()]
    return (["artifact", "T", *(STATS_COLUMNS[k] for k in keys)] if cells else []), cells


def measured(rows: Rows) -> list[dict[str, Any]]:
    """The rows that carry measurements (status ok), as mappings."""
    return [r for r in _dicts(rows) if r.get("status", "ok") == "ok"]


def _dicts(rows: Rows) -> list[dict[str, Any]]:
    return [as_dict(r) for r in rows]


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return ""
    if key in ("accuracy", "firing_rate"):
        return f"{100 * value:.2f}"
    if key == "acs":
        return f"{value / 1e6:.2f} M"
    if key == "energy_ratio":
        return f"{value:.3f}"
    if isinstance(value, float):
        return f"{value:.2f}" if key != "images_per_s" else f"{value:.0f}"
    return str(value)


def rows_as_table(rows: Rows, stats: bool = True, console: bool = False) -> list[list[str]]:
    """Formatted cells in table_columns order."""
    rows = _dicts(rows)
    keys = [k for k, _ in table_columns(rows, stats, console)]
    return [[_fmt(k, r.get(k, "ok" if k == "status" else None)) for k in keys] for r in rows]


def rows_with_notes(rows: Rows) -> tuple[list[list[str]], list[str]]:
    """Cells for a narrow console table: each status that is not ok becomes "note N", its text the N-th note
    (one note per distinct reason), so that long reasons do not squeeze every column."""
    rows = _dicts(rows)
    notes: list[str] = []
    cells = rows_as_table(rows, stats=False, console=True)  # the stats get a console table of their own
    for r, row_cells in zip(rows, cells, strict=True):
        status = r.get("status", "ok")
        if status != "ok":
            if status not in notes:
                notes.append(status)
            row_cells[-1] = f"note {notes.index(status) + 1}"
    return cells, [f"note {i}: {text}" for i, text in enumerate(notes, 1)]


def fieldnames(rows: Rows) -> list[str]:
    """Every key of the rows, in first-seen order (COLUMNS when there are no rows)."""
    return list(dict.fromkeys(k for r in _dicts(rows) for k in r)) if rows else list(COLUMNS)


def _flat(record: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in record.items():
        if isinstance(value, dict) and value:
            out += _flat(value, f"{prefix}{key}.")
        else:
            out.append((f"{prefix}{key}", value))
    return out


def _line(value: Any) -> str:
    """A value on one line: a plain string as it is, None as 'none' (no GPU, no limit), anything else (or a
    string with line breaks) as JSON."""
    if isinstance(value, str) and value.isprintable():
        return value
    return "none" if value is None else json.dumps(value)


def environment_lines(env: dict[str, Any]) -> list[str]:
    """The environment as ``key: value`` lines (nested records as dotted keys)."""
    return [f"{_line(k)}: {_line(v)}" for k, v in _flat(env)]


def write_json(path: str | Path, rows: Rows, environment: dict[str, Any] | None = None) -> Path:
    """{"environment": {...}, "results": [...]}."""
    return atomic.write_json(path, {"environment": environment or {}, "results": _dicts(rows)})


def write_csv(path: str | Path, rows: Rows, environment: dict[str, Any] | None = None) -> Path:
    """The environment as leading ``# key: value`` lines, then one line per row with every field."""
    buf = io.StringIO()
    for line in environment_lines(environment or {}):
        buf.write(f"# {line}\n")
    writer = csv.DictWriter(buf, fieldnames=fieldnames(rows), lineterminator="\n")
    writer.writeheader()
    writer.writerows(_dicts(rows))
    return atomic.write_text(path, buf.getvalue())


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def write_markdown(path: str | Path, rows: Rows, environment: dict[str, Any] | None = None,
                   title: str = "snndeploy bench") -> Path:
    """The environment as a list, then a Markdown table with accuracy in percent."""
    lines = [f"# {title}", ""]
    if environment:
        lines += ["## Environment", ""] + [f"- {_md(line)}" for line in environment_lines(environment)] + [""]
        lines += ["## Results", ""]
    headers = [h for _, h in table_columns(rows)]
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(_md(c) for c in cells) + " |" for cells in rows_as_table(rows)]
    return atomic.write_text(path, "\n".join(lines) + "\n")


def plot_front(path: str | Path, rows: Rows) -> Path:
    """Accuracy against batch-1 (or smallest batch) latency, measured rows only: each point at its p50 with a
    p10-p90 bar, labelled with its T, one marker per artifact, backend and precision. No line joins the points:
    timings are noisy, and a line in T order would draw a zigzag as if it were a trend."""
    rows = measured(rows)
    if not rows:
        raise SnnDeployError("no measured rows to plot (every backend reported a status)")
    batch = min(r["batch"] for r in rows)
    several = len({r.get("artifact") for r in rows}) > 1
    fig, ax = plt.subplots(figsize=(6, 4))
    series: dict[str, list[dict[str, Any]]] = {}
    for r in rows:
        if r["batch"] == batch:
            label = (f"{r['artifact']} " if several else "") + f"{r['backend']} {r['precision']}"
            series.setdefault(label, []).append(r)
    for label, points in series.items():
        points.sort(key=lambda r: r["T"])
        x = [p["p50_ms"] for p in points]
        lo = [p["p50_ms"] - p.get("p10_ms", p["p50_ms"]) for p in points]
        hi = [p["p90_ms"] - p["p50_ms"] for p in points]
        ax.errorbar(x, [100 * p["accuracy"] for p in points], xerr=[lo, hi], fmt="o", linestyle="none",
                    capsize=3, markersize=5, label=label)
    # log latency: ONNX Runtime's fraction of a millisecond and PyTorch's milliseconds both readable
    log_latency_axis(ax.xaxis, ax.set_xscale)
    shown = [p for points in series.values() for p in points]
    place_labels(ax, [(p["p50_ms"], 100 * p["accuracy"]) for p in shown], [f"T={p['T']}" for p in shown])
    return finish(fig, ax, path, xlabel=f"latency at batch {batch} (ms, log scale): p50, bar p10-p90",
                  ylabel="test accuracy (%)", title="accuracy against latency: pick T for a latency budget",
                  legend_size=8, legend_outside=True)
