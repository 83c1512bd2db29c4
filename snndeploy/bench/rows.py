"""One row of `snndeploy bench`: a frozen record that the writers (snndeploy.bench.output) serialise."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OK = "ok"
METRICS = ("accuracy", "p10_ms", "p50_ms", "p90_ms", "p99_ms", "images_per_s")
# `bench --stats` columns (snndeploy.evaluation.stats.bench_columns): on checkpoints' rows at a counted T only
STATS = ("firing_rate", "acs", "macs", "snn_energy_uj", "ann_energy_uj", "energy_ratio")


@dataclass(frozen=True)
class BenchRow:
    """One runner at one batch size, or a status row saying why a combination was not measured (its
    measurements None). A measurement added later is a new field here: the writers take every field."""

    artifact: str  # the short name of the artifact (bench.deploy.short_names)
    backend: str
    precision: str
    T: int
    batch: int | None
    noise: str | None
    status: str  # OK, or why the row was not measured
    accuracy: float | None = None
    p10_ms: float | None = None
    p50_ms: float | None = None
    p90_ms: float | None = None
    p99_ms: float | None = None
    images_per_s: float | None = None
    size_mb: float | None = None
    file: str | None = None  # the file measured (a graph exported for a checkpoint, an engine built for a graph)
    path: str = ""  # the artifact as given
    firing_rate: float | None = None
    acs: float | None = None
    macs: float | None = None
    snn_energy_uj: float | None = None
    ann_energy_uj: float | None = None
    energy_ratio: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The row as the JSON and CSV files hold it: every field, the stats columns only where counted."""
        return {f.name: v for f in dataclasses.fields(self)
                if (v := getattr(self, f.name)) is not None or f.name not in STATS}

    def get(self, key: str, default: Any = None) -> Any:
        """A column by name (None where the row has no such column)."""
        return getattr(self, key, default)


ROW_KEYS = tuple(f.name for f in dataclasses.fields(BenchRow) if f.name not in STATS)


def as_dict(row: BenchRow | Mapping[str, Any]) -> dict[str, Any]:
    """A row as a mapping: a BenchRow's ``to_dict``, or a mapping read back from a JSON file as it is."""
    return row.to_dict() if isinstance(row, BenchRow) else dict(row)
